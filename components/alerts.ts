import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { slackNotifierFromEnv } from "../functions/alerts/slack";
import { jsonLogger } from "../functions/syncBatch/log";
import { secretsManagerGetter } from "../functions/syncBatch/secrets";
import { serviceRole } from "./iam";
import { lambdaCodePaths } from "./lambdaPackages";

export interface AlertsArgs {
    /** Address subscribed to the topic. AWS e-mails a confirmation link; nothing is delivered until it is clicked. */
    readonly email: string;
    /** Region label used in the topic name and display name. */
    readonly region: string;
    /** Stack environment (`stg`, `prd`), prefixed to notification subjects. */
    readonly environment: string;
    /**
     * Slack Incoming Webhook URL (a secret). When set, a notifier Lambda subscribed to the topic
     * posts every notification to Slack; when unset nothing more is created.
     */
    readonly slackWebhookUrl?: pulumi.Input<string>;
    /**
     * Protect the stateful child (the Slack webhook secret) against deletion and replacement.
     *  @default true when `environment` is `prd`
     */
    readonly protectStatefulResources?: boolean;
}

/** Sizing of the Slack notifier: it only formats JSON and makes one HTTPS call per alert. */
export const SLACK_NOTIFIER = {
    memoryMb: 128,
    /**
     * Above the handler's 22 s retry budget (functions/alerts/slack.ts DELIVERY_DEFAULTS), so it
     * fails with its own error first.
     */
    timeoutSeconds: 30,
    logRetentionDays: 14,
    /** Lambda's asynchronous retries of a failed event before it goes to the dead-letter queue. */
    retryAttempts: 2,
    /** An alert older than this goes to the dead-letter queue instead of Slack. */
    maxEventAgeSeconds: 6 * 3600,
    deadLetterRetentionSeconds: 14 * 24 * 3600,
} as const;

/** Physical names of one region's Slack notifier; the runbook uses them. */
export function slackNotifierNames(environment: string, region: string) {
    const fn = `ops-platform-${environment}-alerts-slack-${region}`;
    return {
        function: fn,
        logGroup: `/aws/lambda/${fn}`,
        secret: `ops-platform/${environment}/alerts/slack-webhook-${region}`,
        deadLetterQueue: `${fn}-dlq`,
        deadLetterAlarm: `${fn}-dlq`,
    };
}

/**
 * The notifier Lambda's callback factory, run once per cold start: the Secrets Manager client
 * and the handler. Its settings come from the environment; the closure captures nothing.
 */
export function slackNotifierCallbackFactory() {
    return slackNotifierFromEnv(
        process.env,
        secretsManagerGetter(new SecretsManagerClient({})),
        jsonLogger({ function: "alerts-slack" }),
    );
}

/**
 * The alerts topic of one region. CloudWatch alarms can only notify a topic in their own
 * region, so the program creates one per region in use and each component publishes to its own.
 * Pass the region's provider in `opts.providers`.
 */
export class Alerts extends pulumi.ComponentResource {
    /** ARN of the topic alarms and functions publish to. */
    public readonly topicArn: pulumi.Output<string>;
    public readonly topicName: pulumi.Output<string>;

    constructor(name: string, args: AlertsArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("ops:alerts:Alerts", name, {}, opts);
        const topic = new aws.sns.Topic(
            `${name}-topic`,
            {
                name: `ops-platform-${args.environment}-alerts-${args.region}`,
                displayName: `ops-platform ${args.environment} alerts (${args.region})`,
                // No SSE-KMS with the AWS-managed key: CloudWatch alarms cannot publish to a topic
                // encrypted with alias/aws/sns
                // (https://repost.aws/knowledge-center/cloudwatch-receive-sns-for-alarm-trigger).
            },
            { parent: this },
        );
        // Only CloudWatch alarms (and the roles the components grant) may publish; account root keeps control.
        // The service principal is any account's CloudWatch: aws:SourceAccount limits it to alarms of the topic's own
        // account (confused deputy; https://docs.aws.amazon.com/sns/latest/dg/sns-access-policy-use-cases.html).
        const account = topic.arn.apply((arn) => arn.split(":")[4]);
        new aws.sns.TopicPolicy(
            `${name}-policy`,
            {
                arn: topic.arn,
                policy: pulumi.jsonStringify({
                    Version: "2012-10-17",
                    Statement: [
                        {
                            Sid: "AllowCloudWatchAlarms",
                            Effect: "Allow",
                            Principal: { Service: "cloudwatch.amazonaws.com" },
                            Action: "sns:Publish",
                            Resource: topic.arn,
                            Condition: { StringEquals: { "aws:SourceAccount": account } },
                        },
                        {
                            Sid: "DenyInsecureTransport",
                            Effect: "Deny",
                            Principal: "*",
                            Action: "sns:Publish",
                            Resource: topic.arn,
                            Condition: { Bool: { "aws:SecureTransport": "false" } },
                        },
                    ],
                } satisfies aws.iam.PolicyDocument),
            },
            { parent: this },
        );
        new aws.sns.TopicSubscription(
            `${name}-email`,
            { topic: topic.arn, protocol: "email", endpoint: args.email },
            { parent: this },
        );
        if (args.slackWebhookUrl !== undefined) this.slackNotifier(name, args, topic);
        this.topicArn = topic.arn;
        this.topicName = topic.name;
        this.registerOutputs({ topicArn: this.topicArn, topicName: this.topicName });
    }

