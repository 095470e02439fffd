/**
 * Alarms and the pipeline dashboard: errors of the dispatcher and batch-events, API 5xx,
 * dead letters, failed executions, send outcomes unknown, Spot fallbacks to on-demand and Spot capacity
 * lowered by spot-watch (the last four from metric filters on the functions' logs). Every alarm notifies the stack's alerts topic.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { Api } from "./api";
import type { PartContext } from "./context";
import type { LambdaFunctions } from "./functions";

export interface MonitoringInput extends PartContext, LambdaFunctions, Pick<Api, "api"> {
    readonly region: pulumi.Output<string>;
    /** Every alarm's action. */
    readonly alertsTopicArn: pulumi.Input<string>;
}

export interface Monitoring {
    readonly dashboard: aws.cloudwatch.Dashboard;
}

export function buildMonitoring(input: MonitoringInput): Monitoring {
    const { name, prefix, env, parent, region, api, dispatcher, batchEvents, spotWatch, dlq } = input;
    const { batchEventsLogs: eventsLogs, spotWatchLogs: watchLogs } = input;
    const alarm = (id: string, a: Omit<aws.cloudwatch.MetricAlarmArgs, "alarmActions">) =>
        new aws.cloudwatch.MetricAlarm(
            `${name}-${id}`,
            {
                name: `${prefix}-${id}`,
                treatMissingData: "notBreaching",
                ...a,
                alarmActions: [input.alertsTopicArn],
            },
            { parent },
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
        { parent },
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
    // Queue items whose send intent was recorded and whose result never was: batch-events marks them
    // "unknown" after their attempt ended and logs how many. They are never resent automatically; an
    // operator checks with each company, then requeues (README "Unknown send outcomes").
    new aws.cloudwatch.LogMetricFilter(
        `${name}-unknown-sends`,
        {
            name: `${prefix}-unknown-sends`,
            logGroupName: eventsLogs.name,
            pattern: '{ $.message = "send outcomes unknown" }',
            metricTransformation: {
                name: "UnknownSendItems",
                namespace: `OpsPlatform/FormSender/${env}`,
                value: "$.unknown_items",
                defaultValue: "0",
            },
        },
        { parent },
    );
    alarm("unknown-sends", {
        alarmDescription:
            "Form-sender items with an unknown outcome (sent or not): " +
            "check with the companies, then npm run requeue-unknown",
        namespace: `OpsPlatform/FormSender/${env}`,
        metricName: "UnknownSendItems",
        statistic: "Sum",
        period: 900,
        evaluationPeriods: 1,
        threshold: 1,
        comparisonOperator: "GreaterThanOrEqualToThreshold",
    });
    // Spot exhausted and the fallback used (seed 000 §9-1: notify when on-demand takes over): batch-events logs
    // each resubmission of a capacity-cancelled job to the on-demand queue.
    new aws.cloudwatch.LogMetricFilter(
        `${name}-spot-fallbacks`,
        {
            name: `${prefix}-spot-fallbacks`,
            logGroupName: eventsLogs.name,
            pattern: '{ $.message = "Spot capacity unavailable; resubmitted to the on-demand queue" }',
            metricTransformation: {
                name: "SpotFallbacks",
                namespace: `OpsPlatform/FormSender/${env}`,
                value: "1",
                defaultValue: "0",
            },
        },
        { parent },
    );
    alarm("spot-fallbacks", {
        alarmDescription:
            "Spot capacity ran out and executions fell back to on-demand: check npm run fs -- list and the " +
            "dashboard; above 50 % on-demand in a day, move targetings back (README FormSender runbook)",
        namespace: `OpsPlatform/FormSender/${env}`,
        metricName: "SpotFallbacks",
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
        { parent },
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
        { parent },
    );
    return { dashboard };
}
