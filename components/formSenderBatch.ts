import * as path from "path";
import * as aws from "@pulumi/aws";
import * as awsx from "@pulumi/awsx";
import * as pulumi from "@pulumi/pulumi";
import { BatchClient } from "@aws-sdk/client-batch";
import { EC2Client } from "@aws-sdk/client-ec2";
import { S3Client } from "@aws-sdk/client-s3";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SNSClient } from "@aws-sdk/client-sns";
import { makeBatchEventsHandler } from "../functions/formSender/batchEvents";
import { makeDispatcher } from "../functions/formSender/dispatcher";
import { makeLogger } from "../functions/formSender/log";
import { presignPutWith, supabaseFromSecrets } from "../functions/formSender/runtime";
import { makeSpotWatchHandler } from "../functions/formSender/spotWatch";
import type { FormSenderConfig } from "./config/formSender";
import { assumeRolePolicy, policyDocument, serviceRole } from "./iam";
import { lambdaCodePaths } from "./lambdaPackages";
import { buildVpc } from "./network";

const RUNNER_DOCKERFILE = path.join(__dirname, "..", "containers", "runner", "Dockerfile");
const REPO_ROOT = path.join(__dirname, "..");
const LAMBDA_RUNTIME = "nodejs22.x";

/** API routes: every method is IAM-authorized. */
export const ROUTES = [
    { method: "POST", path: ["form-sender", "submit"] },
    { method: "POST", path: ["form-sender", "client-config-upload"] },
    { method: "GET", path: ["form-sender", "executions"] },
    { method: "POST", path: ["form-sender", "executions", "{id}", "cancel"] },
] as const;

/**
 * The stack's `formSender*` settings (documented in components/config/formSender.ts) plus what
 * the program wires in. The region is the provider's, so it is not an argument.
 */
export interface FormSenderBatchArgs extends Omit<FormSenderConfig, "region"> {
    /** Stack environment (`stg`, `prd`); part of every physical name. */
    readonly environment: string;
    /** Secret values written into the runner's Secrets Manager secrets when given. */
    readonly supabaseUrl?: pulumi.Input<string>;
    readonly supabaseServiceRoleKey?: pulumi.Input<string>;
    readonly alertsTopicArn: pulumi.Input<string>;
}

/**
 * Form sender on AWS Batch Spot (seed 000): client-config bucket, runner image, Spot and
 * on-demand compute environments with three queues, the job definition, the IAM-signed REST API
 * with its dispatcher, batch-events and spot-watch functions, alarms, a dashboard, and the GAS
 * principal whose keys feed GAS Script Properties.
 */
export class FormSenderBatch extends pulumi.ComponentResource {
    public readonly apiBaseUrl: pulumi.Output<string>;
    public readonly bucketName: pulumi.Output<string>;
    public readonly queueArns: {
        spot: pulumi.Output<string>;
        spotThenOnDemand: pulumi.Output<string>;
        onDemand: pulumi.Output<string>;
    };
    public readonly jobDefinitionArn: pulumi.Output<string>;
    public readonly imageUri: pulumi.Output<string>;
    public readonly gasAccessKeyId: pulumi.Output<string>;
    public readonly gasSecretAccessKey: pulumi.Output<string>;
    public readonly dashboardName: pulumi.Output<string>;

