/**
 * The Batch job: read the environment, fetch and validate the client config, then fill forms
 * from this run's shards of the send queue with a worker pool until the queue ends, the
 * sending window closes (send_end_time, JST) or the session limit is reached. On SIGTERM (Spot
 * reclaim, job timeout) it stops claiming, lets in-flight forms finish within a grace period,
 * releases its leases, calls mark_job_failed_once exactly once and exits 143.
 */
import type { S3Client } from "@aws-sdk/client-s3";
import type { Browser } from "playwright-core";
import { ClientConfigError, loadClientConfig } from "./clientConfigSource";
import { msUntilJst, readSettings, SettingsError, shardsForRun, type RunnerSettings } from "./env";
import { fillContactForm } from "./fill";
import { makeLogger, type Logger } from "./log";
import { WorkerPool, type Settlement, type WorkItem } from "./pool";
import { buildProfile } from "./profile";
import { QueueApi, RpcError, makeRpc, type QueueItem, type RpcCall } from "./queue";

/** Exit statuses (README "Runner exit codes"). */
export const EXIT = {
    OK: 0,
    ERROR: 1,
    BAD_SETTINGS: 64,
    CONFIG_INVALID: 65,
    CONFIG_UNAVAILABLE: 69,
    SUPABASE_UNAVAILABLE: 75,
    SIGTERM: 143,
} as const;

const DEFAULT_SEND_END_TIME = "18:00";

export interface JobDeps {
    readonly env: NodeJS.ProcessEnv;
    /** One log line (already sanitized) to stdout. */
    readonly write: (line: string) => void;
    readonly s3: Pick<S3Client, "send">;
    readonly fetch: typeof fetch;
    readonly launchBrowser: () => Promise<Browser>;
    /** Registers the SIGTERM handler (main.ts wires process.on). */
    readonly onSigterm: (handler: () => void) => void;
    /** Supabase RPC transport; defaults to supabase-js against SUPABASE_URL. */
    readonly rpc?: RpcCall;
    readonly now?: () => number;
}

type StopReason = "queue_end" | "send_end_time" | "session_max_hours" | "sigterm";

/** Claims work for the pool: round-robin over this run's shards, batched for waiting workers. */
class ClaimSource {
    private readonly buffer: QueueItem[] = [];
    private readonly exhausted = new Set<number>();
    private claiming: Promise<void> | null = null;
    private waiting = 0;
    private cursor = 0;
    stopReason: StopReason | null = null;

    constructor(
        private readonly queue: QueueApi,
        private readonly targetingId: string,
        private readonly shards: readonly number[],
        private readonly totalShards: number,
        private readonly leaseSeconds: number,
        private readonly checkStop: () => StopReason | null,
        private readonly log: Logger,
    ) {}

    async next(): Promise<QueueItem | null> {
        this.waiting++;
        try {
            for (;;) {
                const stop = this.checkStop();
                if (stop) {
                    this.stopReason ??= stop;
                    return null;
                }
                const item = this.buffer.shift();
                if (item) {
                    return item;
                }
                if (this.exhausted.size === this.shards.length) {
                    this.stopReason ??= "queue_end";
                    return null;
                }
                this.claiming ??= this.claimMore().finally(() => (this.claiming = null));
                await this.claiming;
            }
        } finally {
            this.waiting--;
        }
    }

    private async claimMore(): Promise<void> {
        for (let tried = 0; tried < this.shards.length; tried++) {
            const shard = this.shards[this.cursor++ % this.shards.length];
            if (this.exhausted.has(shard)) {
                continue;
            }
            const items = await this.queue.claim(
                this.targetingId,
                shard,
                this.totalShards,
                Math.max(1, this.waiting),
                this.leaseSeconds,
            );
            if (items.length === 0) {
                this.exhausted.add(shard);
                this.log.info("shard drained", { shard });
                continue;
            }
            this.buffer.push(...items);
            return;
        }
    }

    /** Claimed items no worker has started: released on shutdown. */
    drain(): QueueItem[] {
        return this.buffer.splice(0);
    }
}

