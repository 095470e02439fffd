/**
 * The three Lambda functions and what they share: the dead-letter queue, their log groups and
 * roles. The dispatcher serves the API (submit, upload URL, list, cancel); batch-events records
 * job state changes and resubmits Spot-capacity cancellations on demand; spot-watch lowers Spot
 * capacity while Spot is expensive.
 *
 * A class rather than a function on purpose: Pulumi serializes each callbackFactory from its
 * source text and the names of the variables it captures, so the factories keep the text,
 * indentation and captured names they had inside the component's constructor, and the
 * deployed code does not change.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { BatchClient } from "@aws-sdk/client-batch";
import { EC2Client } from "@aws-sdk/client-ec2";
import { S3Client } from "@aws-sdk/client-s3";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SNSClient } from "@aws-sdk/client-sns";
import { makeBatchEventsHandler } from "../../functions/formSender/batchEvents";
import { makeDispatcher } from "../../functions/formSender/dispatcher";
import { makeLogger } from "../../functions/formSender/log";
import { presignPutWith, supabaseFromSecrets } from "../../functions/formSender/runtime";
import { stackDefaultsEnvironment, stackDefaultsFromEnvironment } from "../../functions/formSender/stackDefaults";
import { makeSpotWatchHandler } from "../../functions/formSender/spotWatch";
import type { FormSenderConfig } from "../config/formSender";
import { serviceRole } from "../iam";
import { lambdaCodePaths } from "../lambdaPackages";
import type { Compute } from "./compute";
import { FORM_SENDER_LOG_RETENTION_DAYS, type PartContext } from "./context";
import type { RunnerJob } from "./jobDefinition";

const LAMBDA_RUNTIME = "nodejs22.x";

export interface FunctionsInput
    extends
        PartContext,
        Compute,
        RunnerJob,
        Pick<
            FormSenderConfig,
            | "dispatcherReservedConcurrency"
            | "onDemandPrices"
            | "spotPriceThresholdPercent"
            | "maxVcpus"
            | "defaultPreferSpot"
            | "defaultAllowOnDemandFallback"
            | "jobAttempts"
            | "defaultWorkersPerWorkflow"
            | "defaultSessionMaxHours"
            | "jobVcpus"
            | "jobMemoryMib"
            | "instanceTypes"
        > {
    readonly region: pulumi.Output<string>;
    readonly account: pulumi.Output<string>;
    readonly bucket: aws.s3.Bucket;
    /** spot-watch publishes its alerts here. */
    readonly alertsTopicArn: pulumi.Input<string>;
}

export interface LambdaFunctions {
    /** Dead letters of batch-events, spot-watch and the Batch state-change rule. */
    readonly dlq: aws.sqs.Queue;
    readonly dispatcher: aws.lambda.Function;
    readonly batchEvents: aws.lambda.Function;
    readonly spotWatch: aws.lambda.Function;
    /** The dispatcher's log group; the supabase-errors metric filter reads it. */
    readonly dispatcherLogs: aws.cloudwatch.LogGroup;
    /** batch-events' log group; the failed-jobs metric filter reads it. */
    readonly batchEventsLogs: aws.cloudwatch.LogGroup;
    /** spot-watch's log group; the spot-actions metric filter reads it. */
    readonly spotWatchLogs: aws.cloudwatch.LogGroup;
}

export class FormSenderFunctions implements LambdaFunctions {
    public readonly dlq: aws.sqs.Queue;
    public readonly dispatcher: aws.lambda.Function;
    public readonly batchEvents: aws.lambda.Function;
    public readonly spotWatch: aws.lambda.Function;
    public readonly dispatcherLogs: aws.cloudwatch.LogGroup;
    public readonly batchEventsLogs: aws.cloudwatch.LogGroup;
    public readonly spotWatchLogs: aws.cloudwatch.LogGroup;

