/**
 * Everything the Batch job reads from its environment, parsed and checked once at start.
 * A bad value stops the job before it touches Chromium or Supabase, with a message naming the
 * variable, the value and the fix (exit code 64, see README "Runner exit codes").
 */

/** AWS Batch and job-definition variables, plus the dispatcher's per-execution overrides. */
export interface RunnerSettings {
    /** `RUN_INDEX = AWS_BATCH_JOB_ARRAY_INDEX + 1`, or 1 when the job is not an array. */
    readonly runIndex: number;
    /** `AWS_BATCH_JOB_ARRAY_INDEX` as Batch gave it, or null without an array. */
    readonly arrayIndex: number | null;
    /**
     * Array size (`FORM_SENDER_RUN_TOTAL`); Batch itself does not expose it. Null when unset:
     * the job then takes the execution row's array_size/run_total.
     */
    readonly arraySize: number | null;
    /** `AWS_BATCH_JOB_ATTEMPT` (1 on the first try). */
    readonly attempt: number;
    /** `AWS_BATCH_JOB_ID` ("<parent>:<index>" for array children), or "local-<pid>" outside Batch. */
    readonly jobId: string;
    /** `FORM_SENDER_TOTAL_SHARDS`; null when unset (the execution row's `shards` is used). */
    readonly totalShards: number | null;
    readonly executionId: string;
    /** `FORM_SENDER_TARGETING_ID`; null when unset (the execution row's `targeting_id` is used). */
    readonly targetingId: string | null;
    readonly clientConfigUrl: string;
    /**
     * Supabase URL and key. main.ts reads them from Secrets Manager (src/secrets.ts) and hands runJob an in-memory
     * copy of the environment holding them; they are never in the process environment.
     */
    readonly supabaseUrl: string;
    readonly supabaseKey: string;
    /** `FORM_SENDER_WORKERS` (`workers_per_workflow`), 1..16. @default 7 (the dispatcher's default, README "Runner density") */
    readonly workers: number;
    /** `FORM_SENDER_JOB_VCPUS` / `FORM_SENDER_JOB_MEMORY_MIB`: the job's size as submitted; null when unset. */
    readonly jobVcpus: number | null;
    readonly jobMemoryMib: number | null;
    /** `FORM_SENDER_TEST_MODE`; null when unset (the execution row's `test_mode` is used). */
    readonly testMode: boolean | null;
    /** `FORM_SENDER_SESSION_MAX_HOURS`. @default 8 */
    readonly sessionMaxHours: number;
    /** `FORM_SENDER_SEND_END_TIME` (JST HH:MM); else client_config targeting.send_end_time; else 18:00. */
    readonly sendEndTime: string | null;
    /** Forms a browser context handles before it is replaced. @default 20 */
    readonly recycleEvery: number;
    /** Hard limit for one form, navigation to outcome. @default 90 s */
    readonly formTimeoutMs: number;
    /** How long a claimed queue item stays ours without a result. @default 600 s */
    readonly leaseSeconds: number;
    /** Time in-flight forms get after SIGTERM; stays below Batch's 30 s stop timeout. @default 20 s */
    readonly sigtermGraceMs: number;
    /** Deadline for fetching the client config, retries included. @default 120 s */
    readonly configFetchDeadlineMs: number;
    readonly environment: string;
}

export class SettingsError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "SettingsError";
    }
}

const HHMM = /^([01]\d|2[0-3]):[0-5]\d$/;

function int(env: NodeJS.ProcessEnv, name: string, dflt: number | null, min: number, max: number, fix: string): number {
    const raw = env[name];
    if (raw === undefined || raw.trim() === "") {
        if (dflt === null) {
            throw new SettingsError(`${name} is not set; ${fix}`);
        }
        return dflt;
    }
    const v = Number(raw);
    if (!Number.isInteger(v) || v < min || v > max) {
        throw new SettingsError(`${name} must be an integer from ${min} to ${max}, got "${raw}"; ${fix}`);
    }
    return v;
}

function num(env: NodeJS.ProcessEnv, name: string, dflt: number, min: number, max: number, fix: string): number {
    const raw = env[name];
    if (raw === undefined || raw.trim() === "") {
        return dflt;
    }
    const v = Number(raw);
    if (!Number.isFinite(v) || v < min || v > max) {
        throw new SettingsError(`${name} must be a number from ${min} to ${max}, got "${raw}"; ${fix}`);
    }
    return v;
}

function required(env: NodeJS.ProcessEnv, name: string, fix: string): string {
    const v = env[name]?.trim();
    if (!v) {
        throw new SettingsError(`${name} is not set; ${fix}`);
    }
    return v;
}

function bool(env: NodeJS.ProcessEnv, name: string): boolean | null {
    const raw = (env[name] ?? "").trim().toLowerCase();
    if (raw === "") {
        return null;
    }
    if (raw === "false" || raw === "0" || raw === "no") {
        return false;
    }
    if (raw === "true" || raw === "1" || raw === "yes") {
        return true;
    }
    throw new SettingsError(
        `${name} must be true or false, got "${env[name]}"; use "true" to fill forms without submitting`,
    );
}

/**
 * The shards (1-based, as claim_send_queue_items numbers them) one run claims from. With as
 * many runs as shards each run owns one; with fewer runs, run r takes every shard s where
 * (s - 1) % runs == r - 1, so none is orphaned; with more runs, several runs share a shard
 * (claims use SKIP LOCKED, so they never get the same item).
 */
export function shardsForRun(runIndex: number, runTotal: number, totalShards: number): number[] {
    if (totalShards >= runTotal) {
        const out: number[] = [];
        for (let s = runIndex; s <= totalShards; s += runTotal) {
            out.push(s);
        }
        return out;
    }
    return [((runIndex - 1) % totalShards) + 1];
}

