import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { jsonLogger } from "../functions/syncBatch/log";
import { makeSyncHandler, PARTIAL_RUN_LOG_MESSAGE } from "../functions/syncBatch/handler";
import { syncDepsFromEnv } from "../functions/syncBatch/env";
import { secretsManagerGetter } from "../functions/syncBatch/secrets";
import { SYNC_DURATION_ALARM_SECONDS, SyncConfig } from "./config/sync";
import { serviceRole } from "./iam";
import { lambdaCodePaths } from "./lambdaPackages";

const LAMBDA_RUNTIME = "nodejs22.x";

/**
 * What the manual-trigger rule matches:
 * `aws events put-events --entries Source=batch-scheduler,DetailType=manual-trigger,…`.
 */
export const MANUAL_TRIGGER = { source: "batch-scheduler", detailType: "manual-trigger" } as const;

/**
 * Metric filter pattern for partial runs: the quoted phrase the handler logs when it skipped a
 * channel. A term pattern rather than a JSON one because the function logs in Text format, where
 * the runtime prefixes each console.log line with time, request id and level, and JSON patterns
 * only match events that are JSON objects
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html:
 * "Enclose exact phrases and terms that include non-alphanumeric characters in double quotation marks").
 */
export const PARTIAL_RUN_FILTER_PATTERN = `"${PARTIAL_RUN_LOG_MESSAGE}"`;

/**
 * Lambda (Node.js 20 and later) no longer trusts the Amazon RDS certificate authorities by
 * default; this bundle of the runtime adds them, so `verify-full` can check the RDS certificate
 * (https://docs.aws.amazon.com/lambda/latest/dg/lambda-nodejs.html).
 */
export const LAMBDA_AMAZON_CA_BUNDLE = "/var/runtime/ca-cert.pem";

/** The only packages the sync Lambda ships (the AWS SDK comes with the runtime). */
export const SYNC_PACKAGES = ["pg", "pg-copy-streams", "csv-stringify"] as const;

/**
 * The Lambda's callback factory, run once per cold start: creates the Secrets Manager client
 * and returns the handler. Everything else comes from the environment the component sets; the
 * closure captures no configuration and no secret.
 */
export function syncBatchCallbackFactory() {
    const logger = jsonLogger({ function: "sync-batch" });
    return makeSyncHandler(syncDepsFromEnv(process.env, secretsManagerGetter(new SecretsManagerClient({})), logger));
}

/**
 * The stack's `sync*` settings (documented in components/config/sync.ts) plus what the program
 * wires in. The region is the provider's, so it is not an argument.
 */
export interface SyncSchedulerArgs extends Omit<SyncConfig, "region"> {
    /** Stack environment (`stg`, `prd`); part of every physical name. */
    readonly environment: string;
    /** Alerts topic in this component's region; both alarms notify it. */
    readonly alertsTopicArn: pulumi.Input<string>;
}

/** Physical names derived from the environment; the runbook uses them. */
export function syncNames(environment: string) {
    const fn = `sync-batch-${environment}`;
    return {
        function: fn,
        logGroup: `/aws/lambda/${fn}`,
        /** First schedule `sync-batch-<env>-schedule`, further ones `-schedule-2`, `-schedule-3`… */
        scheduleRule: (i: number) => `${fn}-schedule${i === 0 ? "" : `-${i + 1}`}`,
        manualRule: `${fn}-manual`,
        errorsAlarm: `${fn}-errors`,
        durationAlarm: `${fn}-duration`,
        partialAlarm: `${fn}-partial`,
        partialMetricFilter: `${fn}-partial-runs`,
        /** Namespace of the metric the partial-run filter writes. */
        metricNamespace: `OpsPlatform/Sync/${environment}`,
    };
}

/** Exported for tests: rejects args the constructor cannot build. */
export function validateSyncSchedulerArgs(name: string, args: SyncSchedulerArgs): void {
    const problems: string[] = [];
    if (args.scheduleExpressions.length === 0)
        problems.push("`scheduleExpressions` must list at least one schedule, got none");
    if (args.subnetIds.length === 0) problems.push("`subnetIds` must list the RDS subnets, got none");
    if (args.securityGroupIds.length === 0)
        problems.push("`securityGroupIds` must list the RDS client security group, got none");
    if (args.timeoutSeconds <= SYNC_DURATION_ALARM_SECONDS) {
        problems.push(
            `\`timeoutSeconds\` must be above the ${SYNC_DURATION_ALARM_SECONDS} s Duration alarm ` +
                `so slow runs alarm before Lambda kills them, got ${args.timeoutSeconds}`,
        );
    }
    if (problems.length > 0) throw new Error(`SyncScheduler '${name}': ${problems.join("; ")}`);
}

