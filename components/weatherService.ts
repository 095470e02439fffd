import * as fs from "fs";
import * as path from "path";
import * as aws from "@pulumi/aws";
import * as awsx from "@pulumi/awsx";
import * as pulumi from "@pulumi/pulumi";
import { WEATHER_API_KEY_NAMES } from "./config";
import type { WeatherConfig } from "./config/weather";
import { serviceRole } from "./iam";
import { contentTag, EXPIRE_UNTAGGED_IMAGES_POLICY } from "./imageTag";
import { buildVpc } from "./network";

export { subnetCidrs } from "./network";

/** TLS 1.3 with TLS 1.2 fallback: the ALB policy AWS recommends for public endpoints. */
export const ALB_SSL_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06";
export const STREAMLIT_PORT = 8501;
export const API_PORT = 8000;
export const STREAMLIT_HEALTH_PATH = "/_stcore/health";
export const CONTAINER_NAME = "app";
export const CACHE_PATH = "/app/cache";
const WEB_DOCKERFILE = path.join(__dirname, "..", "containers", "web", "Dockerfile");
const WEB_ENTRYPOINT = path.join(__dirname, "..", "containers", "web", "entrypoint.py");
/** The task runs on X86_64 Fargate (runtimePlatform), so the image is built for it. */
export const WEB_PLATFORM = "linux/amd64";
/**
 * Image tag used when `appPath` is not a directory (a fresh clone without the app, the offline plan): the plan goes
 * on instead of failing on a hash of nothing. No image can be built from it; the configuration reports the missing
 * directory.
 */
export const WEATHER_APP_MISSING_TAG = "app-source-missing";

/** Host of a private ECR registry: `<account>.dkr.ecr[-fips].<region>.amazonaws.com[.cn]`. */
const ECR_ACCOUNT = String.raw`(\d{12})`;
const ECR_REGION = String.raw`([a-z]{2}(?:-[a-z]+)+-\d)`;
const ECR_DOMAIN = String.raw`amazonaws\.com(\.cn)?`;
const ECR_HOST = new RegExp(`^${ECR_ACCOUNT}\\.dkr\\.ecr(?:-fips)?\\.${ECR_REGION}\\.${ECR_DOMAIN}$`);
/** The digest (`@sha256:…`) and the tag (`:v1`) that may end an image reference, in that order. */
const IMAGE_DIGEST = /@sha256:[0-9a-f]{64}$/;
const IMAGE_TAG = /:[\w.-]+$/;

/** The private ECR repository an image reference names. */
export interface EcrRepositoryRef {
    readonly account: string;
    readonly region: string;
    readonly name: string;
    readonly arn: string;
}

/**
 * The private ECR repository of `imageUri` (`<account>.dkr.ecr.<region>.amazonaws.com/<name>:<tag>` or
 * `…@sha256:<digest>`), or undefined for any other registry (ECR Public, Docker Hub, …), whose images need no ECR
 * permission of the execution role.
 */
export function ecrRepositoryOfImage(imageUri: string): EcrRepositoryRef | undefined {
    const slash = imageUri.indexOf("/");
    if (slash < 0) return undefined;
    const host = ECR_HOST.exec(imageUri.slice(0, slash));
    if (!host) return undefined;
    const [, account, region, china] = host;
    const name = imageUri
        .slice(slash + 1)
        .replace(IMAGE_DIGEST, "")
        .replace(IMAGE_TAG, "");
    const partition = china ? "aws-cn" : region.startsWith("us-gov-") ? "aws-us-gov" : "aws";
    return { account, region, name, arn: `arn:${partition}:ecr:${region}:${account}:repository/${name}` };
}

/** containers/web/entrypoint.py as the ENTRYPOINT_B64 build argument: the build context is the app's directory. */
function webEntrypointB64(): string {
    return fs.readFileSync(WEB_ENTRYPOINT).toString("base64");
}

/**
 * The weather image's tag: a hash of everything under `appPath` (the build context), the Dockerfile, the
 * ENTRYPOINT_B64 build argument and the platform; {@link WEATHER_APP_MISSING_TAG} when `appPath` is not a directory.
 * Without `imageTag` awsx tags `<sha1(context, dockerfile, args, stack)>-container` (pulumi/pulumi-awsx
 * awsx/ecr/image.ts `createUniqueImageName`), the same tag for changed content, which the IMMUTABLE repository refuses
 * to overwrite. Files the app's .dockerignore leaves out are hashed too: that costs at most an extra push.
 */
