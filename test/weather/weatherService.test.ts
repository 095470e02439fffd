import { strict as assert } from "assert";
import { subnetCidrs } from "../../components/weatherService";
import { inputsOf, json, Plan, planFor } from "../harness";
import { ContainerDefinition, PolicyDocument } from "../support/planShapes";

const T = {
    vpc: "aws:ec2/vpc:Vpc",
    subnet: "aws:ec2/subnet:Subnet",
    nat: "aws:ec2/natGateway:NatGateway",
    route: "aws:ec2/route:Route",
    endpoint: "aws:ec2/vpcEndpoint:VpcEndpoint",
    ingress: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    egress: "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
    alb: "aws:lb/loadBalancer:LoadBalancer",
    listener: "aws:lb/listener:Listener",
    rule: "aws:lb/listenerRule:ListenerRule",
    tg: "aws:lb/targetGroup:TargetGroup",
    taskDef: "aws:ecs/taskDefinition:TaskDefinition",
    service: "aws:ecs/service:Service",
    cluster: "aws:ecs/cluster:Cluster",
    logGroup: "aws:cloudwatch/logGroup:LogGroup",
    efs: "aws:efs/fileSystem:FileSystem",
    ap: "aws:efs/accessPoint:AccessPoint",
    mount: "aws:efs/mountTarget:MountTarget",
    scalingTarget: "aws:appautoscaling/target:Target",
    scalingPolicy: "aws:appautoscaling/policy:Policy",
    rolePolicy: "aws:iam/rolePolicy:RolePolicy",
};

/** A security-group ingress or egress rule's inputs. */
interface SecurityGroupRuleInputs {
    securityGroupId: string;
    fromPort: number;
    toPort: number;
    ipProtocol: string;
    cidrIpv4?: string;
    referencedSecurityGroupId?: string;
}

/** The HTTPS listener's inputs, as read here. */
interface HttpsListenerInputs {
    port: number;
    protocol: string;
    sslPolicy: string;
    certificateArn: string;
    defaultActions: { type: string; targetGroupArn: string }[];
}

/** A target group's inputs, as read here. */
interface TargetGroupInputs {
    port: number;
    protocol: string;
    targetType: string;
    healthCheck: { path: string; matcher: string };
    stickiness: unknown;
}

/** The ECS service's inputs, as read here. */
interface ServiceInputs {
    desiredCount: number;
    launchType: string;
    deploymentCircuitBreaker: unknown;
    healthCheckGracePeriodSeconds: number;
    networkConfiguration: { assignPublicIp: boolean; securityGroups: string[] };
    loadBalancers: { containerName: string; containerPort: number }[];
}

/** A target-tracking scaling policy's configuration. */
interface TargetTracking {
    predefinedMetricSpecification: { predefinedMetricType: string };
    targetValue: number;
}

