import { ConfigReader, scheduleExpressionError } from "./validate";

/** Orchestration settings (keys `orchestration*`). */
export interface OrchestrationConfig {
    readonly scheduleExpression: string;
    readonly scheduleEnabled: boolean;
    /** Script the batch container runs: `python <batchScriptPath>`. */
    readonly batchScriptPath: string;
    readonly containerName: string;
    readonly logRetentionDays: number;
}

export const ORCHESTRATION_DEFAULTS = {
    /** 17:00 UTC = 02:00 JST. */
    scheduleExpression: "cron(0 17 * * ? *)",
    containerName: "app",
    logRetentionDays: 30,
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
    };
}
