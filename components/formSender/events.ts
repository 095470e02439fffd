/**
 * What invokes the background functions: the rule that sends this stack's Batch job state
 * changes to batch-events (retried, dead-lettered), the 15-minute schedule of spot-watch, and
 * the queue policy that lets EventBridge dead-letter into the functions' queue.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { policyDocument } from "../iam";
import type { Compute } from "./compute";
import type { PartContext } from "./context";
import type { LambdaFunctions } from "./functions";

export interface EventsInput
    extends PartContext, Pick<Compute, "queues">, Pick<LambdaFunctions, "batchEvents" | "spotWatch" | "dlq"> {}

export interface Events {
    /** Batch job state changes of the three queues, to batch-events. */
    readonly stateRule: aws.cloudwatch.EventRule;
    /** spot-watch's schedule. */
    readonly scheduleRule: aws.cloudwatch.EventRule;
}

export function buildEvents(input: EventsInput): Events {
    const { name, prefix, parent, batchEvents, spotWatch, dlq } = input;
    const { spot: spotQueue, spotThenOnDemand: fallbackQueue, onDemand: onDemandQueue } = input.queues;
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
        { parent },
    );
    new aws.cloudwatch.EventTarget(
        `${name}-batch-state`,
        {
            rule: stateRule.name,
            arn: batchEvents.arn,
            retryPolicy: { maximumRetryAttempts: 8, maximumEventAgeInSeconds: 3600 * 6 },
            deadLetterConfig: { arn: dlq.arn },
        },
        { parent },
    );
    new aws.lambda.Permission(
        `${name}-batch-state`,
        {
            action: "lambda:InvokeFunction",
            function: batchEvents.name,
            principal: "events.amazonaws.com",
            sourceArn: stateRule.arn,
        },
        { parent },
    );
    const watchRule = new aws.cloudwatch.EventRule(
        `${name}-spot-watch`,
        {
            name: `${prefix}-spot-watch`,
            description: "spot-watch every 15 minutes",
            scheduleExpression: "rate(15 minutes)",
        },
        { parent },
    );
    new aws.cloudwatch.EventTarget(`${name}-spot-watch`, { rule: watchRule.name, arn: spotWatch.arn }, { parent });
    new aws.lambda.Permission(
        `${name}-spot-watch`,
        {
            action: "lambda:InvokeFunction",
            function: spotWatch.name,
            principal: "events.amazonaws.com",
            sourceArn: watchRule.arn,
        },
        { parent },
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
        { parent },
    );
    return { stateRule, scheduleRule: watchRule };
}