export function weatherImageTag(appPath: string): string {
    if (!fs.existsSync(appPath) || !fs.statSync(appPath).isDirectory()) return WEATHER_APP_MISSING_TAG;
    return contentTag({
        root: appPath,
        paths: ["."],
        extra: {
            dockerfile: fs.readFileSync(WEB_DOCKERFILE, "utf8"),
            ENTRYPOINT_B64: webEntrypointB64(),
            platform: WEB_PLATFORM,
        },
    });
}

/**
 * The stack's `weather*` settings (documented in components/config/weather.ts) plus what the
 * program wires in. The region is the provider's, so it is not an argument.
 */
export interface WeatherServiceArgs extends Omit<WeatherConfig, "region"> {
    /** Stack environment (`stg`, `prd`); part of every physical name. */
    readonly environment: string;
    /**
     * JSON object of API keys (secret) written as the secret's value; when absent the operator
     * sets the value in Secrets Manager.
     */
    readonly apiKeys?: pulumi.Input<string>;
    /** Alerts topic in this component's region. */
    readonly alertsTopicArn: pulumi.Input<string>;
    /**
     * Protect the stateful children (ECR repository, EFS cache file system and access point, API-keys secret) against
     * deletion and replacement.
     *  @default true when `environment` is `prd`
     */
    readonly protectStatefulResources?: boolean;
}

/**
 * The weather comment generator: Streamlit (:8501) and FastAPI (:8000) in one Fargate task
 * behind an HTTPS ALB, with an EFS cache at /app/cache. Everything the plan must show is built
 * from @pulumi/aws resources; only the image build uses awsx.
 */
export class WeatherService extends pulumi.ComponentResource {
    public readonly url: pulumi.Output<string>;
    public readonly albDnsName: pulumi.Output<string>;
    public readonly vpcId: pulumi.Output<string>;
    public readonly clusterArn: pulumi.Output<string>;
    public readonly clusterName: pulumi.Output<string>;
    public readonly serviceName: pulumi.Output<string>;
    public readonly taskDefinitionArn: pulumi.Output<string>;
    /** Family of the task definition; IAM on `task-definition/<family>:*` covers every revision. */
    public readonly taskDefinitionFamily: pulumi.Output<string>;
    public readonly taskRoleArn: pulumi.Output<string>;
    public readonly executionRoleArn: pulumi.Output<string>;
    public readonly privateSubnetIds: pulumi.Output<string[]>;
    public readonly tasksSecurityGroupId: pulumi.Output<string>;
    public readonly containerName: string = CONTAINER_NAME;
    public readonly imageUri: pulumi.Output<string>;
    public readonly apiKeysSecretArn: pulumi.Output<string>;
    public readonly fileSystemId: pulumi.Output<string>;