    constructor(name: string, args: FormSenderBatchArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("ops:formsender:FormSenderBatch", name, {}, opts);
        const env = args.environment;
        const prefix = `fs-${env}`;
        const parent = { parent: this };
        if (args.instanceTypes[0] !== "c6a.xlarge")
            throw new Error(
                `FormSenderBatch '${name}': instanceTypes must start with c6a.xlarge, got ${args.instanceTypes.join(", ")}`,
            );
        const region = aws.getRegionOutput({}, parent).region;
        const account = aws.getCallerIdentityOutput({}, parent).accountId;

        // ---- client-config bucket -----------------------------------------------------------------
        const bucket = new aws.s3.Bucket(
            `${name}-configs`,
            { bucketPrefix: `${prefix}-client-config-`, forceDestroy: env !== "prd" },
            parent,
        );
        new aws.s3.BucketPublicAccessBlock(
            `${name}-configs`,
            {
                bucket: bucket.id,
                blockPublicAcls: true,
                blockPublicPolicy: true,
                ignorePublicAcls: true,
                restrictPublicBuckets: true,
            },
            parent,
        );
        new aws.s3.BucketOwnershipControls(
            `${name}-configs`,
            { bucket: bucket.id, rule: { objectOwnership: "BucketOwnerEnforced" } },
            parent,
        );
        new aws.s3.BucketServerSideEncryptionConfiguration(
            `${name}-configs`,
            {
                bucket: bucket.id,
                rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" }, bucketKeyEnabled: true }],
            },
            parent,
        );
        new aws.s3.BucketPolicy(
            `${name}-configs`,
            {
                bucket: bucket.id,
                policy: policyDocument([
                    {
                        Sid: "DenyInsecureTransport",
                        Effect: "Deny",
                        Principal: "*",
                        Action: "s3:*",
                        Resource: [bucket.arn, pulumi.interpolate`${bucket.arn}/*`],
                        Condition: { Bool: { "aws:SecureTransport": "false" } },
                    },
                ]),
            },
            parent,
        );
        new aws.s3.BucketLifecycleConfiguration(
            `${name}-configs`,
            {
                bucket: bucket.id,
                rules: [
                    // batch-events deletes a config after success; these rules bound what is left behind.
                    {
                        id: "expire-client-configs",
                        status: "Enabled",
                        filter: { prefix: "client-config/" },
                        expiration: { days: args.configRetentionDays },
                    },
                    { id: "backstop-30-days", status: "Enabled", filter: { prefix: "" }, expiration: { days: 30 } },
                    {
                        id: "abort-incomplete-uploads",
                        status: "Enabled",
                        filter: { prefix: "" },
                        abortIncompleteMultipartUpload: { daysAfterInitiation: 1 },
                    },
                ],
            },
            parent,
        );

        // ---- runner image ---------------------------------------------------------------------
        const repo = new aws.ecr.Repository(
            `${name}-runner`,
            {
                name: `${prefix}-runner`,
                imageTagMutability: "IMMUTABLE",
                imageScanningConfiguration: { scanOnPush: true },
                encryptionConfigurations: [{ encryptionType: "AES256" }],
                forceDelete: env !== "prd",
            },
            parent,
        );
        new aws.ecr.LifecyclePolicy(
            `${name}-runner`,
            {
                repository: repo.name,
                policy: pulumi.jsonStringify({
                    rules: [
                        {
                            rulePriority: 1,
                            description: "Expire untagged images after 7 days",
                            selection: {
                                tagStatus: "untagged",
                                countType: "sinceImagePushed",
                                countUnit: "days",
                                countNumber: 7,
                            },
                            action: { type: "expire" },
                        },
                    ],
                }),
            },
            parent,
        );
        const image = new awsx.ecr.Image(
            `${name}-runner-image`,
            {
                repositoryUrl: repo.repositoryUrl,
                context: REPO_ROOT,
                dockerfile: RUNNER_DOCKERFILE,
                platform: "linux/amd64",
            },
            parent,
        );

        // ---- network ------------------------------------------------------------------------------
        let subnetIds: pulumi.Input<string>[] = args.subnetIds;
        let vpcId: pulumi.Input<string> | undefined;
        if (args.subnetIds.length === 0) {
            // public: runners get a public IPv4 each and no NAT per-GB charge; private: one NAT gateway.
            const net = buildVpc(
                name,
                {
                    prefix,
                    cidr: args.vpcCidr,
                    availabilityZones: args.availabilityZones,
                    natGateways: args.networkMode === "public" ? "none" : "single",
                    mapPublicIpOnLaunch: args.networkMode === "public",
                },
                this,
            );
            subnetIds = (args.networkMode === "public" ? net.publicSubnets : net.privateSubnets).map((s) => s.id);
            vpcId = net.vpc.id;
        }
        const runnerSg = new aws.ec2.SecurityGroup(
            `${name}-runner-sg`,
            {
                ...(vpcId ? { vpcId } : {}),
                description: "Form-sender runners: no inbound; HTTP(S) out to company sites, Supabase and AWS",
                tags: { Name: `${prefix}-runner` },
            },
            parent,
        );
        for (const port of [80, 443]) {
            new aws.vpc.SecurityGroupEgressRule(
                `${name}-runner-egress-${port}`,
                {
                    securityGroupId: runnerSg.id,
                    ipProtocol: "tcp",
                    fromPort: port,
                    toPort: port,
                    cidrIpv4: "0.0.0.0/0",
                    description: port === 443 ? "HTTPS to sites, Supabase, AWS APIs" : "HTTP company sites",
                },
                parent,
            );
        }

        // ---- Batch --------------------------------------------------------------------------------
        const serviceRoleRes = new aws.iam.Role(
            `${name}-batch-service`,
            { assumeRolePolicy: assumeRolePolicy("batch.amazonaws.com"), description: "AWS Batch service role" },
            parent,
        );
        const serviceAttach = new aws.iam.RolePolicyAttachment(
            `${name}-batch-service`,
            { role: serviceRoleRes.name, policyArn: "arn:aws:iam::aws:policy/service-role/AWSBatchServiceRole" },
            parent,
        );
        const instanceRole = new aws.iam.Role(
            `${name}-instance`,
            {
                assumeRolePolicy: assumeRolePolicy("ec2.amazonaws.com"),
                description: "ECS container instances of the form-sender compute environments",
            },
            parent,
        );
        const instanceAttach = new aws.iam.RolePolicyAttachment(
            `${name}-instance`,
            {
                role: instanceRole.name,
                policyArn: "arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role",
            },
            parent,
        );
        const profile = new aws.iam.InstanceProfile(`${name}-instance`, { role: instanceRole.name }, parent);
        // IMDSv2 only, hop limit 1: containers (bridge network, one hop further) cannot reach the
        // instance metadata service at all, so a page the runner visits cannot steer it into
        // leaking instance credentials. Jobs get their own credentials from the ECS task-role
        // endpoint and their region from AWS_REGION.
        const launchTemplate = new aws.ec2.LaunchTemplate(
            `${name}-instances`,
            {
                namePrefix: `${prefix}-runner-`,
                metadataOptions: { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1 },
                tagSpecifications: [{ resourceType: "instance", tags: { Name: `${prefix}-runner` } }],
            },
            parent,
        );
        const computeResources = (type: "SPOT" | "EC2", maxVcpus: number) => ({
            type,
            allocationStrategy: type === "SPOT" ? "SPOT_PRICE_CAPACITY_OPTIMIZED" : "BEST_FIT_PROGRESSIVE",
            instanceTypes: type === "SPOT" ? args.instanceTypes : [args.instanceTypes[0]],
            minVcpus: 0,
            maxVcpus,
            subnets: subnetIds,
            securityGroupIds: [runnerSg.id],
            instanceRole: profile.arn,
            ec2Configurations: [{ imageType: "ECS_AL2023" }],
            launchTemplate: {
                launchTemplateId: launchTemplate.id,
                version: launchTemplate.latestVersion.apply(String),
            },
            tags: { Name: `${prefix}-runner-${type === "SPOT" ? "spot" : "ondemand"}` },
        });
        const ceOpts = {
            parent: this,
            dependsOn: [serviceAttach, instanceAttach],
            ignoreChanges: ["computeResources.desiredVcpus"],
        };
        const spotCe = new aws.batch.ComputeEnvironment(
            `${name}-spot-ce`,
            {
                name: `${prefix}-spot`,
                type: "MANAGED",
                serviceRole: serviceRoleRes.arn,
                computeResources: computeResources("SPOT", args.maxVcpus),
            },
            ceOpts,
        );
        const onDemandCe = new aws.batch.ComputeEnvironment(
            `${name}-ondemand-ce`,
            {
                name: `${prefix}-ondemand`,
                type: "MANAGED",
                serviceRole: serviceRoleRes.arn,
                computeResources: computeResources("EC2", args.onDemandMaxVcpus),
            },
            ceOpts,
        );
        // A queue never fails over on Spot shortage by itself: jobs stuck RUNNABLE for capacity
        // are cancelled so batch-events can resubmit them on demand.
        const timeLimit = [
            {
                action: "CANCEL",
                maxTimeSeconds: args.runnableTimeoutMinutes * 60,
                reason: "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY",
                state: "RUNNABLE",
            },
        ];
        const queue = (
            label: string,
            order: aws.batch.ComputeEnvironment[],
            limits: typeof timeLimit | [] = timeLimit,
        ) =>
            new aws.batch.JobQueue(
                `${name}-queue-${label}`,
                {
                    name: `${prefix}-${label}`,
                    state: "ENABLED",
                    priority: 1,
                    computeEnvironmentOrders: order.map((ce, i) => ({ order: i + 1, computeEnvironment: ce.arn })),
                    jobStateTimeLimitActions: limits,
                },
                parent,
            );
        const spotQueue = queue("spot", [spotCe]);
        const fallbackQueue = queue("spot-then-ondemand", [spotCe, onDemandCe]);
        const onDemandQueue = queue("ondemand", [onDemandCe], []);

        // ---- job definition -----------------------------------------------------------------------
        const supabaseUrl = new aws.secretsmanager.Secret(
            `${name}-supabase-url`,
            {
                name: `/fs-runner/${env}/supabase/url`,
                description: "Supabase project URL for the form-sender runner and functions",
                recoveryWindowInDays: 7,
            },
            parent,
        );
        const supabaseKey = new aws.secretsmanager.Secret(
            `${name}-supabase-key`,
            {
                name: `/fs-runner/${env}/supabase/key`,
                description: "Supabase service-role key for the form-sender runner and functions",
                recoveryWindowInDays: 7,
            },
            parent,
        );
        if (args.supabaseUrl !== undefined)
            new aws.secretsmanager.SecretVersion(
                `${name}-supabase-url`,
                { secretId: supabaseUrl.id, secretString: pulumi.secret(args.supabaseUrl) },
                parent,
            );
        if (args.supabaseServiceRoleKey !== undefined)
            new aws.secretsmanager.SecretVersion(
                `${name}-supabase-key`,
                { secretId: supabaseKey.id, secretString: pulumi.secret(args.supabaseServiceRoleKey) },
                parent,
            );
        const jobLogs = new aws.cloudwatch.LogGroup(
            `${name}-runner-logs`,
            { name: `/aws/batch/${prefix}-runner`, retentionInDays: 14 },
            parent,
        );
        const execution = serviceRole(
            `${name}-job-execution`,
            {
                service: "ecs-tasks.amazonaws.com",
                description: "Form-sender job execution: pull the image, write logs, inject the Supabase secrets",
                statements: [
                    // GetAuthorizationToken is account-wide: AWS supports no resource scoping for it.
                    { Sid: "EcrAuth", Effect: "Allow", Action: ["ecr:GetAuthorizationToken"], Resource: "*" },
                    {
                        Sid: "EcrPull",
                        Effect: "Allow",
                        Action: ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"],
                        Resource: repo.arn,
                    },
                    {
                        Sid: "Logs",
                        Effect: "Allow",
                        Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
                        Resource: pulumi.interpolate`${jobLogs.arn}:*`,
                    },
                    {
                        Sid: "SupabaseSecrets",
                        Effect: "Allow",
                        Action: ["secretsmanager:GetSecretValue"],
                        Resource: [supabaseUrl.arn, supabaseKey.arn],
                    },
                ],
            },
            this,
        );
        const jobRole = serviceRole(
            `${name}-job`,
            {
                service: "ecs-tasks.amazonaws.com",
                description: "Form-sender runner: read its client config, nothing else",
                statements: [
                    {
                        Sid: "ReadClientConfig",
                        Effect: "Allow",
                        Action: ["s3:GetObject"],
                        Resource: pulumi.interpolate`${bucket.arn}/client-config/*`,
                    },
                ],
            },
            this,
        );
        const jobDefinition = new aws.batch.JobDefinition(
            `${name}-job`,
            {
                name: `${prefix}-runner`,
                type: "container",
                platformCapabilities: ["EC2"],
                propagateTags: true,
                timeout: { attemptDurationSeconds: args.attemptDurationSeconds },
                retryStrategy: {
                    attempts: args.jobAttempts,
                    evaluateOnExits: [
                        { onStatusReason: "Host EC2*", action: "RETRY" },
                        { onStatusReason: "CannotPullContainerError:*", action: "RETRY" },
                        { onReason: "*", action: "EXIT" },
                    ],
                },
                containerProperties: pulumi.jsonStringify({
                    image: image.imageUri,
                    jobRoleArn: jobRole.role.arn,
                    executionRoleArn: execution.role.arn,
                    resourceRequirements: [
                        { type: "VCPU", value: String(args.jobVcpus) },
                        { type: "MEMORY", value: String(args.jobMemoryMib) },
                    ],
                    environment: [
                        { name: "FORM_SENDER_ENV", value: "aws_batch" },
                        { name: "AWS_REGION", value: region },
                    ],
                    secrets: [
                        { name: "SUPABASE_URL", valueFrom: supabaseUrl.arn },
                        { name: "SUPABASE_SERVICE_ROLE_KEY", valueFrom: supabaseKey.arn },
                    ],
                    // Chromium needs more than Docker's 64 MB /dev/shm; the init process reaps its zombies and forwards SIGTERM.
                    linuxParameters: { initProcessEnabled: true, sharedMemorySize: 2048 },
                    privileged: false,
                    readonlyRootFilesystem: false,
                    logConfiguration: {
                        logDriver: "awslogs",
                        options: {
                            "awslogs-group": jobLogs.name,
                            "awslogs-region": region,
                            "awslogs-stream-prefix": "runner",
                        },
                    },
                }),
            },
            { parent: this, dependsOn: [execution.policy, jobRole.policy] },
        );
        new aws.ssm.Parameter(
            `${name}-job-definition`,
            {
                name: `/fs-runner/${env}/batch/job-definition`,
                type: "String",
                insecureValue: jobDefinition.arn,
                description: "Current form-sender runner job definition",
            },
            parent,
        );

        // ---- functions ------------------------------------------------------------------------
        const queueNames = { spot: spotQueue.name, spotThenOnDemand: fallbackQueue.name, onDemand: onDemandQueue.name };
        const dlq = new aws.sqs.Queue(
            `${name}-functions-dlq`,
            { name: `${prefix}-functions-dlq`, messageRetentionSeconds: 14 * 24 * 3600, sqsManagedSseEnabled: true },
            parent,
        );
        const lambdaStatements = (fn: string, extra: aws.iam.PolicyStatement[]): aws.iam.PolicyStatement[] => [
            {
                Sid: "Logs",
                Effect: "Allow",
                Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
                Resource: pulumi.interpolate`arn:aws:logs:${region}:${account}:log-group:/aws/lambda/${fn}:*`,
            },
            // X-Ray segment APIs have no resource-level permissions.
            {
                Sid: "Tracing",
                Effect: "Allow",
                Action: ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
                Resource: "*",
            },
            ...extra,
        ];
        const fnLogGroup = (fn: string) =>
            new aws.cloudwatch.LogGroup(
                `${name}-${fn}-logs`,
                { name: `/aws/lambda/${prefix}-${fn}`, retentionInDays: 30 },
                parent,
            );
        const jobArnPattern = pulumi.interpolate`arn:aws:batch:${region}:${account}:job/*`;
        const supabaseSecretsStatement: aws.iam.PolicyStatement = {
            Sid: "SupabaseSecrets",
            Effect: "Allow",
            Action: ["secretsmanager:GetSecretValue"],
            Resource: [supabaseUrl.arn, supabaseKey.arn],
        };
        const passJobRoles: aws.iam.PolicyStatement = {
            Sid: "PassJobRoles",
            Effect: "Allow",
            Action: ["iam:PassRole"],
            Resource: [jobRole.role.arn, execution.role.arn],
            Condition: { StringEquals: { "iam:PassedToService": "ecs-tasks.amazonaws.com" } },
        };
        const submitStatement: aws.iam.PolicyStatement = {
            Sid: "SubmitJobs",
            Effect: "Allow",
            Action: ["batch:SubmitJob", "batch:TagResource"],
            Resource: [
                spotQueue.arn,
                fallbackQueue.arn,
                onDemandQueue.arn,
                pulumi.interpolate`arn:aws:batch:${region}:${account}:job-definition/${prefix}-runner:*`,
                jobArnPattern,
            ],
        };

        const dispatcherName = `${prefix}-dispatcher`;
        const dispatcherLogs = fnLogGroup("dispatcher");
        const dispatcherRole = serviceRole(
            `${name}-dispatcher`,
            {
                service: "lambda.amazonaws.com",
                description: "Form-sender dispatcher",
                statements: lambdaStatements(dispatcherName, [
                    submitStatement,
                    { Sid: "CancelJobs", Effect: "Allow", Action: ["batch:TerminateJob"], Resource: jobArnPattern },
                    passJobRoles,
                    {
                        Sid: "ClientConfigs",
                        Effect: "Allow",
                        Action: ["s3:PutObject", "s3:GetObject"],
                        Resource: pulumi.interpolate`${bucket.arn}/client-config/*`,
                    },
                    supabaseSecretsStatement,
                ]),
            },
            this,
        );
        const bucketName = bucket.bucket;
        const jobDefArn = jobDefinition.arn;
        const urlArn = supabaseUrl.arn;
        const keyArn = supabaseKey.arn;
        const dispatcher = new aws.lambda.CallbackFunction(
            `${name}-dispatcher`,
            {
                name: dispatcherName,
                description: "form-sender API: submit, upload URL, list, cancel",
                role: dispatcherRole.role,
                runtime: LAMBDA_RUNTIME,
                timeout: 29, // API Gateway's integration limit
                memorySize: 512,
                reservedConcurrentExecutions: args.dispatcherReservedConcurrency,
                tracingConfig: { mode: "Active" },
                loggingConfig: { logFormat: "Text", logGroup: dispatcherLogs.name },
                codePathOptions: lambdaCodePaths(dispatcherName, ["@supabase/postgrest-js", "ajv", "ajv-formats"]),
                callbackFactory: () => {
                    const s3 = new S3Client({});
                    return makeDispatcher({
                        env,
                        bucket: bucketName.get(),
                        queues: {
                            spot: queueNames.spot.get(),
                            spotThenOnDemand: queueNames.spotThenOnDemand.get(),
                            onDemand: queueNames.onDemand.get(),
                        },
                        jobDefinition: jobDefArn.get(),
                        batch: new BatchClient({}),
                        s3,
                        db: supabaseFromSecrets(new SecretsManagerClient({}), urlArn.get(), keyArn.get()),
                        presignPut: presignPutWith(s3, bucketName.get()),
                        log: makeLogger({ component: "dispatcher" }),
                    });
                },
            },
            { parent: this, dependsOn: [dispatcherRole.policy, dispatcherLogs] },
        );

        const eventsName = `${prefix}-batch-events`;
        const eventsLogs = fnLogGroup("batch-events");
        const eventsRole = serviceRole(
            `${name}-batch-events`,
            {
                service: "lambda.amazonaws.com",
                description: "Form-sender batch-events",
                statements: lambdaStatements(eventsName, [
                    {
                        ...submitStatement,
                        Resource: [
                            onDemandQueue.arn,
                            pulumi.interpolate`arn:aws:batch:${region}:${account}:job-definition/${prefix}-runner:*`,
                            jobArnPattern,
                        ],
                    },
                    {
                        Sid: "WithdrawDuplicateFallback",
                        Effect: "Allow",
                        Action: ["batch:TerminateJob"],
                        Resource: jobArnPattern,
                    },
                    passJobRoles,
                    {
                        Sid: "DeleteClientConfigs",
                        Effect: "Allow",
                        Action: ["s3:DeleteObject"],
                        Resource: pulumi.interpolate`${bucket.arn}/client-config/*`,
                    },
                    supabaseSecretsStatement,
                    { Sid: "DeadLetters", Effect: "Allow", Action: ["sqs:SendMessage"], Resource: dlq.arn },
                ]),
            },
            this,
        );
        const onDemandQueueArn = onDemandQueue.arn;
        const batchEvents = new aws.lambda.CallbackFunction(
            `${name}-batch-events`,
            {
                name: eventsName,
                description: "Records Batch job state changes; Spot-capacity fallback to on-demand",
                role: eventsRole.role,
                runtime: LAMBDA_RUNTIME,
                timeout: 60,
                memorySize: 256,
                tracingConfig: { mode: "Active" },
                deadLetterConfig: { targetArn: dlq.arn },
                loggingConfig: { logFormat: "Text", logGroup: eventsLogs.name },
                codePathOptions: lambdaCodePaths(eventsName, ["@supabase/postgrest-js"]),
                callbackFactory: () =>
                    makeBatchEventsHandler({
                        bucket: bucketName.get(),
                        onDemandQueue: onDemandQueueArn.get(),
                        batch: new BatchClient({}),
                        s3: new S3Client({}),
                        db: supabaseFromSecrets(new SecretsManagerClient({}), urlArn.get(), keyArn.get()),
                        log: makeLogger({ component: "batch-events" }),
                    }),
            },
            { parent: this, dependsOn: [eventsRole.policy, eventsLogs] },
        );

        const watchName = `${prefix}-spot-watch`;
        const watchLogs = fnLogGroup("spot-watch");
        const watchRole = serviceRole(
            `${name}-spot-watch`,
            {
                service: "lambda.amazonaws.com",
                description: "Form-sender spot-watch",
                statements: lambdaStatements(watchName, [
                    // DescribeSpotPriceHistory and DescribeComputeEnvironments support no resource-level permissions.
                    {
                        Sid: "ReadPricesAndCapacity",
                        Effect: "Allow",
                        Action: ["ec2:DescribeSpotPriceHistory", "batch:DescribeComputeEnvironments"],
                        Resource: "*",
                    },
                    {
                        Sid: "AdjustSpotCapacity",
                        Effect: "Allow",
                        Action: ["batch:UpdateComputeEnvironment", "batch:TagResource", "batch:UntagResource"],
                        Resource: spotCe.arn,
                    },
                    { Sid: "Alert", Effect: "Allow", Action: ["sns:Publish"], Resource: args.alertsTopicArn },
                    { Sid: "DeadLetters", Effect: "Allow", Action: ["sqs:SendMessage"], Resource: dlq.arn },
                ]),
            },
            this,
        );
        const spotCeArn = spotCe.arn;
        const topicArn = pulumi.output(args.alertsTopicArn);
        const prices = args.onDemandPrices;
        const threshold = args.spotPriceThresholdPercent;
        const maxVcpus = args.maxVcpus;
        const spotWatch = new aws.lambda.CallbackFunction(
            `${name}-spot-watch`,
            {
                name: watchName,
                description: "Lowers Spot capacity while Spot costs more than the threshold share of on-demand",
                role: watchRole.role,
                runtime: LAMBDA_RUNTIME,
                timeout: 60,
                memorySize: 256,
                tracingConfig: { mode: "Active" },
                deadLetterConfig: { targetArn: dlq.arn },
                loggingConfig: { logFormat: "Text", logGroup: watchLogs.name },
                codePathOptions: lambdaCodePaths(watchName, []),
                callbackFactory: () =>
                    makeSpotWatchHandler({
                        computeEnvironment: spotCeArn.get(),
                        configuredMaxVcpus: maxVcpus,
                        onDemandPrices: prices,
                        thresholdPercent: threshold,
                        topicArn: topicArn.get(),
                        environment: env,
                        ec2: new EC2Client({}),
                        batch: new BatchClient({}),
                        sns: new SNSClient({}),
                        log: makeLogger({ component: "spot-watch" }),
                    }),
            },
            { parent: this, dependsOn: [watchRole.policy, watchLogs] },
        );

        // ---- events and schedule -----------------------------------------------------------------
        const stateRule = new aws.cloudwatch.EventRule(
            `${name}-batch-state`,
            {
                name: `${prefix}-batch-job-state`,
                description: "Batch job state changes of this stack's form-sender queues",
                eventPattern: pulumi.jsonStringify({
                    source: ["aws.batch"],
                    "detail-type": ["Batch Job State Change"],
                    detail: { jobQueue: [spotQueue.arn, fallbackQueue.arn, onDemandQueue.arn] },
                }),
            },
            parent,
        );
        new aws.cloudwatch.EventTarget(
            `${name}-batch-state`,
            {
                rule: stateRule.name,
                arn: batchEvents.arn,
                retryPolicy: { maximumRetryAttempts: 8, maximumEventAgeInSeconds: 3600 * 6 },
                deadLetterConfig: { arn: dlq.arn },
            },
            parent,
        );
        new aws.lambda.Permission(
            `${name}-batch-state`,
            {
                action: "lambda:InvokeFunction",
                function: batchEvents.name,
                principal: "events.amazonaws.com",
                sourceArn: stateRule.arn,
            },
            parent,
        );
        const watchRule = new aws.cloudwatch.EventRule(
            `${name}-spot-watch`,
            {
                name: `${prefix}-spot-watch`,
                description: "spot-watch every 15 minutes",
                scheduleExpression: "rate(15 minutes)",
            },
            parent,
        );
        new aws.cloudwatch.EventTarget(`${name}-spot-watch`, { rule: watchRule.name, arn: spotWatch.arn }, parent);
        new aws.lambda.Permission(
            `${name}-spot-watch`,
            {
                action: "lambda:InvokeFunction",
                function: spotWatch.name,
                principal: "events.amazonaws.com",
                sourceArn: watchRule.arn,
            },
            parent,
        );
        new aws.sqs.QueuePolicy(
            `${name}-functions-dlq`,
            {
                queueUrl: dlq.url,
                policy: policyDocument([
                    {
                        Sid: "EventBridgeDeadLetters",
                        Effect: "Allow",
                        Principal: { Service: "events.amazonaws.com" },
                        Action: "sqs:SendMessage",
                        Resource: dlq.arn,
                        Condition: { ArnEquals: { "aws:SourceArn": stateRule.arn } },
                    },
                ]),
            },
            parent,
        );

        // ---- REST API --------------------------------------------------------------------------
        const api = new aws.apigateway.RestApi(
            `${name}-api`,
            {
                name: `${prefix}-api`,
                description: "Form-sender API for Google Apps Script (SigV4)",
                endpointConfiguration: { types: "REGIONAL" },
            },
            parent,
        );
        const resources = new Map<string, aws.apigateway.Resource>();
        const resourceFor = (parts: readonly string[]): pulumi.Input<string> => {
            if (parts.length === 0) return api.rootResourceId;
            const key = parts.join("/");
            let res = resources.get(key);
            if (!res) {
                res = new aws.apigateway.Resource(
                    `${name}-api-${key.replace(/[{}]/g, "")}`.replace(/\//g, "-"),
                    { restApi: api.id, parentId: resourceFor(parts.slice(0, -1)), pathPart: parts[parts.length - 1] },
                    parent,
                );
                resources.set(key, res);
            }
            return res.id;
        };
        const integrations = ROUTES.map((route) => {
            const label = `${route.method.toLowerCase()}-${route.path.join("-").replace(/[{}]/g, "")}`;
            const method = new aws.apigateway.Method(
                `${name}-api-${label}`,
                {
                    restApi: api.id,
                    resourceId: resourceFor(route.path),
                    httpMethod: route.method,
                    authorization: "AWS_IAM",
                },
                parent,
            );
            return new aws.apigateway.Integration(
                `${name}-api-${label}`,
                {
                    restApi: api.id,
                    resourceId: method.resourceId,
                    httpMethod: method.httpMethod,
                    type: "AWS_PROXY",
                    integrationHttpMethod: "POST",
                    uri: dispatcher.invokeArn,
                },
                parent,
            );
        });
        new aws.lambda.Permission(
            `${name}-api`,
            {
                action: "lambda:InvokeFunction",
                function: dispatcher.name,
                principal: "apigateway.amazonaws.com",
                sourceArn: pulumi.interpolate`${api.executionArn}/*/*/form-sender/*`,
            },
            parent,
        );
        const deployment = new aws.apigateway.Deployment(
            `${name}-api`,
            {
                restApi: api.id,
                triggers: { routes: pulumi.jsonStringify(ROUTES) },
            },
            { parent: this, dependsOn: integrations },
        );
        const accessLogs = new aws.cloudwatch.LogGroup(
            `${name}-api-access`,
            { name: `/aws/apigateway/${prefix}-api`, retentionInDays: 30 },
            parent,
        );
        const stage = new aws.apigateway.Stage(
            `${name}-api`,
            {
                restApi: api.id,
                deployment: deployment.id,
                stageName: env,
                xrayTracingEnabled: true,
                // No request bodies, query strings or headers: only who called what and how it went.
                accessLogSettings: {
                    destinationArn: accessLogs.arn,
                    format: JSON.stringify({
                        requestId: "$context.requestId",
                        caller: "$context.identity.userArn",
                        sourceIp: "$context.identity.sourceIp",
                        method: "$context.httpMethod",
                        resource: "$context.resourcePath",
                        status: "$context.status",
                        latencyMs: "$context.responseLatency",
                        error: "$context.error.message",
                    }),
                },
            },
            parent,
        );
        new aws.apigateway.MethodSettings(
            `${name}-api`,
            {
                restApi: api.id,
                stageName: stage.stageName,
                methodPath: "*/*",
                settings: {
                    throttlingBurstLimit: args.apiBurstLimit,
                    throttlingRateLimit: args.apiRateLimit,
                    metricsEnabled: true,
                    loggingLevel: "ERROR",
                    dataTraceEnabled: false,
                },
            },
            parent,
        );
        const waf = new aws.wafv2.WebAcl(
            `${name}-api-waf`,
            {
                name: `${prefix}-api`,
                scope: "REGIONAL",
                defaultAction: { allow: {} },
                rules: [
                    {
                        name: "rate-limit-per-ip",
                        priority: 1,
                        action: { block: {} },
                        statement: { rateBasedStatement: { limit: args.wafRateLimit, aggregateKeyType: "IP" } },
                        visibilityConfig: {
                            cloudwatchMetricsEnabled: true,
                            metricName: `${prefix}-api-rate-limit`,
                            sampledRequestsEnabled: true,
                        },
                    },
                ],
                visibilityConfig: {
                    cloudwatchMetricsEnabled: true,
                    metricName: `${prefix}-api`,
                    sampledRequestsEnabled: true,
                },
            },
            parent,
        );
        new aws.wafv2.WebAclAssociation(`${name}-api-waf`, { resourceArn: stage.arn, webAclArn: waf.arn }, parent);

        // ---- the GAS principal ---------------------------------------------------------------------
        const gasUser = new aws.iam.User(`${name}-gas`, { name: `${prefix}-gas`, path: "/ops-platform/" }, parent);
        new aws.iam.UserPolicy(
            `${name}-gas`,
            {
                user: gasUser.name,
                policy: policyDocument([
                    {
                        Sid: "InvokeFormSenderApi",
                        Effect: "Allow",
                        Action: ["execute-api:Invoke"],
                        Resource: ROUTES.map(
                            (r) =>
                                pulumi.interpolate`${api.executionArn}/${env}/${r.method}/${r.path.join("/").replace("{id}", "*")}`,
                        ),
                    },
                ]),
            },
            parent,
        );
        const gasKey = new aws.iam.AccessKey(`${name}-gas`, { user: gasUser.name }, parent);

        // ---- alarms and dashboard ---------------------------------------------------------------
        const alarm = (id: string, a: Omit<aws.cloudwatch.MetricAlarmArgs, "alarmActions">) =>
            new aws.cloudwatch.MetricAlarm(
                `${name}-${id}`,
                {
                    name: `${prefix}-${id}`,
                    treatMissingData: "notBreaching",
                    ...a,
                    alarmActions: [args.alertsTopicArn],
                },
                parent,
            );
        alarm("dispatcher-errors", {
            alarmDescription: "Dispatcher Lambda errors",
            namespace: "AWS/Lambda",
            metricName: "Errors",
            dimensions: { FunctionName: dispatcher.name },
            statistic: "Sum",
            period: 300,
            evaluationPeriods: 1,
            threshold: 1,
            comparisonOperator: "GreaterThanOrEqualToThreshold",
        });
        alarm("api-5xx", {
            alarmDescription: "Form-sender API answered 5xx",
            namespace: "AWS/ApiGateway",
            metricName: "5XXError",
            dimensions: { ApiName: api.name, Stage: env },
            statistic: "Sum",
            period: 300,
            evaluationPeriods: 1,
            threshold: 1,
            comparisonOperator: "GreaterThanOrEqualToThreshold",
        });
        alarm("batch-events-errors", {
            alarmDescription: "batch-events Lambda errors",
            namespace: "AWS/Lambda",
            metricName: "Errors",
            dimensions: { FunctionName: batchEvents.name },
            statistic: "Sum",
            period: 300,
            evaluationPeriods: 1,
            threshold: 1,
            comparisonOperator: "GreaterThanOrEqualToThreshold",
        });
        alarm("dlq-depth", {
            alarmDescription: "Events or invocations dead-lettered",
            namespace: "AWS/SQS",
            metricName: "ApproximateNumberOfMessagesVisible",
            dimensions: { QueueName: dlq.name },
            statistic: "Maximum",
            period: 300,
            evaluationPeriods: 1,
            threshold: 1,
            comparisonOperator: "GreaterThanOrEqualToThreshold",
        });
        new aws.cloudwatch.LogMetricFilter(
            `${name}-failed-jobs`,
            {
                name: `${prefix}-failed-jobs`,
                logGroupName: eventsLogs.name,
                pattern: '{ $.message = "execution failed" }',
                metricTransformation: {
                    name: "FailedJobs",
                    namespace: `OpsPlatform/FormSender/${env}`,
                    value: "1",
                    defaultValue: "0",
                },
            },
            parent,
        );
        alarm("failed-jobs", {
            alarmDescription: "Form-sender executions failed",
            namespace: `OpsPlatform/FormSender/${env}`,
            metricName: "FailedJobs",
            statistic: "Sum",
            period: 900,
            evaluationPeriods: 1,
            threshold: 1,
            comparisonOperator: "GreaterThanOrEqualToThreshold",
        });
        new aws.cloudwatch.LogMetricFilter(
            `${name}-spot-actions`,
            {
                name: `${prefix}-spot-actions`,
                logGroupName: watchLogs.name,
                pattern: '{ $.message = "Spot expensive: maxvCpus lowered" }',
                metricTransformation: {
                    name: "SpotCapacityLowered",
                    namespace: `OpsPlatform/FormSender/${env}`,
                    value: "1",
                    defaultValue: "0",
                },
            },
            parent,
        );
        alarm("spot-capacity-lowered", {
            alarmDescription: "spot-watch lowered Spot capacity",
            namespace: `OpsPlatform/FormSender/${env}`,
            metricName: "SpotCapacityLowered",
            statistic: "Sum",
            period: 900,
            evaluationPeriods: 1,
            threshold: 1,
            comparisonOperator: "GreaterThanOrEqualToThreshold",
        });
        const dashboard = new aws.cloudwatch.Dashboard(
            `${name}-dashboard`,
            {
                dashboardName: `${prefix}-pipeline`,
                dashboardBody: pulumi.jsonStringify({
                    widgets: [
                        {
                            type: "metric",
                            x: 0,
                            y: 0,
                            width: 12,
                            height: 6,
                            properties: {
                                title: "API requests and errors",
                                region,
                                stat: "Sum",
                                period: 300,
                                metrics: [
                                    ["AWS/ApiGateway", "Count", "ApiName", api.name, "Stage", env],
                                    [".", "4XXError", ".", ".", ".", "."],
                                    [".", "5XXError", ".", ".", ".", "."],
                                ],
                            },
                        },
                        {
                            type: "metric",
                            x: 12,
                            y: 0,
                            width: 12,
                            height: 6,
                            properties: {
                                title: "Functions: errors",
                                region,
                                stat: "Sum",
                                period: 300,
                                metrics: [
                                    ["AWS/Lambda", "Errors", "FunctionName", dispatcher.name],
                                    ["...", batchEvents.name],
                                    ["...", spotWatch.name],
                                ],
                            },
                        },
                        {
                            type: "metric",
                            x: 0,
                            y: 6,
                            width: 12,
                            height: 6,
                            properties: {
                                title: "Failed executions / Spot capacity lowered",
                                region,
                                stat: "Sum",
                                period: 900,
                                metrics: [
                                    [`OpsPlatform/FormSender/${env}`, "FailedJobs"],
                                    [".", "SpotCapacityLowered"],
                                ],
                            },
                        },
                        {
                            type: "metric",
                            x: 12,
                            y: 6,
                            width: 12,
                            height: 6,
                            properties: {
                                title: "Dead letters",
                                region,
                                stat: "Maximum",
                                period: 300,
                                metrics: [["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", dlq.name]],
                            },
                        },
                    ],
                }),
            },
            parent,
        );

        this.apiBaseUrl = stage.invokeUrl;
        this.bucketName = bucket.bucket;
        this.queueArns = { spot: spotQueue.arn, spotThenOnDemand: fallbackQueue.arn, onDemand: onDemandQueue.arn };
        this.jobDefinitionArn = jobDefinition.arn;
        this.imageUri = image.imageUri;
        this.gasAccessKeyId = gasKey.id;
        this.gasSecretAccessKey = pulumi.secret(gasKey.secret);
        this.dashboardName = dashboard.dashboardName;
        this.registerOutputs({
            apiBaseUrl: this.apiBaseUrl,
            bucketName: this.bucketName,
            jobDefinitionArn: this.jobDefinitionArn,
            imageUri: this.imageUri,
            gasAccessKeyId: this.gasAccessKeyId,
        });
    }
}
