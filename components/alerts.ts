import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

export interface AlertsArgs {
    /** Address subscribed to the topic. AWS e-mails a confirmation link; nothing is delivered until it is clicked. */
    readonly email: string;
    /** Region label used in the topic name and display name. */
    readonly region: string;
    /** Stack environment (`stg`, `prd`), prefixed to notification subjects. */
    readonly environment: string;
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
                // encrypted with alias/aws/sns (https://repost.aws/knowledge-center/cloudwatch-receive-sns-for-alarm-trigger).
            },
            { parent: this },
        );
        // Only CloudWatch alarms (and the roles the components grant) may publish; account root keeps control.
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
        this.topicArn = topic.arn;
        this.topicName = topic.name;
        this.registerOutputs({ topicArn: this.topicArn, topicName: this.topicName });
    }
}
