/**
 * Alarms and the pipeline dashboard: errors of the dispatcher and batch-events, API 5xx,
 * dead letters, failed executions, send outcomes unknown, Spot fallbacks to on-demand and Spot capacity
 * lowered by spot-watch (the last four from metric filters on the functions' logs). Every alarm notifies
 * the stack's alerts topic.
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
    /**
     * A metric counting one log line of a function (`value`: 1 per line, or a number the line carries)
     * and an alarm when it is 1 or more within 15 minutes. Filter and alarm share `id` in their names
     * unless `filterId` names a filter that was created under another name (child names are a contract).
     */
    const logLineAlarm = (
        id: string,
        a: {
            logGroupName: pulumi.Input<string>;
            message: string;
            metricName: string;
            value?: string;
            filterId?: string;
        },
        alarmDescription: string,
    ) => {
        const namespace = `OpsPlatform/FormSender/${env}`;
        const filterId = a.filterId ?? id;
        new aws.cloudwatch.LogMetricFilter(
            `${name}-${filterId}`,
            {
                name: `${prefix}-${filterId}`,
                logGroupName: a.logGroupName,
                pattern: `{ $.message = "${a.message}" }`,
                metricTransformation: { name: a.metricName, namespace, value: a.value ?? "1", defaultValue: "0" },
            },
            { parent },
        );
        alarm(id, {
            alarmDescription,
            namespace,
            metricName: a.metricName,
            statistic: "Sum",
            period: 900,
            evaluationPeriods: 1,
            threshold: 1,
            comparisonOperator: "GreaterThanOrEqualToThreshold",
        });
    };
    logLineAlarm(
        "failed-jobs",
        { logGroupName: eventsLogs.name, message: "execution failed", metricName: "FailedJobs" },
        "Form-sender executions failed",
    );
    // Queue items whose send intent was recorded and whose result never was: batch-events marks them
    // "unknown" after their attempt ended and logs how many. They are never resent automatically; an
    // operator checks with each company, then requeues (README "Unknown send outcomes").
    logLineAlarm(
        "unknown-sends",
        {
            logGroupName: eventsLogs.name,
            message: "send outcomes unknown",
            metricName: "UnknownSendItems",
            value: "$.unknown_items",
        },
        "Form-sender items with an unknown outcome (sent or not): " +
            "check with the companies, then npm run requeue-unknown",
    );
    // Spot exhausted and the fallback used (seed 000 §9-1: notify when on-demand takes over): batch-events logs
    // each resubmission of a capacity-cancelled job to the on-demand queue.
    logLineAlarm(
        "spot-fallbacks",
        {
            logGroupName: eventsLogs.name,
            message: "Spot capacity unavailable; resubmitted to the on-demand queue",
            metricName: "SpotFallbacks",
        },
        "Spot capacity ran out and executions fell back to on-demand: check npm run fs -- list and the " +
            "dashboard; above 50 % on-demand in a day, move targetings back (README FormSender runbook)",
    );
    logLineAlarm(
        "spot-capacity-lowered",
        {
            filterId: "spot-actions",
            logGroupName: watchLogs.name,
            message: "Spot expensive: maxvCpus lowered",
            metricName: "SpotCapacityLowered",
        },
        "spot-watch lowered Spot capacity",
    );
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