    constructor(input: FunctionsInput) {
        const { name, prefix, env, parent, region, account, bucket, jobDefinition, spotCe, jobRole } = input;
        const { spot: spotQueue, spotThenOnDemand: fallbackQueue, onDemand: onDemandQueue } = input.queues;
        const { supabaseUrlSecret: supabaseUrl, supabaseKeySecret: supabaseKey, executionRole: execution } = input;
        const queueNames = { spot: spotQueue.name, spotThenOnDemand: fallbackQueue.name, onDemand: onDemandQueue.name };
        const dlq = new aws.sqs.Queue(
            `${name}-functions-dlq`,
            { name: `${prefix}-functions-dlq`, messageRetentionSeconds: 14 * 24 * 3600, sqsManagedSseEnabled: true },
            { parent },
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
                { name: `/aws/lambda/${prefix}-${fn}`, retentionInDays: FORM_SENDER_LOG_RETENTION_DAYS },
                { parent },
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
                    // Without s3:ListBucket, S3 answers GetObject of a missing key with 403 AccessDenied
                    // instead of 404 NoSuchKey (https://docs.aws.amazon.com/AmazonS3/latest/API/
                    // API_GetObject.html, Permissions), and the dispatcher could not tell "upload it first"
                    // from a broken permission. The bucket holds only client configs.
                    { Sid: "ListClientConfigs", Effect: "Allow", Action: ["s3:ListBucket"], Resource: bucket.arn },
                    supabaseSecretsStatement,
                ]),
            },
            parent,
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
                // 0 means no reservation, so the property is left out: the provider reads 0 as "never run"
                // (reservedConcurrentExecutions 0 throttles every invocation).
                ...(input.dispatcherReservedConcurrency > 0
                    ? { reservedConcurrentExecutions: input.dispatcherReservedConcurrency }
                    : {}),
                tracingConfig: { mode: "Active" },
                // The stack defaults (Pulumi.<stack>.yaml) as variables: changing one updates the configuration, not
                // the code. Read back once per cold start by stackDefaultsFromEnvironment.
                environment: { variables: stackDefaultsEnvironment(input) },
                loggingConfig: { logFormat: "Text", logGroup: dispatcherLogs.name },
                codePathOptions: lambdaCodePaths(dispatcherName, ["@supabase/postgrest-js", "ajv", "ajv-formats"]),
                callbackFactory: () => {
                    const s3 = new S3Client({});
                    const stack = stackDefaultsFromEnvironment(process.env);
                    return makeDispatcher({
                        env,
                        bucket: bucketName.get(),
                        queues: {
                            spot: queueNames.spot.get(),
                            spotThenOnDemand: queueNames.spotThenOnDemand.get(),
                            onDemand: queueNames.onDemand.get(),
                        },
                        jobDefinition: jobDefArn.get(),
                        defaults: stack.defaults,
                        jobSize: stack.jobSize,
                        instanceTypes: stack.instanceTypes,
                        batch: new BatchClient({}),
                        s3,
                        db: supabaseFromSecrets(new SecretsManagerClient({}), urlArn.get(), keyArn.get()),
                        presignPut: presignPutWith(s3, bucketName.get()),
                        log: makeLogger({ component: "dispatcher" }),
                    });
                },
            },
            { parent, dependsOn: [dispatcherRole.policy, dispatcherLogs] },
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
            parent,
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
            { parent, dependsOn: [eventsRole.policy, eventsLogs] },
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
                    // The backlog check (functions/formSender/backlog.ts). ListJobs names no resource type in the
                    // Service Authorization Reference (https://docs.aws.amazon.com/service-authorization/latest/reference/
                    // list_awsbatch.html), so it takes "*"; it reads job summaries only.
                    { Sid: "ListQueuedJobs", Effect: "Allow", Action: ["batch:ListJobs"], Resource: "*" },
                    { Sid: "Alert", Effect: "Allow", Action: ["sns:Publish"], Resource: input.alertsTopicArn },
                    { Sid: "DeadLetters", Effect: "Allow", Action: ["sqs:SendMessage"], Resource: dlq.arn },
                ]),
            },
            parent,
        );
        const spotCeArn = spotCe.arn;
        const topicArn = pulumi.output(input.alertsTopicArn);
        const prices = input.onDemandPrices;
        const threshold = input.spotPriceThresholdPercent;
        const maxVcpus = input.maxVcpus;
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
                        queues: [queueNames.spot.get(), queueNames.spotThenOnDemand.get(), queueNames.onDemand.get()],
                        ec2: new EC2Client({}),
                        batch: new BatchClient({}),
                        sns: new SNSClient({}),
                        log: makeLogger({ component: "spot-watch" }),
                    }),
            },
            { parent, dependsOn: [watchRole.policy, watchLogs] },
        );

        this.dlq = dlq;
        this.dispatcher = dispatcher;
        this.batchEvents = batchEvents;
        this.spotWatch = spotWatch;
        this.dispatcherLogs = dispatcherLogs;
        this.batchEventsLogs = eventsLogs;
        this.spotWatchLogs = watchLogs;
    }
}