export function readSettings(env: NodeJS.ProcessEnv): RunnerSettings {
    const arrayRaw = env.AWS_BATCH_JOB_ARRAY_INDEX;
    const arrayIndex =
        arrayRaw === undefined || arrayRaw === ""
            ? null
            : int(env, "AWS_BATCH_JOB_ARRAY_INDEX", null, 0, 9999, "Batch sets it for array jobs only");
    const runIndex = arrayIndex === null ? 1 : arrayIndex + 1;
    const arraySize = env.FORM_SENDER_RUN_TOTAL?.trim()
        ? int(env, "FORM_SENDER_RUN_TOTAL", null, 1, 10000, "it is the array size (run_total)")
        : null;
    if (arraySize !== null && runIndex > arraySize) {
        throw new SettingsError(
            `AWS_BATCH_JOB_ARRAY_INDEX ${arrayIndex} is outside FORM_SENDER_RUN_TOTAL ${arraySize}; ` +
                "the array size and run_total must agree",
        );
    }
    const totalShards = env.FORM_SENDER_TOTAL_SHARDS?.trim()
        ? int(
              env,
              "FORM_SENDER_TOTAL_SHARDS",
              null,
              1,
              10000,
              "set it to the number of shards the queue was split into",
          )
        : null;
    const configUrl = required(
        env,
        "FORM_SENDER_CLIENT_CONFIG_URL",
        "the dispatcher passes the s3:// URI (or an https:// presigned URL) of the client config",
    );
    if (!/^(s3:\/\/[^/]+\/.+|https:\/\/.+)$/.test(configUrl)) {
        throw new SettingsError(
            "FORM_SENDER_CLIENT_CONFIG_URL must be s3://<bucket>/<key> or an https:// URL, " +
                `got "${configUrl.replace(/\?.*$/, "?…")}"`,
        );
    }
    const sendEnd = env.FORM_SENDER_SEND_END_TIME?.trim() || null;
    if (sendEnd !== null && !HHMM.test(sendEnd)) {
        throw new SettingsError(`FORM_SENDER_SEND_END_TIME must be HH:MM (JST), got "${sendEnd}"; e.g. 18:00`);
    }
    return {
        runIndex,
        arrayIndex,
        arraySize,
        attempt: int(env, "AWS_BATCH_JOB_ATTEMPT", 1, 1, 100, "Batch sets it; unset it when running by hand"),
        jobId: env.AWS_BATCH_JOB_ID?.trim() || `local-${process.pid}`,
        totalShards,
        executionId: required(
            env,
            "FORM_SENDER_EXECUTION_ID",
            "the dispatcher passes the job_executions id it created",
        ),
        targetingId: env.FORM_SENDER_TARGETING_ID?.trim() || null,
        clientConfigUrl: configUrl,
        supabaseUrl: required(
            env,
            "SUPABASE_URL",
            "main.ts reads it from the Secrets Manager secret SUPABASE_URL_SECRET_ARN names (src/secrets.ts)",
        ),
        supabaseKey: required(
            env,
            "SUPABASE_SERVICE_ROLE_KEY",
            "main.ts reads it from the Secrets Manager secret SUPABASE_KEY_SECRET_ARN names (src/secrets.ts)",
        ),
        workers: int(env, "FORM_SENDER_WORKERS", 7, 1, 16, "workers_per_workflow is 1..16"),
        jobVcpus: env.FORM_SENDER_JOB_VCPUS?.trim()
            ? int(env, "FORM_SENDER_JOB_VCPUS", null, 1, 192, "the dispatcher passes the job's vCPU count")
            : null,
        jobMemoryMib: env.FORM_SENDER_JOB_MEMORY_MIB?.trim()
            ? int(env, "FORM_SENDER_JOB_MEMORY_MIB", null, 4, 786432, "the dispatcher passes the job's memory in MiB")
            : null,
        testMode: bool(env, "FORM_SENDER_TEST_MODE"),
        sessionMaxHours: num(env, "FORM_SENDER_SESSION_MAX_HOURS", 8, 0.0001, 72, "session_max_hours is in hours"),
        sendEndTime: sendEnd,
        recycleEvery: int(
            env,
            "FORM_SENDER_RECYCLE_EVERY",
            20,
            1,
            1000,
            "forms per browser context before it is replaced",
        ),
        formTimeoutMs: num(env, "FORM_SENDER_FORM_TIMEOUT_SECONDS", 90, 5, 600, "seconds one form may take") * 1000,
        leaseSeconds: int(env, "FORM_SENDER_LEASE_SECONDS", 600, 30, 86400, "seconds a claimed item stays leased"),
        sigtermGraceMs:
            num(env, "FORM_SENDER_SIGTERM_GRACE_SECONDS", 20, 1, 25, "keep it below Batch's 30 s stop timeout") * 1000,
        configFetchDeadlineMs:
            num(
                env,
                "FORM_SENDER_CONFIG_FETCH_DEADLINE_SECONDS",
                120,
                1,
                600,
                "seconds to keep retrying the client config fetch",
            ) * 1000,
        environment: env.FORM_SENDER_ENV?.trim() || "local",
    };
}

/**
 * Milliseconds from `now` until HH:MM in Japan (UTC+9, no DST). A time already passed today
 * means the window is closed: 0.
 */
export function msUntilJst(hhmm: string, now: Date): number {
    const [h, m] = hhmm.split(":").map(Number);
    const jstNow = new Date(now.getTime() + 9 * 3600_000);
    const endJst = Date.UTC(jstNow.getUTCFullYear(), jstNow.getUTCMonth(), jstNow.getUTCDate(), h, m) - 9 * 3600_000;
    return Math.max(0, endJst - now.getTime());
}