    /**
     * The webhook in its own secret, and a Lambda subscribed to the topic that reads it at cold
     * start and posts each notification. SNS invokes it asynchronously: failures are retried by
     * Lambda, then kept in a dead-letter queue whose depth alarms to the topic (so e-mail still
     * reports a Slack outage).
     */
    private slackNotifier(name: string, args: AlertsArgs, topic: aws.sns.Topic): void {
        const parent = { parent: this };
        const names = slackNotifierNames(args.environment, args.region);
        const secret = new aws.secretsmanager.Secret(
            `${name}-slack-webhook`,
            {
                name: names.secret,
                description: "Slack Incoming Webhook URL the alerts notifier posts to (alertSlackWebhookUrl)",
                // Outside prd deleted at once (0 = ForceDeleteWithoutRecovery), so destroy and up can follow each
                // other; a recovery window would keep the name taken.
                recoveryWindowInDays: args.environment === "prd" ? 7 : 0,
            },
            // `protect` (https://www.pulumi.com/docs/iac/concepts/options/protect/): no destroy or replacement deletes it.
            { parent: this, protect: args.protectStatefulResources ?? args.environment === "prd" },
        );
        new aws.secretsmanager.SecretVersion(
            `${name}-slack-webhook`,
            { secretId: secret.id, secretString: pulumi.secret(args.slackWebhookUrl!) },
            parent,
        );
        const dlq = new aws.sqs.Queue(
            `${name}-slack-dlq`,
            {
                name: names.deadLetterQueue,
                messageRetentionSeconds: SLACK_NOTIFIER.deadLetterRetentionSeconds,
                sqsManagedSseEnabled: true,
            },
            parent,
        );
        const logGroup = new aws.cloudwatch.LogGroup(
            `${name}-slack-logs`,
            { name: names.logGroup, retentionInDays: SLACK_NOTIFIER.logRetentionDays },
            parent,
        );
        const role = serviceRole(
            `${name}-slack`,
            {
                service: "lambda.amazonaws.com",
                description:
                    `Slack notifier of the ${args.region} alerts topic: ` +
                    "reads its webhook secret, writes its logs and dead letters",
                statements: [
                    {
                        Sid: "Logs",
                        Effect: "Allow",
                        Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
                        Resource: pulumi.interpolate`${logGroup.arn}:*`,
                    },
                    {
                        Sid: "ReadWebhook",
                        Effect: "Allow",
                        Action: ["secretsmanager:GetSecretValue"],
                        Resource: secret.arn,
                    },
                    // Lambda sends failed asynchronous events to the dead-letter queue with the function's role.
                    { Sid: "DeadLetters", Effect: "Allow", Action: ["sqs:SendMessage"], Resource: dlq.arn },
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
        const fn = new aws.lambda.CallbackFunction(
            `${name}-slack`,
            {
                name: names.function,
                description: `Posts ${args.region} alerts to Slack`,
                role: role.role,
                runtime: "nodejs22.x",
                timeout: SLACK_NOTIFIER.timeoutSeconds,
                memorySize: SLACK_NOTIFIER.memoryMb,
                environment: {
                    variables: { SLACK_WEBHOOK_SECRET_ARN: secret.arn, ALERTS_ENVIRONMENT: args.environment },
                },
                deadLetterConfig: { targetArn: dlq.arn },
                tracingConfig: { mode: "Active" },
                loggingConfig: { logFormat: "Text", logGroup: logGroup.name },
                codePathOptions: lambdaCodePaths(names.function, []),
                callbackFactory: slackNotifierCallbackFactory,
            },
            { parent: this, dependsOn: [role.policy, logGroup] },
        );
        // These are Lambda's defaults, stated so the bound is part of the plan: a failing alert
        // is tried three times in all, then kept in the dead-letter queue; never retried forever.
        new aws.lambda.FunctionEventInvokeConfig(
            `${name}-slack-invoke`,
            {
                functionName: fn.name,
                maximumRetryAttempts: SLACK_NOTIFIER.retryAttempts,
                maximumEventAgeInSeconds: SLACK_NOTIFIER.maxEventAgeSeconds,
            },
            parent,
        );
        const permission = new aws.lambda.Permission(
            `${name}-slack`,
            {
                action: "lambda:InvokeFunction",
                function: fn.name,
                principal: "sns.amazonaws.com",
                sourceArn: topic.arn,
            },
            parent,
        );
        new aws.sns.TopicSubscription(
            `${name}-slack`,
            { topic: topic.arn, protocol: "lambda", endpoint: fn.arn },
            { parent: this, dependsOn: [permission] },
        );
        // If Slack itself is down this alarm's own Slack post fails too, but the e-mail
        // subscription still tells operators that alerts are waiting in the queue.
        new aws.cloudwatch.MetricAlarm(
            `${name}-slack-dlq`,
            {
                name: names.deadLetterAlarm,
                alarmDescription:
                    `Alerts that could not be posted to Slack are waiting in ${names.deadLetterQueue} ` +
                    "(webhook revoked or Slack down); the e-mail copy was sent",
                namespace: "AWS/SQS",
                metricName: "ApproximateNumberOfMessagesVisible",
                dimensions: { QueueName: dlq.name },
                statistic: "Maximum",
                period: 300,
                evaluationPeriods: 1,
                threshold: 1,
                comparisonOperator: "GreaterThanOrEqualToThreshold",
                treatMissingData: "notBreaching",
                alarmActions: [topic.arn],
            },
            parent,
        );
    }
}