    constructor(name: string, args: WeatherServiceArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("ops:weather:WeatherService", name, {}, opts);
        const env = args.environment;
        const prefix = `weather-${env}`;
        // `protect`: neither `pulumi destroy` nor a replacing change may delete these without an explicit unprotect
        // (https://www.pulumi.com/docs/iac/concepts/options/protect/).
        const stateful = { parent: this, protect: args.protectStatefulResources ?? env === "prd" };
        if (args.availabilityZones.length < 2) {
            throw new Error(
                `WeatherService '${name}': an ALB needs subnets in at least 2 availability zones, ` +
                    `got ${args.availabilityZones.length}`,
            );
        }
        if (!args.imageUri && !args.appPath) {
            throw new Error(`WeatherService '${name}': set appPath (build from source) or imageUri (prebuilt image)`);
        }
        const parent = { parent: this };

        // ---- network ---------------------------------------------------------------------
        // Only the ALB and the NAT gateways live in the public subnets, both with explicit addresses.
        const {
            vpc,
            publicSubnets,
            privateSubnets,
            privateRouteTables: privateRts,
        } = buildVpc(
            name,
            {
                prefix,
                cidr: args.vpcCidr,
                availabilityZones: args.availabilityZones,
                natGateways: args.natGateways,
                mapPublicIpOnLaunch: false,
            },
            this,
        );
        // ECR image layers come from S3: a gateway endpoint keeps those bytes off the NAT (free vs per-GB).
        const region = aws.getRegionOutput({}, { parent: this }).region;
        new aws.ec2.VpcEndpoint(
            `${name}-s3`,
            {
                vpcId: vpc.id,
                serviceName: pulumi.interpolate`com.amazonaws.${region}.s3`,
                vpcEndpointType: "Gateway",
                routeTableIds: privateRts.map((rt) => rt.id),
                tags: { Name: `${prefix}-s3` },
            },
            parent,
        );

        // ---- security groups: ALB ← internet, tasks ← ALB, EFS ← tasks ----------------------------
        const albSg = new aws.ec2.SecurityGroup(
            `${name}-alb-sg`,
            {
                vpcId: vpc.id,
                description: "Weather ALB: HTTPS and HTTP redirect from the internet",
                tags: { Name: `${prefix}-alb` },
            },
            parent,
        );
        const tasksSg = new aws.ec2.SecurityGroup(
            `${name}-tasks-sg`,
            {
                vpcId: vpc.id,
                description: "Weather tasks: app ports from the ALB only",
                tags: { Name: `${prefix}-tasks` },
            },
            parent,
        );
        const efsSg = new aws.ec2.SecurityGroup(
            `${name}-efs-sg`,
            { vpcId: vpc.id, description: "Weather EFS: NFS from the tasks only", tags: { Name: `${prefix}-efs` } },
            parent,
        );
        const ingress = (
            rule: string,
            sg: aws.ec2.SecurityGroup,
            a: Omit<aws.vpc.SecurityGroupIngressRuleArgs, "securityGroupId" | "ipProtocol">,
        ) =>
            new aws.vpc.SecurityGroupIngressRule(
                `${name}-${rule}`,
                { securityGroupId: sg.id, ipProtocol: "tcp", ...a },
                parent,
            );
        const egress = (
            rule: string,
            sg: aws.ec2.SecurityGroup,
            a: Omit<aws.vpc.SecurityGroupEgressRuleArgs, "securityGroupId" | "ipProtocol">,
        ) =>
            new aws.vpc.SecurityGroupEgressRule(
                `${name}-${rule}`,
                { securityGroupId: sg.id, ipProtocol: "tcp", ...a },
                parent,
            );
        ingress("alb-https", albSg, {
            fromPort: 443,
            toPort: 443,
            cidrIpv4: "0.0.0.0/0",
            description: "HTTPS from the internet",
        });
        ingress("alb-http", albSg, {
            fromPort: 80,
            toPort: 80,
            cidrIpv4: "0.0.0.0/0",
            description: "HTTP, redirected to HTTPS",
        });
        for (const port of [STREAMLIT_PORT, API_PORT]) {
            egress(`alb-to-tasks-${port}`, albSg, {
                fromPort: port,
                toPort: port,
                referencedSecurityGroupId: tasksSg.id,
                description: `ALB to tasks :${port}`,
            });
            ingress(`tasks-from-alb-${port}`, tasksSg, {
                fromPort: port,
                toPort: port,
                referencedSecurityGroupId: albSg.id,
                description: `:${port} from the ALB`,
            });
        }
        // Weather/LLM APIs, ECR, Secrets Manager and CloudWatch Logs are all HTTPS endpoints.
        egress("tasks-https", tasksSg, {
            fromPort: 443,
            toPort: 443,
            cidrIpv4: "0.0.0.0/0",
            description: "HTTPS to AWS and external APIs",
        });
        egress("tasks-to-efs", tasksSg, {
            fromPort: 2049,
            toPort: 2049,
            referencedSecurityGroupId: efsSg.id,
            description: "NFS to EFS",
        });
        ingress("efs-from-tasks", efsSg, {
            fromPort: 2049,
            toPort: 2049,
            referencedSecurityGroupId: tasksSg.id,
            description: "NFS from the tasks",
        });

        // ---- load balancer --------------------------------------------------------------------
        const alb = new aws.lb.LoadBalancer(
            `${name}-alb`,
            {
                name: `${prefix}-alb`,
                loadBalancerType: "application",
                internal: false,
                securityGroups: [albSg.id],
                subnets: publicSubnets.map((s) => s.id),
                dropInvalidHeaderFields: true, // request smuggling protection
                idleTimeout: args.idleTimeoutSeconds,
                enableDeletionProtection: env === "prd",
            },
            parent,
        );
        const appTg = new aws.lb.TargetGroup(
            `${name}-app-tg`,
            {
                name: `${prefix}-app`,
                port: STREAMLIT_PORT,
                protocol: "HTTP",
                targetType: "ip",
                vpcId: vpc.id,
                deregistrationDelay: 30,
                healthCheck: {
                    path: STREAMLIT_HEALTH_PATH,
                    port: "traffic-port",
                    protocol: "HTTP",
                    matcher: "200",
                    interval: 30,
                    timeout: 5,
                    healthyThreshold: 2,
                    unhealthyThreshold: 3,
                },
                // Streamlit keeps session state in the task: a browser must stay on one task.
                stickiness: { type: "lb_cookie", enabled: true, cookieDuration: 86400 },
            },
            parent,
        );
        const apiTg = new aws.lb.TargetGroup(
            `${name}-api-tg`,
            {
                name: `${prefix}-api`,
                port: API_PORT,
                protocol: "HTTP",
                targetType: "ip",
                vpcId: vpc.id,
                deregistrationDelay: 30,
                healthCheck: {
                    path: args.apiHealthCheckPath,
                    port: "traffic-port",
                    protocol: "HTTP",
                    matcher: "200",
                    interval: 30,
                    timeout: 5,
                    healthyThreshold: 2,
                    unhealthyThreshold: 3,
                },
            },
            parent,
        );
        const https = new aws.lb.Listener(
            `${name}-https`,
            {
                loadBalancerArn: alb.arn,
                port: 443,
                protocol: "HTTPS",
                sslPolicy: ALB_SSL_POLICY,
                certificateArn: args.certificateArn,
                defaultActions: [{ type: "forward", targetGroupArn: appTg.arn }],
            },
            parent,
        );
        const http = new aws.lb.Listener(
            `${name}-http`,
            {
                loadBalancerArn: alb.arn,
                port: 80,
                protocol: "HTTP",
                defaultActions: [
                    { type: "redirect", redirect: { protocol: "HTTPS", port: "443", statusCode: "HTTP_301" } },
                ],
            },
            parent,
        );
        const apiRule = new aws.lb.ListenerRule(
            `${name}-api-rule`,
            {
                listenerArn: https.arn,
                priority: 10,
                conditions: [{ pathPattern: { values: ["/api/*"] } }],
                actions: [{ type: "forward", targetGroupArn: apiTg.arn }],
            },
            parent,
        );

        // ---- image ----------------------------------------------------------------------------
        let imageUri: pulumi.Output<string>;
        let repositoryArn: pulumi.Input<string> | undefined;
        if (args.imageUri) {
            imageUri = pulumi.output(args.imageUri);
            // A prebuilt image in a private ECR repository is pulled with the execution role like a built one. (A
            // repository of another account must also allow this role in its repository policy.)
            repositoryArn = ecrRepositoryOfImage(args.imageUri)?.arn;
        } else {
            const repo = new aws.ecr.Repository(
                `${name}-repo`,
                {
                    name: prefix,
                    imageTagMutability: "IMMUTABLE",
                    imageScanningConfiguration: { scanOnPush: true },
                    encryptionConfigurations: [{ encryptionType: "AES256" }],
                    forceDelete: env !== "prd",
                },
                stateful,
            );
            new aws.ecr.LifecyclePolicy(
                `${name}-repo-lifecycle`,
                {
                    repository: repo.name,
                    policy: EXPIRE_UNTAGGED_IMAGES_POLICY,
                },
                parent,
            );
            const image = new awsx.ecr.Image(
                `${name}-image`,
                {
                    repositoryUrl: repo.repositoryUrl,
                    context: args.appPath,
                    dockerfile: WEB_DOCKERFILE,
                    platform: WEB_PLATFORM,
                    // The build context is the app's directory, so the supervisor travels as a build argument.
                    args: { ENTRYPOINT_B64: webEntrypointB64() },
                    imageTag: weatherImageTag(args.appPath!),
                },
                parent,
            );
            imageUri = image.imageUri;
            repositoryArn = repo.arn;
        }

        // ---- secrets, logs --------------------------------------------------------------------
        // A deleted secret keeps its name for the recovery window, so destroy and up within it fail ("a secret with
        // this name is already scheduled for deletion"). Outside prd it goes at once: the provider sends
        // ForceDeleteWithoutRecovery for 0, the only value besides 7-30 days
        // (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_DeleteSecret.html).
        const apiKeysSecret = new aws.secretsmanager.Secret(
            `${name}-api-keys`,
            {
                name: `weather/${env}/api-keys`,
                description: `Weather comment generator (${env}) API keys as JSON: ${WEATHER_API_KEY_NAMES.join(", ")}`,
                recoveryWindowInDays: env === "prd" ? 30 : 0,
            },
            stateful,
        );
        if (args.apiKeys !== undefined) {
            new aws.secretsmanager.SecretVersion(
                `${name}-api-keys`,
                { secretId: apiKeysSecret.id, secretString: pulumi.secret(args.apiKeys) },
                parent,
            );
        }
        const logGroup = new aws.cloudwatch.LogGroup(
            `${name}-logs`,
            { name: `/ecs/${prefix}`, retentionInDays: args.logRetentionDays },
            parent,
        );

        // ---- EFS cache --------------------------------------------------------------------------
        const cacheFs = new aws.efs.FileSystem(
            `${name}-cache`,
            {
                encrypted: true,
                performanceMode: "generalPurpose",
                throughputMode: "bursting",
                lifecyclePolicies: [{ transitionToIa: "AFTER_30_DAYS" }],
                tags: { Name: `${prefix}-cache` },
            },
            stateful,
        );
        const accessPoint = new aws.efs.AccessPoint(
            `${name}-cache-ap`,
            {
                fileSystemId: cacheFs.id,
                posixUser: { uid: 1000, gid: 1000 },
                rootDirectory: {
                    path: "/cache",
                    creationInfo: { ownerUid: 1000, ownerGid: 1000, permissions: "0755" },
                },
                tags: { Name: `${prefix}-cache` },
            },
            stateful,
        );
        const mountTargets = privateSubnets.map(
            (subnet, i) =>
                new aws.efs.MountTarget(
                    `${name}-cache-${args.availabilityZones[i]}`,
                    { fileSystemId: cacheFs.id, subnetId: subnet.id, securityGroups: [efsSg.id] },
                    parent,
                ),
        );
        new aws.efs.FileSystemPolicy(
            `${name}-cache-policy`,
            {
                fileSystemId: cacheFs.id,
                policy: pulumi.jsonStringify({
                    Version: "2012-10-17",
                    Statement: [
                        {
                            Sid: "DenyUnencryptedTransport",
                            Effect: "Deny",
                            Principal: { AWS: "*" },
                            Action: "*",
                            Resource: cacheFs.arn,
                            Condition: { Bool: { "aws:SecureTransport": "false" } },
                        },
                    ],
                } satisfies aws.iam.PolicyDocument),
            },
            parent,
        );

        // ---- roles ------------------------------------------------------------------------------
        const execution = serviceRole(
            `${name}-execution`,
            {
                service: "ecs-tasks.amazonaws.com",
                description: `Weather ${env}: pull the image, write logs, read the API-keys secret`,
                statements: [
                    // Pulling from a private repository needs GetAuthorizationToken, BatchGetImage and
                    // GetDownloadUrlForLayer (https://docs.aws.amazon.com/AmazonECR/latest/userguide/ECR_on_ECS.html).
                    // GetAuthorizationToken has no resource type, so only "*" grants it; the others take the repository
                    // (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelasticcontainerregistry.html).
                    ...(repositoryArn
                        ? ([
                              { Sid: "EcrAuth", Effect: "Allow", Action: ["ecr:GetAuthorizationToken"], Resource: "*" },
                              {
                                  Sid: "EcrPull",
                                  Effect: "Allow",
                                  Action: [
                                      "ecr:BatchCheckLayerAvailability",
                                      "ecr:GetDownloadUrlForLayer",
                                      "ecr:BatchGetImage",
                                  ],
                                  Resource: repositoryArn,
                              },
                          ] as aws.iam.PolicyStatement[])
                        : []),
                    {
                        Sid: "Logs",
                        Effect: "Allow",
                        Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
                        Resource: pulumi.interpolate`${logGroup.arn}:*`,
                    },
                    {
                        Sid: "ApiKeys",
                        Effect: "Allow",
                        Action: ["secretsmanager:GetSecretValue"],
                        Resource: apiKeysSecret.arn,
                    },
                ],
            },
            this,
        );
        const task = serviceRole(
            `${name}-task`,
            {
                service: "ecs-tasks.amazonaws.com",
                description: `Weather ${env}: mount and write the EFS cache through its access point`,
                statements: [
                    {
                        Sid: "EfsCache",
                        Effect: "Allow",
                        Action: ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"],
                        Resource: cacheFs.arn,
                        Condition: { StringEquals: { "elasticfilesystem:AccessPointArn": accessPoint.arn } },
                    },
                ],
            },
            this,
        );

        // ---- ECS --------------------------------------------------------------------------------
        const cluster = new aws.ecs.Cluster(
            `${name}-cluster`,
            {
                name: `${prefix}-cluster`,
                settings: [{ name: "containerInsights", value: "enabled" }],
            },
            parent,
        );
        const family = prefix;
        const taskDefinition = new aws.ecs.TaskDefinition(
            `${name}-task`,
            {
                family,
                cpu: "1024",
                memory: "2048",
                networkMode: "awsvpc",
                requiresCompatibilities: ["FARGATE"],
                runtimePlatform: { operatingSystemFamily: "LINUX", cpuArchitecture: "X86_64" },
                executionRoleArn: execution.role.arn,
                taskRoleArn: task.role.arn,
                containerDefinitions: pulumi.jsonStringify([
                    {
                        name: CONTAINER_NAME,
                        image: imageUri,
                        essential: true,
                        privileged: false,
                        portMappings: [
                            { containerPort: STREAMLIT_PORT, protocol: "tcp", name: "streamlit" },
                            { containerPort: API_PORT, protocol: "tcp", name: "api" },
                        ],
                        environment: [
                            { name: "ENV", value: "production" },
                            { name: "MAX_PARALLEL_WORKERS", value: "4" },
                        ],
                        // The config's list, so the task never references a key the `weatherApiKeys` check does
                        // not know (ECS fails the task start on a JSON key missing from the secret).
                        secrets: WEATHER_API_KEY_NAMES.map((key) => ({
                            name: key,
                            valueFrom: pulumi.interpolate`${apiKeysSecret.arn}:${key}::`,
                        })),
                        mountPoints: [{ sourceVolume: "cache", containerPath: CACHE_PATH, readOnly: false }],
                        linuxParameters: { initProcessEnabled: true },
                        logConfiguration: {
                            logDriver: "awslogs",
                            options: {
                                "awslogs-group": logGroup.name,
                                "awslogs-region": region,
                                "awslogs-stream-prefix": "app",
                            },
                        },
                    },
                ]),
                volumes: [
                    {
                        name: "cache",
                        efsVolumeConfiguration: {
                            fileSystemId: cacheFs.id,
                            transitEncryption: "ENABLED",
                            authorizationConfig: { accessPointId: accessPoint.id, iam: "ENABLED" },
                        },
                    },
                ],
            },
            { parent: this, dependsOn: [execution.policy, task.policy] },
        );
        const service = new aws.ecs.Service(
            `${name}-service`,
            {
                name: `${prefix}-service`,
                cluster: cluster.arn,
                taskDefinition: taskDefinition.arn,
                desiredCount: args.minTasks,
                launchType: "FARGATE",
                platformVersion: "LATEST",
                networkConfiguration: {
                    subnets: privateSubnets.map((s) => s.id),
                    securityGroups: [tasksSg.id],
                    assignPublicIp: false,
                },
                loadBalancers: [
                    { targetGroupArn: appTg.arn, containerName: CONTAINER_NAME, containerPort: STREAMLIT_PORT },
                    { targetGroupArn: apiTg.arn, containerName: CONTAINER_NAME, containerPort: API_PORT },
                ],
                healthCheckGracePeriodSeconds: args.healthCheckGraceSeconds,
                deploymentCircuitBreaker: { enable: true, rollback: true },
                deploymentMinimumHealthyPercent: 100,
                deploymentMaximumPercent: 200,
                propagateTags: "SERVICE",
                enableEcsManagedTags: true,
            },
            {
                parent: this,
                // Target groups must be attached to a listener before a service can register into them;
                // tasks mount EFS at start, so mount targets must exist.
                dependsOn: [https, http, apiRule, ...mountTargets],
                // Autoscaling owns the running count after creation.
                ignoreChanges: ["desiredCount"],
            },
        );

        // ---- autoscaling --------------------------------------------------------------------------
        const scaling = new aws.appautoscaling.Target(
            `${name}-scaling`,
            {
                serviceNamespace: "ecs",
                scalableDimension: "ecs:service:DesiredCount",
                resourceId: pulumi.interpolate`service/${cluster.name}/${service.name}`,
                minCapacity: args.minTasks,
                maxCapacity: args.maxTasks,
            },
            parent,
        );
        const tracking = (metric: string, target: number, label: string) =>
            new aws.appautoscaling.Policy(
                `${name}-${label}-scaling`,
                {
                    policyType: "TargetTrackingScaling",
                    serviceNamespace: scaling.serviceNamespace,
                    scalableDimension: scaling.scalableDimension,
                    resourceId: scaling.resourceId,
                    targetTrackingScalingPolicyConfiguration: {
                        predefinedMetricSpecification: { predefinedMetricType: metric },
                        targetValue: target,
                        scaleInCooldown: 300,
                        scaleOutCooldown: 60,
                    },
                },
                parent,
            );
        tracking("ECSServiceAverageCPUUtilization", args.cpuTargetPercent, "cpu");
        tracking("ECSServiceAverageMemoryUtilization", args.memoryTargetPercent, "memory");

        // ---- alarms -----------------------------------------------------------------------------
        new aws.cloudwatch.MetricAlarm(
            `${name}-unhealthy`,
            {
                name: `${prefix}-unhealthy-targets`,
                alarmDescription: "Streamlit targets failing health checks",
                namespace: "AWS/ApplicationELB",
                metricName: "UnHealthyHostCount",
                dimensions: { LoadBalancer: alb.arnSuffix, TargetGroup: appTg.arnSuffix },
                statistic: "Maximum",
                period: 60,
                evaluationPeriods: 5,
                threshold: 1,
                comparisonOperator: "GreaterThanOrEqualToThreshold",
                treatMissingData: "notBreaching",
                alarmActions: [args.alertsTopicArn],
                okActions: [args.alertsTopicArn],
            },
            parent,
        );
        new aws.cloudwatch.MetricAlarm(
            `${name}-5xx`,
            {
                name: `${prefix}-target-5xx`,
                alarmDescription: "The app answered 5xx to 10 or more requests in 5 minutes",
                namespace: "AWS/ApplicationELB",
                metricName: "HTTPCode_Target_5XX_Count",
                dimensions: { LoadBalancer: alb.arnSuffix },
                statistic: "Sum",
                period: 300,
                evaluationPeriods: 1,
                threshold: 10,
                comparisonOperator: "GreaterThanOrEqualToThreshold",
                treatMissingData: "notBreaching",
                alarmActions: [args.alertsTopicArn],
            },
            parent,
        );

        this.url = pulumi.interpolate`https://${alb.dnsName}`;
        this.albDnsName = alb.dnsName;
        this.vpcId = vpc.id;
        this.clusterArn = cluster.arn;
        this.clusterName = cluster.name;
        this.serviceName = service.name;
        this.taskDefinitionArn = taskDefinition.arn;
        this.taskDefinitionFamily = taskDefinition.family;
        this.taskRoleArn = task.role.arn;
        this.executionRoleArn = execution.role.arn;
        this.privateSubnetIds = pulumi.output(privateSubnets.map((s) => s.id));
        this.tasksSecurityGroupId = tasksSg.id;
        this.imageUri = imageUri;
        this.apiKeysSecretArn = apiKeysSecret.arn;
        this.fileSystemId = cacheFs.id;
        this.registerOutputs({
            url: this.url,
            clusterArn: this.clusterArn,
            serviceName: this.serviceName,
            taskDefinitionArn: this.taskDefinitionArn,
            taskRoleArn: this.taskRoleArn,
            executionRoleArn: this.executionRoleArn,
            privateSubnetIds: this.privateSubnetIds,
            tasksSecurityGroupId: this.tasksSecurityGroupId,
        });
    }
}