describe("WeatherService", function () {
    this.timeout(60000);
    const plans: Record<string, Plan> = {};
    before(async () => {
        plans.stg = await planFor("stg");
        plans.prd = await planFor("prd");
    });

    it("splits the VPC CIDR into public and private /20s per AZ", () => {
        assert.deepEqual(subnetCidrs("10.20.0.0/16", 3), {
            publicCidrs: ["10.20.0.0/20", "10.20.16.0/20", "10.20.32.0/20"],
            privateCidrs: ["10.20.128.0/20", "10.20.144.0/20", "10.20.160.0/20"],
        });
        assert.deepEqual(subnetCidrs("192.168.4.0/24", 2), {
            publicCidrs: ["192.168.4.0/28", "192.168.4.16/28"],
            privateCidrs: ["192.168.4.128/28", "192.168.4.144/28"],
        });
    });

    for (const stack of ["stg", "prd"]) {
        describe(`${stack} stack`, () => {
            const p = () => plans[stack];
            const azs =
                stack === "stg"
                    ? ["ap-northeast-1a", "ap-northeast-1c"]
                    : ["ap-northeast-1a", "ap-northeast-1c", "ap-northeast-1d"];

            it("places every weather resource in ap-northeast-1", () => {
                const weather = p().get("ops:weather:WeatherService", "weather");
                const inTokyo = new Set(
                    p()
                        .inRegion("ap-northeast-1")
                        .map((r) => r.urn),
                );
                for (const r of p()
                    .descendants(weather.urn)
                    .filter((r) => r.custom))
                    assert.ok(inTokyo.has(r.urn), r.urn);
            });

            it("builds public and private subnets in every AZ and NAT per the stack's setting", () => {
                assert.equal(
                    p().inputs(T.vpc, "weather-vpc").cidrBlock,
                    stack === "stg" ? "10.20.0.0/16" : "10.30.0.0/16",
                );
                for (const az of azs) {
                    assert.equal(p().inputs(T.subnet, `weather-public-${az}`).availabilityZone, az);
                    assert.equal(p().inputs(T.subnet, `weather-private-${az}`).mapPublicIpOnLaunch, false);
                }
                const nats = p()
                    .ofType(T.nat)
                    .filter((n) => n.name.startsWith("weather-"));
                assert.equal(nats.length, stack === "stg" ? 1 : azs.length);
                const defaults = p()
                    .ofType(T.route)
                    .filter((r) => r.inputs.natGatewayId);
                assert.equal(defaults.length, nats.length);
                for (const r of defaults) assert.equal(r.inputs.destinationCidrBlock, "0.0.0.0/0");
                const s3 = p().inputs<{ serviceName: string; vpcEndpointType: string; routeTableIds: string[] }>(
                    T.endpoint,
                    "weather-s3",
                );
                assert.equal(s3.serviceName, "com.amazonaws.ap-northeast-1.s3");
                assert.equal(s3.vpcEndpointType, "Gateway");
                assert.equal(s3.routeTableIds.length, nats.length);
            });

            it("opens exactly the documented security-group paths", () => {
                const rules = [...p().ofType(T.ingress), ...p().ofType(T.egress)]
                    .filter((r) => r.name.startsWith("weather-"))
                    .map((r) => ({ type: r.type, inputs: inputsOf<SecurityGroupRuleInputs>(r) }))
                    .map((r) => ({
                        dir: r.type === T.ingress ? "in" : "out",
                        sg: r.inputs.securityGroupId,
                        port: `${r.inputs.fromPort}-${r.inputs.toPort}/${r.inputs.ipProtocol}`,
                        peer: r.inputs.cidrIpv4 ?? r.inputs.referencedSecurityGroupId,
                    }))
                    .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
                const alb = "weather-alb-sg-id",
                    tasks = "weather-tasks-sg-id",
                    efs = "weather-efs-sg-id";
                const expected = [
                    { dir: "in", sg: alb, port: "443-443/tcp", peer: "0.0.0.0/0" },
                    { dir: "in", sg: alb, port: "80-80/tcp", peer: "0.0.0.0/0" },
                    { dir: "out", sg: alb, port: "8501-8501/tcp", peer: tasks },
                    { dir: "out", sg: alb, port: "8000-8000/tcp", peer: tasks },
                    { dir: "in", sg: tasks, port: "8501-8501/tcp", peer: alb },
                    { dir: "in", sg: tasks, port: "8000-8000/tcp", peer: alb },
                    { dir: "out", sg: tasks, port: "443-443/tcp", peer: "0.0.0.0/0" },
                    { dir: "out", sg: tasks, port: "2049-2049/tcp", peer: efs },
                    { dir: "in", sg: efs, port: "2049-2049/tcp", peer: tasks },
                ].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
                assert.deepEqual(rules, expected);
            });

            it("serves HTTPS with TLS 1.3, redirects HTTP and routes /api/* to FastAPI", () => {
                const alb = p().inputs<{
                    dropInvalidHeaderFields: boolean;
                    internal: boolean;
                    idleTimeout: number;
                    subnets: string[];
                }>(T.alb, "weather-alb");
                assert.equal(alb.dropInvalidHeaderFields, true);
                assert.equal(alb.internal, false);
                assert.equal(alb.idleTimeout, 300);
                assert.equal(alb.subnets.length, azs.length);
                assert.ok(alb.subnets.every((s) => s.includes("-public-")));
                const https = p().inputs<HttpsListenerInputs>(T.listener, "weather-https");
                assert.equal(https.port, 443);
                assert.equal(https.protocol, "HTTPS");
                assert.equal(https.sslPolicy, "ELBSecurityPolicy-TLS13-1-2-2021-06");
                assert.match(https.certificateArn, /^arn:aws:acm:ap-northeast-1:\d{12}:certificate\//);
                assert.deepEqual(
                    https.defaultActions.map((a) => a.type),
                    ["forward"],
                );
                assert.match(https.defaultActions[0].targetGroupArn, /targetgroup\/weather-\w+-app\//);
                const http = p().inputs<{ port: number; protocol: string; defaultActions: unknown }>(
                    T.listener,
                    "weather-http",
                );
                assert.deepEqual(
                    { port: http.port, protocol: http.protocol, actions: http.defaultActions },
                    {
                        port: 80,
                        protocol: "HTTP",
                        actions: [
                            { type: "redirect", redirect: { protocol: "HTTPS", port: "443", statusCode: "HTTP_301" } },
                        ],
                    },
                );
                const rule = p().inputs<{ conditions: unknown; actions: { targetGroupArn: string }[] }>(
                    T.rule,
                    "weather-api-rule",
                );
                assert.deepEqual(rule.conditions, [{ pathPattern: { values: ["/api/*"] } }]);
                assert.match(rule.actions[0].targetGroupArn, /targetgroup\/weather-\w+-api\//);
            });

            it("health-checks Streamlit on /_stcore/health with stickiness and FastAPI on its own path", () => {
                const app = p().inputs<TargetGroupInputs>(T.tg, "weather-app-tg");
                assert.deepEqual([app.port, app.protocol, app.targetType], [8501, "HTTP", "ip"]);
                assert.equal(app.healthCheck.path, "/_stcore/health");
                assert.equal(app.healthCheck.matcher, "200");
                assert.deepEqual(app.stickiness, { type: "lb_cookie", enabled: true, cookieDuration: 86400 });
                const api = p().inputs<TargetGroupInputs>(T.tg, "weather-api-tg");
                assert.deepEqual([api.port, api.healthCheck.path], [8000, "/health"]);
            });

            it("defines one Fargate container with both ports, env, secrets, EFS cache and logs", () => {
                const td = p().inputs(T.taskDef, "weather-task");
                assert.deepEqual(
                    [td.cpu, td.memory, td.networkMode, td.requiresCompatibilities],
                    ["1024", "2048", "awsvpc", ["FARGATE"]],
                );
                const [c, ...rest] = json<ContainerDefinition[]>(td.containerDefinitions);
                assert.equal(rest.length, 0);
                assert.equal(c.name, "app");
                assert.equal(c.privileged, false);
                assert.deepEqual(
                    c.portMappings?.map((m) => m.containerPort),
                    [8501, 8000],
                );
                assert.deepEqual(c.environment, [
                    { name: "ENV", value: "production" },
                    { name: "MAX_PARALLEL_WORKERS", value: "4" },
                ]);
                const secretArn = `arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:weather/${stack}/api-keys-AbCdEf`;
                assert.deepEqual(
                    c.secrets,
                    ["WXTECH_API_KEY", "OPENAI_API_KEY", "GEMINI_API_KEY", "ANTHROPIC_API_KEY"].map((k) => ({
                        name: k,
                        valueFrom: `${secretArn}:${k}::`,
                    })),
                );
                assert.deepEqual(c.mountPoints, [
                    { sourceVolume: "cache", containerPath: "/app/cache", readOnly: false },
                ]);
                assert.equal(c.logConfiguration?.options["awslogs-group"], `/ecs/weather-${stack}`);
                assert.equal(c.linuxParameters?.initProcessEnabled, true);
                assert.deepEqual(td.volumes, [
                    {
                        name: "cache",
                        efsVolumeConfiguration: {
                            fileSystemId: "fs-0123456789abcdef0",
                            transitEncryption: "ENABLED",
                            authorizationConfig: { accessPointId: "fsap-0123456789abcdef0", iam: "ENABLED" },
                        },
                    },
                ]);
                assert.equal(p().inputs(T.logGroup, "weather-logs").retentionInDays, stack === "stg" ? 14 : 90);
            });

            it("runs the service privately with a rolling circuit breaker and scales on CPU and memory", () => {
                const svc = p().inputs<ServiceInputs>(T.service, "weather-service");
                assert.equal(svc.desiredCount, 1);
                assert.equal(svc.launchType, "FARGATE");
                assert.deepEqual(svc.deploymentCircuitBreaker, { enable: true, rollback: true });
                assert.equal(svc.healthCheckGracePeriodSeconds, 120);
                assert.equal(svc.networkConfiguration.assignPublicIp, false);
                assert.deepEqual(svc.networkConfiguration.securityGroups, ["weather-tasks-sg-id"]);
                assert.deepEqual(
                    svc.loadBalancers.map((l) => [l.containerName, l.containerPort]),
                    [
                        ["app", 8501],
                        ["app", 8000],
                    ],
                );
                const target = p().inputs(T.scalingTarget, "weather-scaling");
                assert.deepEqual([target.minCapacity, target.maxCapacity], [1, stack === "stg" ? 2 : 4]);
                const policy = (n: string) =>
                    p().inputs<{ targetTrackingScalingPolicyConfiguration: TargetTracking }>(T.scalingPolicy, n)
                        .targetTrackingScalingPolicyConfiguration;
                assert.deepEqual(
                    [
                        policy("weather-cpu-scaling").predefinedMetricSpecification.predefinedMetricType,
                        policy("weather-cpu-scaling").targetValue,
                    ],
                    ["ECSServiceAverageCPUUtilization", 70],
                );
                assert.deepEqual(
                    [
                        policy("weather-memory-scaling").predefinedMetricSpecification.predefinedMetricType,
                        policy("weather-memory-scaling").targetValue,
                    ],
                    ["ECSServiceAverageMemoryUtilization", 80],
                );
                assert.deepEqual(p().inputs(T.cluster, "weather-cluster").settings, [
                    { name: "containerInsights", value: "enabled" },
                ]);
            });

            it("encrypts EFS, moves cold files to IA after 30 days and mounts it in every private subnet", () => {
                const fs = p().inputs(T.efs, "weather-cache");
                assert.equal(fs.encrypted, true);
                assert.deepEqual(fs.lifecyclePolicies, [{ transitionToIa: "AFTER_30_DAYS" }]);
                assert.deepEqual(p().inputs(T.ap, "weather-cache-ap").posixUser, { uid: 1000, gid: 1000 });
                const mounts = p()
                    .ofType(T.mount)
                    .filter((m) => m.name.startsWith("weather-"));
                assert.deepEqual(
                    mounts.map((m) => m.inputs.subnetId).sort(),
                    azs.map((az) => `weather-private-${az}-id`).sort(),
                );
                for (const m of mounts) assert.deepEqual(m.inputs.securityGroups, ["weather-efs-sg-id"]);
            });

            it("grants the task and execution roles only what they use", () => {
                const exec = json<PolicyDocument>(p().inputs(T.rolePolicy, "weather-execution").policy).Statement;
                assert.deepEqual(
                    exec.map((s) => [s.Sid, s.Action, s.Resource]),
                    [
                        ["EcrAuth", ["ecr:GetAuthorizationToken"], "*"],
                        [
                            "EcrPull",
                            ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"],
                            `arn:aws:ecr:ap-northeast-1:123456789012:repository/weather-${stack}`,
                        ],
                        [
                            "Logs",
                            ["logs:CreateLogStream", "logs:PutLogEvents"],
                            `arn:aws:logs:ap-northeast-1:123456789012:log-group:/ecs/weather-${stack}:*`,
                        ],
                        [
                            "ApiKeys",
                            ["secretsmanager:GetSecretValue"],
                            `arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:weather/${stack}/api-keys-AbCdEf`,
                        ],
                    ],
                );
                const task = json<PolicyDocument>(p().inputs(T.rolePolicy, "weather-task").policy).Statement;
                assert.deepEqual(task, [
                    {
                        Sid: "EfsCache",
                        Effect: "Allow",
                        Action: ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"],
                        Resource:
                            "arn:aws:elasticfilesystem:ap-northeast-1:123456789012:file-system/fs-0123456789abcdef0",
                        Condition: {
                            StringEquals: {
                                "elasticfilesystem:AccessPointArn":
                                    "arn:aws:elasticfilesystem:ap-northeast-1:123456789012:access-point/fsap-0123456789abcdef0",
                            },
                        },
                    },
                ]);
            });
        });
    }

    it("skips the repository and build when a prebuilt image is configured", async () => {
        const plan = await planFor("stg", { config: { weatherImageUri: "registry.example.com/weather/app:2.0.1" } });
        assert.equal(plan.ofType("awsx:ecr:Image").filter((r) => r.name.startsWith("weather")).length, 0);
        assert.equal(
            plan.ofType("aws:ecr/repository:Repository").filter((r) => r.name.startsWith("weather")).length,
            0,
        );
        const c = json<ContainerDefinition[]>(plan.inputs(T.taskDef, "weather-task").containerDefinitions)[0];
        assert.equal(c.image, "registry.example.com/weather/app:2.0.1");
        const exec = json<PolicyDocument>(plan.inputs(T.rolePolicy, "weather-execution").policy).Statement;
        assert.deepEqual(
            exec.map((s) => s.Sid),
            ["Logs", "ApiKeys"],
        );
    });

    it("builds the image from the app path with containers/web/Dockerfile for linux/amd64", () => {
        const img = plans.stg.inputs<{ context: string; dockerfile: string; platform: string }>(
            "awsx:ecr:Image",
            "weather-image",
        );
        assert.equal(img.context, "../weather-comment-generator");
        assert.match(img.dockerfile, /containers\/web\/Dockerfile$/);
        assert.equal(img.platform, "linux/amd64");
    });
});
