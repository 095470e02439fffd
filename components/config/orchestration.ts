import { ConfigReader, scheduleExpressionError } from "./validate";

/** Orchestration settings (keys `orchestration*`). */
export interface OrchestrationConfig {
    readonly scheduleExpression: string;
    readonly scheduleEnabled: boolean;
    /** Script the batch container runs: `python <batchScriptPath>`. */
    readonly batchScriptPath: string;
    readonly containerName: string;
    readonly logRetentionDays: number;
    /**
     * `TimeoutSeconds` of the `.sync` RunTask state: a task still running after this long fails the
     * state with `States.Timeout`, which alerts. Without it the state waits as long as the execution
     * may run (a year for Standard workflows).
     */
    readonly taskTimeoutSeconds: number;
}

/**
 * Largest `TimeoutSeconds` a Task state can use: a task cannot outlive its execution, and a Standard
 * execution runs at most 1 year ("Maximum task execution time: 1 year (constrained by execution time limit)",
 * Step Functions quotas, https://docs.aws.amazon.com/step-functions/latest/dg/limits-overview.html). The smallest
 * is 1: `TimeoutSeconds` "Must be a positive, non-zero integer" (Task state,
 * https://docs.aws.amazon.com/step-functions/latest/dg/amazon-states-language-task-state.html).
 */
export const SFN_MAX_TASK_TIMEOUT_SECONDS = 365 * 24 * 3600;

export const ORCHESTRATION_DEFAULTS = {
    /** 17:00 UTC = 02:00 JST. */
    scheduleExpression: "cron(0 17 * * ? *)",
    containerName: "app",
    logRetentionDays: 30,
    /** One hour; raise it when the batch legitimately runs longer. */
    taskTimeoutSeconds: 3600,
};

export function readOrchestrationConfig(r: ConfigReader, env: string): OrchestrationConfig {
    const d = ORCHESTRATION_DEFAULTS;
    const expr = r.string("orchestrationScheduleExpression", {
        default: d.scheduleExpression,
        example: d.scheduleExpression,
    });
    const err = scheduleExpressionError(expr);
    if (err !== undefined) {
        r.fail(
            "orchestrationScheduleExpression",
            `an EventBridge schedule expression (${err})`,
            expr,
            r.setCommand("orchestrationScheduleExpression", `'${d.scheduleExpression}'`),
        );
    }
    return {
        scheduleExpression: err === undefined ? expr : d.scheduleExpression,
        // Nightly runs touch production data, so only prd schedules by default.
        scheduleEnabled: r.boolean("orchestrationScheduleEnabled", { default: env === "prd" }),
        batchScriptPath: r.string("orchestrationBatchScriptPath", {
            pattern: /^[\w./-]+\.py$/,
            expected: "the path of the Python batch script inside the container (e.g. src/batch/nightly.py)",
            example: "src/batch/nightly.py",
        }),
        containerName: r.string("orchestrationContainerName", {
            default: d.containerName,
            pattern: /^[A-Za-z0-9_-]{1,255}$/,
            expected: "a container name of the task definition (letters, digits, - and _)",
            example: d.containerName,
        }),
        logRetentionDays: r.logRetention("orchestrationLogRetentionDays", d.logRetentionDays),
        taskTimeoutSeconds: r.integer("orchestrationTaskTimeoutSeconds", {
            default: d.taskTimeoutSeconds,
            min: 1,
            max: SFN_MAX_TASK_TIMEOUT_SECONDS,
        }),
    };
}