export async function runJob(deps: JobDeps): Promise<number> {
    const now = deps.now ?? Date.now;
    const startedAt = now();
    let settings: RunnerSettings;
    try {
        settings = readSettings(deps.env);
    } catch (err) {
        makeLogger(deps.write).error("runner settings are invalid", { error: (err as Error).message });
        return err instanceof SettingsError ? EXIT.BAD_SETTINGS : EXIT.ERROR;
    }
    const log = makeLogger(
        deps.write,
        { run_index: settings.runIndex, attempt: settings.attempt, job_id: settings.jobId },
        { secrets: [settings.supabaseUrl, settings.supabaseKey] },
    );

    // SIGTERM can come at any moment, even while the config is still being fetched.
    let sigtermAt: number | null = null;
    let onSigterm: () => void = () => undefined;
    deps.onSigterm(() => {
        if (sigtermAt !== null) {
            return;
        }
        sigtermAt = now();
        log.warn("SIGTERM received: no new claims, in-flight forms get the grace period", {
            grace_ms: settings.sigtermGraceMs,
        });
        onSigterm();
    });

    const workerId = `${settings.jobId}#${settings.attempt}`;
    const queue = new QueueApi(
        deps.rpc ?? makeRpc(settings.supabaseUrl, settings.supabaseKey, deps.fetch),
        { executionId: settings.executionId, runIndex: settings.runIndex, attempt: settings.attempt, workerId },
        {
            onRetry: (fn, err, attempt) =>
                log.warn("Supabase call failed; retrying", { fn, attempt, error: (err as Error).message }),
        },
    );
    /** SIGTERM path: everything after the grace period must fit in Batch's 30 s stop timeout. */
    const SHUTDOWN_RPC_DEADLINE_MS = 3000;
    const failOnce = async (reason: string) => {
        try {
            const marked = await queue.markFailedOnce(reason, SHUTDOWN_RPC_DEADLINE_MS);
            log.info("attempt marked failed", { marked, reason });
        } catch (err) {
            log.error("mark_job_failed_once failed", { error: (err as Error).message });
        }
    };

    let execution;
    try {
        execution = await queue.getExecution();
    } catch (err) {
        log.error("Supabase is unreachable", { error: (err as Error).message });
        return err instanceof RpcError && !err.transient ? EXIT.BAD_SETTINGS : EXIT.SUPABASE_UNAVAILABLE;
    }
    if (!execution) {
        log.error(
            `job execution ${settings.executionId} does not exist; FORM_SENDER_EXECUTION_ID must be the id the dispatcher created`,
        );
        return EXIT.BAD_SETTINGS;
    }
    const arraySize = settings.arraySize ?? execution.array_size ?? execution.run_total;
    const totalShards = settings.totalShards ?? execution.shards;
    const testMode = settings.testMode ?? execution.test_mode;
    const targetingId = settings.targetingId ?? execution.targeting_id;
    if (settings.runIndex > arraySize) {
        log.error(
            `run index ${settings.runIndex} is beyond the array size ${arraySize}; the array size and run_total must agree`,
        );
        return EXIT.BAD_SETTINGS;
    }
    const shards = shardsForRun(settings.runIndex, arraySize, totalShards);
    const meta = {
        run_index: settings.runIndex,
        array_index: settings.arrayIndex,
        array_size: arraySize,
        attempt: settings.attempt,
        job_id: settings.jobId,
        shard_ids: shards,
        total_shards: totalShards,
        targeting_id: targetingId,
        workers: settings.workers,
        test_mode: testMode,
        environment: settings.environment,
        compute_environment: deps.env.AWS_BATCH_CE_NAME ?? null,
        job_queue: deps.env.AWS_BATCH_JQ_NAME ?? null,
    };
    log.info("runner starting", meta);
    try {
        await queue.startAttempt(meta);
    } catch (err) {
        log.error("could not record the attempt start", { error: (err as Error).message });
        return EXIT.SUPABASE_UNAVAILABLE;
    }

    const finish = async (status: "succeeded" | "failed", reason: string, code: number): Promise<number> => {
        try {
            await queue.finishAttempt(status, reason, code, sigtermAt !== null ? SHUTDOWN_RPC_DEADLINE_MS : undefined);
        } catch (err) {
            log.error("could not record the attempt end", { error: (err as Error).message });
        }
        log.info("runner finished", {
            status,
            reason,
            exit_code: code,
            seconds: Math.round((now() - startedAt) / 1000),
        });
        return code;
    };

    let config;
    try {
        config = await loadClientConfig(settings.clientConfigUrl, {
            s3: deps.s3,
            fetch: deps.fetch,
            deadlineMs: settings.configFetchDeadlineMs,
            onRetry: (reason, attempt, delay) =>
                log.warn("client config fetch failed; retrying", { reason, attempt, delay_ms: delay }),
        });
    } catch (err) {
        if (sigtermAt !== null) {
            await failOnce("SIGTERM while fetching the client config");
            return finish("failed", "SIGTERM", EXIT.SIGTERM);
        }
        const code = err instanceof ClientConfigError ? err.exitCode : EXIT.ERROR;
        log.error("client config rejected", { error: (err as Error).message, exit_code: code });
        return finish("failed", (err as Error).message, code);
    }
    log.addSensitive({ companyNames: [config.client.company_name, config.client.company_name_en] });
    const profile = buildProfile(config);

    const sendEnd = settings.sendEndTime ?? config.targeting?.send_end_time ?? DEFAULT_SEND_END_TIME;
    const sendEndAt = now() + msUntilJst(sendEnd, new Date(now()));
    const sessionEndAt = startedAt + settings.sessionMaxHours * 3600_000;
    const checkStop = (): StopReason | null => {
        if (sigtermAt !== null) return "sigterm";
        if (now() >= sendEndAt) return "send_end_time";
        if (now() >= sessionEndAt) return "session_max_hours";
        return null;
    };
    if (checkStop() !== null && sigtermAt === null) {
        log.info("outside the sending window; nothing to do", { send_end_time_jst: sendEnd });
        return finish("succeeded", `send_end_time ${sendEnd} JST has passed`, EXIT.OK);
    }

    let browser: Browser | null = null;
    let launching: Promise<Browser> | null = null;
    const getBrowser = async (): Promise<Browser> => {
        if (browser?.isConnected()) return browser;
        launching ??= deps.launchBrowser().then((b) => {
            browser = b;
            launching = null;
            return b;
        });
        return launching;
    };
    try {
        await getBrowser();
    } catch (err) {
        log.error("Chromium did not start", { error: (err as Error).message.split("\n")[0] });
        await queue.release(null).catch(() => 0);
        return finish("failed", "Chromium did not start", EXIT.ERROR);
    }

    const source = new ClaimSource(queue, targetingId, shards, totalShards, settings.leaseSeconds, checkStop, log);
    const submitMarginMs = Math.min(8000, settings.sigtermGraceMs / 2);
    let graceDeadline = Infinity;
    let recordFailures = 0;
    const pool: WorkerPool = new WorkerPool({
        workers: settings.workers,
        recycleEvery: settings.recycleEvery,
        formTimeoutMs: settings.formTimeoutMs,
        browser: getBrowser,
        log,
        // After SIGTERM a form may still press submit only while enough grace is left to see the answer.
        mayClickSubmit: () => sigtermAt === null || graceDeadline - now() > submitMarginMs,
        next: async () => {
            const item = await source.next();
            if (item) {
                log.addSensitive({ companyNames: [item.companyName] });
                log.info("form started", {
                    item: item.id,
                    company: item.companyName,
                    url: item.formUrl,
                    lease_attempts: item.attempts,
                });
            }
            return item ? { id: item.id, url: item.formUrl, companyName: item.companyName } : null;
        },
        process: (page, item, hooks) =>
            fillContactForm(page, item.url as string, profile, {
                dryRun: testMode,
                mayClickSubmit: hooks.mayClickSubmit,
                onSubmitted: hooks.onSubmitted,
            }),
        settle: async (item: WorkItem, s: Settlement) => {
            if (s.kind === "abandoned") {
                log.info("form abandoned; lease released", { item: item.id, reason: s.reason });
                await queue
                    .release([item.id], sigtermAt !== null ? SHUTDOWN_RPC_DEADLINE_MS : undefined)
                    .catch((err) =>
                        log.error("lease release failed", { item: item.id, error: (err as Error).message }),
                    );
                return;
            }
            const r = s.result;
            const detail = r.submitted && r.status !== "sent" ? `submitted; ${r.detail}` : r.detail;
            log.info("form done", {
                item: item.id,
                company: item.companyName,
                status: r.status,
                submitted: r.submitted,
                detail,
                url: item.url,
            });
            try {
                const rec = await queue.record(item.id, r.status, detail);
                if (!rec.recorded)
                    log.warn("result already recorded for this item", { item: item.id, status: rec.status });
            } catch (err) {
                recordFailures++;
                log.error("could not record the result; the lease will expire and the item may be retried", {
                    item: item.id,
                    error: (err as Error).message,
                });
            }
        },
    });
    onSigterm = () => {
        graceDeadline = now() + settings.sigtermGraceMs;
        const timer = setTimeout(() => {
            log.warn("grace period over; closing forms still open", { in_flight: pool.inFlightCount });
            pool.forceStop();
        }, settings.sigtermGraceMs);
        timer.unref();
    };
    if (sigtermAt !== null) onSigterm();

    let poolError: unknown = null;
    try {
        const stats = await pool.run();
        log.info("worker pool done", { ...stats, stop_reason: source.stopReason });
    } catch (err) {
        poolError = err;
        log.error("worker pool failed", { error: (err as Error).message });
    }
    // Claimed but never started, plus anything else still leased by this attempt.
    const unstarted = source.drain().map((i) => i.id);
    const shutdownDeadline = sigtermAt !== null ? SHUTDOWN_RPC_DEADLINE_MS : undefined;
    if (unstarted.length > 0) {
        await queue
            .release(unstarted, shutdownDeadline)
            .catch((err) => log.error("lease release failed", { error: (err as Error).message }));
    }
    const leftover = await queue.release(null, shutdownDeadline).catch(() => 0);
    log.info("leases released", { unstarted: unstarted.length, leftover });
    await (browser as Browser | null)?.close().catch(() => undefined);

    if (sigtermAt !== null) {
        await failOnce("SIGTERM (Spot reclaim or job timeout)");
        return finish("failed", "SIGTERM", EXIT.SIGTERM);
    }
    if (poolError) {
        return finish("failed", `worker pool failed: ${(poolError as Error).message}`, EXIT.ERROR);
    }
    const reason = source.stopReason ?? "queue_end";
    return finish(
        "succeeded",
        recordFailures > 0 ? `${reason}; ${recordFailures} results not recorded` : reason,
        EXIT.OK,
    );
}
