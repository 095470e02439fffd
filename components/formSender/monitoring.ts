/**
 * Alarms and the pipeline dashboard: errors of the dispatcher and batch-events, API 5xx,
 * dead letters, failed executions, send outcomes unknown, Spot fallbacks to on-demand, Spot capacity
 * lowered by spot-watch, a RUNNABLE backlog and Supabase failures (the last six from metric filters on the
 * functions' and the runner's logs). Every alarm notifies the stack's alerts topic.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { Api } from "./api";
import type { PartContext } from "./context";
import type { LambdaFunctions } from "./functions";
import type { RunnerJob } from "./jobDefinition";

/** Failed Supabase calls (dispatcher and runner together) within 5 minutes that raise the supabase-errors alarm. */
export const SUPABASE_ERRORS_PER_5_MINUTES = 5;

export interface MonitoringInput extends PartContext, LambdaFunctions, Pick<Api, "api"> {
    readonly region: pulumi.Output<string>;
    /** Minutes the oldest RUNNABLE job may wait before the backlog alarm fires. */
    readonly backlogAlarmMinutes: number;
    /** The runner's job definition: its log group `/aws/batch/<prefix>-runner` exists once the definition does. */
    readonly jobDefinition: RunnerJob["jobDefinition"];
    /** Every alarm's action. */
    readonly alertsTopicArn: pulumi.Input<string>;
}

export interface Monitoring {
    readonly dashboard: aws.cloudwatch.Dashboard;
}

export function buildMonitoring(input: MonitoringInput): Monitoring {
    const { name, prefix, env, parent, region, api, dispatcher, batchEvents, spotWatch, dlq } = input;
    const { batchEventsLogs: eventsLogs, spotWatchLogs: watchLogs, dispatcherLogs } = input;
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
    const namespace = `OpsPlatform/FormSender/${env}`;
    /** A metric filter on one JSON log line (`field` = `message` for the functions, `msg` for the runner). */
    const lineFilter = (
        filterId: string,
        a: {
            logGroupName: pulumi.Input<string>;
            message: string;
            metricName: string;
            value?: string;
            field?: "message" | "msg";
            dependsOn?: pulumi.Resource[];
        },
    ) =>
        new aws.cloudwatch.LogMetricFilter(
            `${name}-${filterId}`,
            {
                name: `${prefix}-${filterId}`,
                logGroupName: a.logGroupName,
                pattern: `{ $.${a.field ?? "message"} = "${a.message}" }`,
                metricTransformation: { name: a.metricName, namespace, value: a.value ?? "1", defaultValue: "0" },
            },
            { parent, dependsOn: a.dependsOn },
        );
    /**
     * A metric counting one log line of a function (`value`: 1 per line, or a number the line carries)
     * and an alarm when it is 1 or more within 15 minutes (or `statistic` ≥ `threshold` over `period`). Filter and
     * alarm share `id` in their names unless `filterId` names a filter that was created under another name (child
     * names are a contract).
     */
    const logLineAlarm = (
        id: string,
        a: {
            logGroupName: pulumi.Input<string>;
            message: string;
            metricName: string;
            value?: string;
            filterId?: string;
            statistic?: "Sum" | "Maximum";
            threshold?: number;
            period?: number;
        },
        alarmDescription: string,
    ) => {
        lineFilter(a.filterId ?? id, a);
        alarm(id, {
            alarmDescription,
            namespace,
            metricName: a.metricName,
            statistic: a.statistic ?? "Sum",
            period: a.period ?? 900,
            evaluationPeriods: 1,
            threshold: a.threshold ?? 1,
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
    // Executions waiting: spot-watch lists the queues' RUNNABLE jobs every 15 minutes (ListJobs; Batch publishes no
    // queue metric) and logs how long the oldest has waited (functions/formSender/backlog.ts).
    logLineAlarm(
        "backlog",
        {
            logGroupName: watchLogs.name,
            message: "runnable backlog",
            metricName: "OldestRunnableMinutes",
            value: "$.oldest_runnable_minutes",
            statistic: "Maximum",
            threshold: input.backlogAlarmMinutes,
        },
        `A form-sender job has waited RUNNABLE for ${input.backlogAlarmMinutes} minutes or more: check maxvCpus ` +
            "(spot-watch may have lowered it), the queues' jobs (npm run fs -- list) and the job size " +
            "(README troubleshooting, jobs stuck RUNNABLE)",
    );
    // Supabase failing: the dispatcher logs each failed RPC (unreachable, unavailable, refused, a function bug;
    // dispatcher.ts SUPABASE_FAILURE_MESSAGE) and the runner each Supabase call it retries (containers/runner/src/
    // job.ts onRetry). Both filters feed one metric; the alarm counts them per 5 minutes.
    lineFilter("supabase-errors-runner", {
        logGroupName: `/aws/batch/${prefix}-runner`,
        message: "Supabase call failed; retrying",
        field: "msg",
        metricName: "SupabaseErrors",
        // The log group is the job definition's (jobDefinition.ts `${name}-runner-logs`), created before it.
        dependsOn: [input.jobDefinition],
    });
    logLineAlarm(
        "supabase-errors",
        {
            logGroupName: dispatcherLogs.name,
            message: "supabase call failed",
            metricName: "SupabaseErrors",
            statistic: "Sum",
            period: 300,
            threshold: SUPABASE_ERRORS_PER_5_MINUTES,
        },
        `Supabase calls failed ${SUPABASE_ERRORS_PER_5_MINUTES} or more times in 5 minutes (dispatcher and runners): ` +
            "check the Supabase project's status and the service-role key (README troubleshooting)",
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
                            title: "Failed executions / Spot capacity lowered / Supabase errors",
                            region,
                            stat: "Sum",
                            period: 900,
                            metrics: [
                                [`OpsPlatform/FormSender/${env}`, "FailedJobs"],
                                [".", "SpotCapacityLowered"],
                                [".", "SupabaseErrors"],
                                [".", "OldestRunnableMinutes", { stat: "Maximum", label: "Oldest RUNNABLE (min)" }],
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