/**
 * Nightly YouTube Data API → CSV → PostgreSQL sync (seed 001): EventBridge schedules (UTC cron
 * list) and a manual-trigger rule invoke the `sync-batch-<env>` Lambda in the existing RDS VPC.
 * The DB password and the YouTube key are read at run time from Secrets Manager; the role may
 * read those two secrets, write its own log group, manage its VPC ENIs and send X-Ray traces,
 * nothing else. Alarms on Errors ≥ 1, Duration > 600 s and partial runs (a channel skipped)
 * notify the region's alerts topic.
 */
export class SyncScheduler extends pulumi.ComponentResource {
    public readonly functionName: pulumi.Output<string>;
    public readonly functionArn: pulumi.Output<string>;
    public readonly roleArn: pulumi.Output<string>;
    public readonly logGroupName: pulumi.Output<string>;
    public readonly scheduleRuleNames: pulumi.Output<string>[];
    public readonly manualRuleName: pulumi.Output<string>;
    public readonly alarmNames: pulumi.Output<string>[];

    constructor(name: string, args: SyncSchedulerArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("ops:sync:SyncScheduler", name, {}, opts);
        validateSyncSchedulerArgs(name, args);
        const names = syncNames(args.environment);
        const parent = { parent: this };

        const logGroup = new aws.cloudwatch.LogGroup(
            `${name}-logs`,
            { name: names.logGroup, retentionInDays: args.logRetentionDays },
            parent,
        );

        const role = serviceRole(
            `${name}-function`,
            {
                service: "lambda.amazonaws.com",
                description:
                    `sync-batch (${args.environment}): ` +
                    "reads its two secrets, writes its logs, runs in the RDS VPC",
                statements: [
                    {
                        Sid: "Logs",
                        Effect: "Allow",
                        Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
                        Resource: pulumi.interpolate`${logGroup.arn}:*`,
                    },
                    {
                        Sid: "ReadSecrets",
                        Effect: "Allow",
                        Action: ["secretsmanager:GetSecretValue"],
                        Resource: [args.dbPasswordSecretArn, args.youtubeApiKeySecretArn],
                    },
                    // Lambda creates the function's ENIs with its role: the EC2 actions of the AWS managed policy
                    // AWSLambdaVPCAccessExecutionRole (v3, January 2024, which added DescribeSubnets), which uses "*"
                    // (https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSLambdaVPCAccessExecutionRole.html).
                    {
                        Sid: "VpcNetworkInterfaces",
                        Effect: "Allow",
                        Action: [
                            "ec2:CreateNetworkInterface",
                            "ec2:DescribeNetworkInterfaces",
                            "ec2:DescribeSubnets",
                            "ec2:DeleteNetworkInterface",
                            "ec2:AssignPrivateIpAddresses",
                            "ec2:UnassignPrivateIpAddresses",
                        ],
                        Resource: "*",
                    },
                    // X-Ray segment APIs have no resource-level permissions.
                    {
                        Sid: "Tracing",
                        Effect: "Allow",
                        Action: ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
                        Resource: "*",
                    },
                ],
            },
            this,
        );

        const variables: Record<string, string> = {
            DB_HOST: args.dbHost,
            DB_PORT: String(args.dbPort),
            DB_NAME: args.dbName,
            DB_USERNAME: args.dbUsername,
            DB_SSL_MODE: args.dbSslMode,
            DB_PASSWORD_SECRET_ARN: args.dbPasswordSecretArn,
            YOUTUBE_API_KEY_SECRET_ARN: args.youtubeApiKeySecretArn,
            YOUTUBE_CHANNEL_IDS: args.channelIds.join(","),
            YOUTUBE_QUOTA_BUDGET: String(args.quotaBudget),
        };
        if (args.dbSslMode === "verify-full") variables.NODE_EXTRA_CA_CERTS = LAMBDA_AMAZON_CA_BUNDLE;

        const fn = new aws.lambda.CallbackFunction(
            `${name}-function`,
            {
                name: names.function,
                description: "YouTube Data API → CSV → COPY → PostgreSQL sync (channels, videos, daily stats)",
                role: role.role,
                runtime: LAMBDA_RUNTIME,
                timeout: args.timeoutSeconds,
                memorySize: args.memoryMb,
                vpcConfig: { subnetIds: args.subnetIds, securityGroupIds: args.securityGroupIds },
                environment: { variables },
                tracingConfig: { mode: "Active" },
                loggingConfig: { logFormat: "Text", logGroup: logGroup.name },
                codePathOptions: lambdaCodePaths(names.function, SYNC_PACKAGES),
                callbackFactory: syncBatchCallbackFactory,
            },
            { parent: this, dependsOn: [role.policy, logGroup] },
        );

        // EventBridge invokes asynchronously; Lambda would retry a failed run twice, each
        // spending quota again. One retry covers a transient DB or network error.
        new aws.lambda.FunctionEventInvokeConfig(
            `${name}-invoke`,
            {
                functionName: fn.name,
                maximumRetryAttempts: 1,
                maximumEventAgeInSeconds: 3600,
            },
            parent,
        );

        const target = (label: string, rule: aws.cloudwatch.EventRule) => {
            new aws.cloudwatch.EventTarget(label, { rule: rule.name, arn: fn.arn }, parent);
            new aws.lambda.Permission(
                label,
                {
                    action: "lambda:InvokeFunction",
                    function: fn.name,
                    principal: "events.amazonaws.com",
                    sourceArn: rule.arn,
                },
                parent,
            );
        };
        const schedules = args.scheduleExpressions.map((expr, i) => {
            const label = `${name}-schedule${i === 0 ? "" : `-${i + 1}`}`;
            const rule = new aws.cloudwatch.EventRule(
                label,
                {
                    name: names.scheduleRule(i),
                    description: `sync-batch ${args.environment}: ${expr} (UTC)`,
                    scheduleExpression: expr,
                    state: args.scheduleEnabled ? "ENABLED" : "DISABLED",
                },
                parent,
            );
            target(label, rule);
            return rule;
        });
        const manual = new aws.cloudwatch.EventRule(
            `${name}-manual`,
            {
                name: names.manualRule,
                description:
                    `sync-batch ${args.environment}: manual runs ` +
                    `(source ${MANUAL_TRIGGER.source}, detail-type ${MANUAL_TRIGGER.detailType})`,
                eventPattern: pulumi.jsonStringify({
                    source: [MANUAL_TRIGGER.source],
                    "detail-type": [MANUAL_TRIGGER.detailType],
                }),
                state: "ENABLED",
            },
            parent,
        );
        target(`${name}-manual`, manual);

        const alarm = (
            label: string,
            alarmName: string,
            a: Pick<
                aws.cloudwatch.MetricAlarmArgs,
                "metricName" | "statistic" | "threshold" | "comparisonOperator" | "alarmDescription"
            > &
                Partial<Pick<aws.cloudwatch.MetricAlarmArgs, "namespace" | "dimensions">>,
        ) =>
            new aws.cloudwatch.MetricAlarm(
                label,
                {
                    name: alarmName,
                    namespace: "AWS/Lambda",
                    dimensions: { FunctionName: fn.name },
                    period: 300,
                    evaluationPeriods: 1,
                    // No invocation, no data: a quiet day is not an alarm.
                    treatMissingData: "notBreaching",
                    alarmActions: [args.alertsTopicArn],
                    ...a,
                },
                parent,
            );
        const errors = alarm(`${name}-errors`, names.errorsAlarm, {
            metricName: "Errors",
            statistic: "Sum",
            threshold: 1,
            comparisonOperator: "GreaterThanOrEqualToThreshold",
            alarmDescription:
                `sync-batch ${args.environment} failed; published data is unchanged. ` +
                `Logs: aws logs tail ${names.logGroup} --since 1h`,
        });
        const duration = alarm(`${name}-duration`, names.durationAlarm, {
            metricName: "Duration",
            statistic: "Maximum",
            threshold: SYNC_DURATION_ALARM_SECONDS * 1000,
            comparisonOperator: "GreaterThanThreshold",
            alarmDescription:
                `sync-batch ${args.environment} ran longer than ${SYNC_DURATION_ALARM_SECONDS} s ` +
                `(timeout ${args.timeoutSeconds} s)`,
        });

        // A run that skipped channels ends normally (an error would make Lambda retry it and spend
        // the quota again), so its alarm counts the line the handler logs instead.
        new aws.cloudwatch.LogMetricFilter(
            `${name}-partial-runs`,
            {
                name: names.partialMetricFilter,
                logGroupName: logGroup.name,
                pattern: PARTIAL_RUN_FILTER_PATTERN,
                metricTransformation: {
                    name: "PartialRuns",
                    namespace: names.metricNamespace,
                    value: "1",
                    defaultValue: "0",
                },
            },
            parent,
        );
        const partial = alarm(`${name}-partial`, names.partialAlarm, {
            namespace: names.metricNamespace,
            dimensions: undefined,
            metricName: "PartialRuns",
            statistic: "Sum",
            threshold: 1,
            comparisonOperator: "GreaterThanOrEqualToThreshold",
            alarmDescription:
                `sync-batch ${args.environment} skipped channels (run status partial); the other channels ` +
                "were published. Reasons: youtube_sync_runs.skipped_channels of the latest run. " +
                `Logs: aws logs tail ${names.logGroup} --since 1h --filter-pattern '${PARTIAL_RUN_FILTER_PATTERN}'`,
        });

        this.functionName = fn.name;
        this.functionArn = fn.arn;
        this.roleArn = role.role.arn;
        this.logGroupName = logGroup.name;
        this.scheduleRuleNames = schedules.map((s) => s.name);
        this.manualRuleName = manual.name;
        this.alarmNames = [errors.name, duration.name, partial.name];
        this.registerOutputs({
            functionName: this.functionName,
            functionArn: this.functionArn,
            roleArn: this.roleArn,
            logGroupName: this.logGroupName,
            scheduleRuleNames: this.scheduleRuleNames,
            manualRuleName: this.manualRuleName,
            alarmNames: this.alarmNames,
        });
    }
}
