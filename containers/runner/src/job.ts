/**
 * The Batch job: read the environment, fetch and validate the client config, then fill forms
 * from this run's shards of the send queue with a worker pool until the queue ends, the
 * sending window closes (send_end_time, JST) or the session limit is reached. On SIGTERM (Spot
 * reclaim, job timeout) it stops claiming, lets in-flight forms finish within a grace period,
 * releases its leases, calls mark_job_failed_once exactly once and exits 143.
 *
 * Nothing is sent twice: right before every click that may send, the item's send intent is
 * recorded (record_send_intent); an item with an intent is never claimed or released again, so
 * it ends with its recorded result, or, when this process dies or cannot record, as "unknown"
 * (batch-events marks it once Batch reports the attempt ended). Results are recorded with
 * retries; the ones Supabase did not take are tried again before the job ends.
 */
import * as fs from "fs";
import type { S3Client } from "@aws-sdk/client-s3";
import type { Browser } from "playwright-core";
import type { ClientConfig } from "../../../functions/formSender/clientConfig";
import { MEMORY_WARNING_SHARE } from "../../../functions/formSender/sizing";
import { ClientConfigError, loadClientConfig } from "./clientConfigSource";
import { msUntilJst, readSettings, SettingsError, shardsForRun, type RunnerSettings } from "./env";
import { fillContactForm, SubmitAbandoned } from "./fill";
import { makeLogger, type Logger } from "./log";
import { WorkerPool, type Settlement, type WorkItem } from "./pool";
import { buildProfile, type FormProfile } from "./profile";
import { QueueApi, RpcError, makeRpc, type ExecutionRow, type QueueItem, type RpcCall } from "./queue";
import type { FillStatus } from "./types";

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
/** SIGTERM path: everything after the grace period must fit in Batch's 30 s stop timeout. */
const SHUTDOWN_RPC_DEADLINE_MS = 3000;
/** How long one result is retried while the job runs; what is left gets one more pass at the end. */
const RESULT_RECORD_DEADLINE_MS = 15_000;
/** The end-of-job pass over results not yet recorded (before SIGTERM; after it, the shutdown deadline). */
const RESULT_FLUSH_DEADLINE_MS = 10_000;
/** How long a send intent is retried; an intent not recorded means no click. */
const SEND_INTENT_DEADLINE_MS = 10_000;

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
    /** Reads a small file of /sys (instance type, cgroup memory); undefined when absent. @default fs.readFileSync */
    readonly readSystemFile?: ReadSystemFile;
}

export type ReadSystemFile = (path: string) => string | undefined;

const readSystemFileSync: ReadSystemFile = (path) => {
    try {
        return fs.readFileSync(path, "utf8").trim();
    } catch {
        return undefined;
    }
};

/** How long each run report may retry: it is bookkeeping, never worth holding the job. */
const RUN_REPORT_DEADLINE_MS = 5000;
const MIB = 1024 * 1024;
const INSTANCE_TYPE = /^[a-z][a-z0-9-]*\d[a-z0-9-]*\.[a-z0-9]+$/;

/** A cgroup memory file in MiB; undefined when absent or "max" (no limit). */
function cgroupMib(read: ReadSystemFile, v2: string, v1: string): number | undefined {
    const raw = read(v2) ?? read(v1);
    if (raw === undefined || raw === "max" || !/^\d+$/.test(raw)) return undefined;
    const bytes = Number(raw);
    // cgroup v1 reports "no limit" as a huge page-aligned number.
    return bytes >= 2 ** 62 ? undefined : Math.round(bytes / MIB);
}

/**
 * What the host says about this container at start: the instance type from the DMI product name (EC2's Nitro
 * instances name their type there; null elsewhere, e.g. in tests or on a laptop) and the memory limit the kernel
 * enforces on the container's cgroup (v2 `memory.max`, v1 `memory.limit_in_bytes`: Linux
 * Documentation/admin-guide/cgroup-v2.rst and cgroup-v1/memory.rst), which Batch sets from the job's MEMORY.
 */
export function hostFacts(read: ReadSystemFile): { instance_type: string | null; memory_limit_mib: number | null } {
    const product = read("/sys/devices/virtual/dmi/id/product_name");
    return {
        instance_type: product !== undefined && INSTANCE_TYPE.test(product) ? product : null,
        memory_limit_mib:
            cgroupMib(read, "/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes") ?? null,
    };
}

/**
 * The container's peak memory (cgroup v2 `memory.peak`, Linux 5.19+; v1 `memory.max_usage_in_bytes`): every worker,
 * Chromium and the runner together, since the job's memory limit is shared. `memory_warning` when the peak reached
 * MEMORY_WARNING_SHARE (90 %) of the limit: the sizing margin is gone and the kernel's OOM kill is near.
 */
export function memoryReport(
    read: ReadSystemFile,
    limitMib: number | null,
): { peak_memory_mib: number; memory_share: number | null; memory_warning: boolean } | undefined {
    const peak = cgroupMib(read, "/sys/fs/cgroup/memory.peak", "/sys/fs/cgroup/memory/memory.max_usage_in_bytes");
    if (peak === undefined) return undefined;
    const share = limitMib ? Math.round((peak / limitMib) * 1000) / 1000 : null;
    return {
        peak_memory_mib: peak,
        memory_share: share,
        memory_warning: share !== null && share >= MEMORY_WARNING_SHARE,
    };
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

/** The line logged for each Supabase call the runner retries; the supabase-errors-runner metric filter counts it. */
export const RPC_RETRY_MESSAGE = "Supabase call failed; retrying";

export async function runJob(deps: JobDeps): Promise<number> {
    const now = deps.now ?? Date.now;
    const startedAt = now();
    const settings = readSettingsOrExit(deps);
    if (typeof settings === "number") {
        return settings;
    }
    const log = makeJobLogger(deps.write, settings);
    // SIGTERM can come at any moment, even while the config is still being fetched.
    const sigterm = new Sigterm(settings.sigtermGraceMs, log, now);
    deps.onSigterm(() => sigterm.receive());
    const queue = openQueue(deps, settings, log);

    const plan = await startAttempt(deps.env, settings, queue, log);
    if (typeof plan === "number") {
        return plan;
    }
    const read = deps.readSystemFile ?? readSystemFileSync;
    const facts = hostFacts(read);
    await reportRun(queue, log, {
        ...facts,
        vcpus: settings.jobVcpus,
        memory_mib: settings.jobMemoryMib,
        workers: settings.workers,
    });
    const limitMib = facts.memory_limit_mib ?? settings.jobMemoryMib;
    const end = new AttemptEnd(queue, log, sigterm, now, startedAt, () => memoryReport(read, limitMib));
    const config = await loadConfigOrFinish(deps, settings, log, sigterm, end);
    if (typeof config === "number") {
        return config;
    }
    log.addSensitive({ companyNames: [config.client.company_name, config.client.company_name_en] });
    const profile = buildProfile(config);

    const sending = sendingWindow(settings, config, sigterm, now, startedAt);
    if (sending.checkStop() !== null && !sigterm.received) {
        log.info("outside the sending window; nothing to do", { send_end_time_jst: sending.sendEnd });
        return end.finish("succeeded", `send_end_time ${sending.sendEnd} JST has passed`, EXIT.OK);
    }
    const browsers = new BrowserHolder(() => deps.launchBrowser());
    if (!(await startBrowser(browsers, queue, log))) {
        return end.finish("failed", "Chromium did not start", EXIT.ERROR);
    }

    const source = new ClaimSource(
        queue,
        plan.targetingId,
        plan.shards,
        plan.totalShards,
        settings.leaseSeconds,
        sending.checkStop,
        log,
    );
    const results = new ResultRecorder(queue, log, sigterm);
    const poolError = await runWorkerPool({ settings, log, now, sigterm, source, browsers, profile, plan, results });
    await results.flush();
    await releaseLeases(queue, source, sigterm, log);
    await browsers.close();

    if (sigterm.received) {
        return end.afterSigterm("SIGTERM (Spot reclaim or job timeout)");
    }
    if (poolError) {
        return end.finish("failed", `worker pool failed: ${(poolError as Error).message}`, EXIT.ERROR);
    }
    const reason = source.stopReason ?? "queue_end";
    const failures = results.unrecorded;
    return end.finish("succeeded", failures > 0 ? `${reason}; ${failures} results not recorded` : reason, EXIT.OK);
}

/** The runner settings from the environment, or the exit status when they are invalid. */
function readSettingsOrExit(deps: JobDeps): RunnerSettings | number {
    try {
        return readSettings(deps.env);
    } catch (err) {
        makeLogger(deps.write).error("runner settings are invalid", { error: (err as Error).message });
        return err instanceof SettingsError ? EXIT.BAD_SETTINGS : EXIT.ERROR;
    }
}

function makeJobLogger(write: JobDeps["write"], settings: RunnerSettings): Logger {
    return makeLogger(
        write,
        { run_index: settings.runIndex, attempt: settings.attempt, job_id: settings.jobId },
        { secrets: [settings.supabaseUrl, settings.supabaseKey] },
    );
}

/** SIGTERM (Spot reclaim, job timeout): when it came, and what it sets off. */
class Sigterm {
    private at: number | null = null;
    private onReceived: () => void = () => undefined;

    constructor(
        private readonly graceMs: number,
        private readonly log: Logger,
        private readonly now: () => number,
    ) {}

    get received(): boolean {
        return this.at !== null;
    }

    /** Deadline for the RPCs still to come: bounded once SIGTERM came, the default before. */
    get rpcDeadlineMs(): number | undefined {
        return this.at !== null ? SHUTDOWN_RPC_DEADLINE_MS : undefined;
    }

    /** The signal handler; a repeated signal changes nothing. */
    receive(): void {
        if (this.at !== null) {
            return;
        }
        this.at = this.now();
        this.log.warn("SIGTERM received: no new claims, in-flight forms get the grace period", {
            grace_ms: this.graceMs,
        });
        this.onReceived();
    }

    /** Runs `start` when SIGTERM comes, or at once if it already has. */
    whenReceived(start: () => void): void {
        this.onReceived = start;
        if (this.at !== null) start();
    }
}

function openQueue(deps: JobDeps, settings: RunnerSettings, log: Logger): QueueApi {
    const workerId = `${settings.jobId}#${settings.attempt}`;
    return new QueueApi(
        deps.rpc ?? makeRpc(settings.supabaseUrl, settings.supabaseKey, deps.fetch),
        { executionId: settings.executionId, runIndex: settings.runIndex, attempt: settings.attempt, workerId },
        {
            onRetry: (fn, err, attempt) => log.warn(RPC_RETRY_MESSAGE, { fn, attempt, error: (err as Error).message }),
        },
    );
}

/** What this run works on: the job execution's values, each overridable by a setting. */
interface AttemptPlan {
    readonly arraySize: number;
    readonly totalShards: number;
    readonly testMode: boolean;
    readonly targetingId: string;
    /** This run's shards of the send queue. */
    readonly shards: number[];
}

function planAttempt(settings: RunnerSettings, execution: ExecutionRow): Omit<AttemptPlan, "shards"> {
    return {
        arraySize: settings.arraySize ?? execution.array_size ?? execution.run_total,
        totalShards: settings.totalShards ?? execution.shards,
        testMode: settings.testMode ?? execution.test_mode,
        targetingId: settings.targetingId ?? execution.targeting_id,
    };
}

/**
 * Reads the job execution, works out this run's shards and records the attempt start; on failure
 * returns the exit status instead (nothing is recorded then).
 */
async function startAttempt(
    env: NodeJS.ProcessEnv,
    settings: RunnerSettings,
    queue: QueueApi,
    log: Logger,
): Promise<AttemptPlan | number> {
    let execution;
    try {
        execution = await queue.getExecution();
    } catch (err) {
        log.error("Supabase is unreachable", { error: (err as Error).message });
        return err instanceof RpcError && !err.transient ? EXIT.BAD_SETTINGS : EXIT.SUPABASE_UNAVAILABLE;
    }
    if (!execution) {
        log.error(
            `job execution ${settings.executionId} does not exist; ` +
                "FORM_SENDER_EXECUTION_ID must be the id the dispatcher created",
        );
        return EXIT.BAD_SETTINGS;
    }
    const { arraySize, totalShards, testMode, targetingId } = planAttempt(settings, execution);
    if (settings.runIndex > arraySize) {
        log.error(
            `run index ${settings.runIndex} is beyond the array size ${arraySize}; ` +
                "the array size and run_total must agree",
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
        compute_environment: env.AWS_BATCH_CE_NAME ?? null,
        job_queue: env.AWS_BATCH_JQ_NAME ?? null,
    };
    log.info("runner starting", meta);
    try {
        await queue.startAttempt(meta);
    } catch (err) {
        log.error("could not record the attempt start", { error: (err as Error).message });
        return EXIT.SUPABASE_UNAVAILABLE;
    }
    return { arraySize, totalShards, testMode, targetingId, shards };
}

/** Records what the attempt ran with; a failure is logged and never stops the job. */
async function reportRun(queue: QueueApi, log: Logger, ran: Record<string, unknown>): Promise<void> {
    try {
        await queue.recordRun(ran, RUN_REPORT_DEADLINE_MS);
    } catch (err) {
        log.warn("could not record what the attempt ran with", { error: (err as Error).message });
    }
}

/** Records how a started attempt ended; each method returns the exit status. */
class AttemptEnd {
    constructor(
        private readonly queue: QueueApi,
        private readonly log: Logger,
        private readonly sigterm: Sigterm,
        private readonly now: () => number,
        private readonly startedAt: number,
        private readonly memory: () => ReturnType<typeof memoryReport> = () => undefined,
    ) {}

    async finish(status: "succeeded" | "failed", reason: string, code: number): Promise<number> {
        // Not after SIGTERM: the stop timeout leaves time for the attempt's end only.
        const memory = this.sigterm.received ? undefined : this.memory();
        if (memory) {
            if (memory.memory_warning)
                this.log.warn("memory close to the job's limit", {
                    peak_memory_mib: memory.peak_memory_mib,
                    memory_share: memory.memory_share,
                });
            await reportRun(this.queue, this.log, memory);
        }
        try {
            await this.queue.finishAttempt(status, reason, code, this.sigterm.rpcDeadlineMs);
        } catch (err) {
            this.log.error("could not record the attempt end", { error: (err as Error).message });
        }
        this.log.info("runner finished", {
            status,
            reason,
            exit_code: code,
            seconds: Math.round((this.now() - this.startedAt) / 1000),
        });
        return code;
    }

    /** After SIGTERM: mark_job_failed_once (exactly once), then the attempt end; exits 143. */
    async afterSigterm(reason: string): Promise<number> {
        try {
            const marked = await this.queue.markFailedOnce(reason, SHUTDOWN_RPC_DEADLINE_MS);
            this.log.info("attempt marked failed", { marked, reason });
        } catch (err) {
            this.log.error("mark_job_failed_once failed", { error: (err as Error).message });
        }
        return this.finish("failed", "SIGTERM", EXIT.SIGTERM);
    }
}

/** The validated client config, or (config unusable, or SIGTERM meanwhile) the recorded exit status. */
async function loadConfigOrFinish(
    deps: JobDeps,
    settings: RunnerSettings,
    log: Logger,
    sigterm: Sigterm,
    end: AttemptEnd,
): Promise<ClientConfig | number> {
    try {
        return await loadClientConfig(settings.clientConfigUrl, {
            s3: deps.s3,
            fetch: deps.fetch,
            deadlineMs: settings.configFetchDeadlineMs,
            onRetry: (reason, attempt, delay) =>
                log.warn("client config fetch failed; retrying", { reason, attempt, delay_ms: delay }),
        });
    } catch (err) {
        if (sigterm.received) {
            return end.afterSigterm("SIGTERM while fetching the client config");
        }
        const code = err instanceof ClientConfigError ? err.exitCode : EXIT.ERROR;
        log.error("client config rejected", { error: (err as Error).message, exit_code: code });
        return end.finish("failed", (err as Error).message, code);
    }
}

/** The stop conditions: SIGTERM, the end of the sending window (JST), the session limit. */
function sendingWindow(
    settings: RunnerSettings,
    config: ClientConfig,
    sigterm: Sigterm,
    now: () => number,
    startedAt: number,
): { readonly sendEnd: string; readonly checkStop: () => StopReason | null } {
    const sendEnd = settings.sendEndTime ?? config.targeting?.send_end_time ?? DEFAULT_SEND_END_TIME;
    const sendEndAt = now() + msUntilJst(sendEnd, new Date(now()));
    const sessionEndAt = startedAt + settings.sessionMaxHours * 3600_000;
    const checkStop = (): StopReason | null => {
        if (sigterm.received) return "sigterm";
        if (now() >= sendEndAt) return "send_end_time";
        if (now() >= sessionEndAt) return "session_max_hours";
        return null;
    };
    return { sendEnd, checkStop };
}

/** One Chromium for the job, launched again when it died. */
class BrowserHolder {
    private browser: Browser | null = null;
    private launching: Promise<Browser> | null = null;

    constructor(private readonly launch: () => Promise<Browser>) {}

    /** The connected browser; concurrent callers share one launch. */
    async get(): Promise<Browser> {
        if (this.browser?.isConnected()) return this.browser;
        this.launching ??= this.launch().then((b) => {
            this.browser = b;
            this.launching = null;
            return b;
        });
        return this.launching;
    }

    async close(): Promise<void> {
        await this.browser?.close().catch(() => undefined);
    }
}

/** playwright-core's own version (its package.json is exported). */
const PLAYWRIGHT_VERSION = (
    JSON.parse(fs.readFileSync(require.resolve("playwright-core/package.json"), "utf8")) as { version: string }
).version;

/** Launches Chromium before claiming anything; when it cannot start, releases this attempt's leases. */
async function startBrowser(browsers: BrowserHolder, queue: QueueApi, log: Logger): Promise<boolean> {
    try {
        const browser = await browsers.get();
        // Which Chromium the job drives and with which Playwright: the image pins Debian's chromium, and a
        // Playwright release expects a given Chromium, so both belong in the log of every attempt.
        log.info("browser started", { chromium: browser.version(), playwright: PLAYWRIGHT_VERSION });
        return true;
    } catch (err) {
        log.error("Chromium did not start", { error: (err as Error).message.split("\n")[0] });
        await queue.release(null).catch(() => 0);
        return false;
    }
}

/**
 * Settles finished forms: records results (with retries), releases the leases of abandoned
 * (unsent) forms, and records the send intent before each click that may send.
 */
class ResultRecorder {
    /** Items whose send intent is recorded: never released, they end with a result or as unknown. */
    private readonly intents = new Set<number>();
    /** Results Supabase did not take yet, tried again by flush(). */
    private readonly pending = new Map<number, { readonly status: FillStatus; readonly detail: string }>();

    constructor(
        private readonly queue: QueueApi,
        private readonly log: Logger,
        private readonly sigterm: Sigterm,
    ) {}

    /** Results still not recorded (after flush: what batch-events will mark unknown, or retry later). */
    get unrecorded(): number {
        return this.pending.size;
    }

    /**
     * The durable send intent for `itemId`, awaited right before a click that may send. Any failure
     * throws SubmitAbandoned: the form is abandoned before the click, nothing was sent.
     */
    async recordIntent(itemId: number): Promise<void> {
        if (this.intents.has(itemId)) return;
        try {
            await this.queue.recordIntent(itemId, this.sigterm.rpcDeadlineMs ?? SEND_INTENT_DEADLINE_MS);
        } catch (err) {
            this.log.warn("send intent not recorded; the form is abandoned before the click", {
                item: itemId,
                error: (err as Error).message,
            });
            throw new SubmitAbandoned(`send intent not recorded: ${(err as Error).message}`);
        }
        this.intents.add(itemId);
    }

    async settle(item: WorkItem, s: Settlement): Promise<void> {
        if (s.kind === "abandoned") {
            if (this.intents.has(item.id)) {
                // A confirm click may already have sent it: the item stays with its intent and ends unknown.
                this.log.error("send outcome unknown: form abandoned after its send intent", {
                    item: item.id,
                    reason: s.reason,
                });
                return;
            }
            this.log.info("form abandoned; lease released", { item: item.id, reason: s.reason });
            await this.queue
                .release([item.id], this.sigterm.rpcDeadlineMs)
                .catch((err) =>
                    this.log.error("lease release failed", { item: item.id, error: (err as Error).message }),
                );
            return;
        }
        const r = s.result;
        const detail = r.submitted && r.status !== "sent" ? `submitted; ${r.detail}` : r.detail;
        this.log.info("form done", {
            item: item.id,
            company: item.companyName,
            status: r.status,
            submitted: r.submitted,
            detail,
            url: item.url,
        });
        await this.record(item.id, r.status, detail, this.sigterm.rpcDeadlineMs ?? RESULT_RECORD_DEADLINE_MS);
    }

    private async record(itemId: number, status: FillStatus, detail: string, deadlineMs: number): Promise<boolean> {
        try {
            const rec = await this.queue.record(itemId, status, detail, deadlineMs);
            if (!rec.recorded)
                this.log.warn("result already recorded for this item", { item: itemId, status: rec.status });
            this.pending.delete(itemId);
            return true;
        } catch (err) {
            this.pending.set(itemId, { status, detail });
            this.log.error("could not record the result; it is tried again before the job ends", {
                item: itemId,
                error: (err as Error).message,
            });
            return false;
        }
    }

    /** One more pass over the results not recorded, within the end-of-job budget. */
    async flush(): Promise<void> {
        if (this.pending.size === 0) return;
        const deadline = Date.now() + (this.sigterm.rpcDeadlineMs ?? RESULT_FLUSH_DEADLINE_MS);
        for (const [itemId, r] of [...this.pending]) {
            await this.record(itemId, r.status, r.detail, Math.max(1, deadline - Date.now()));
        }
        for (const itemId of this.pending.keys()) {
            if (this.intents.has(itemId)) {
                // Sent or not, it is never sent again: batch-events ends it "unknown" after this attempt.
                this.log.error("send outcome unknown: result not recorded after the send intent", { item: itemId });
            } else {
                this.log.warn("result not recorded; nothing was sent, so the item goes back to the queue", {
                    item: itemId,
                });
            }
        }
    }
}

/** The next claimed item as pool work, logged as started. */
async function nextWorkItem(source: ClaimSource, log: Logger): Promise<WorkItem | null> {
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
}

interface PoolRun {
    readonly settings: RunnerSettings;
    readonly log: Logger;
    readonly now: () => number;
    readonly sigterm: Sigterm;
    readonly source: ClaimSource;
    readonly browsers: BrowserHolder;
    readonly profile: FormProfile;
    readonly plan: AttemptPlan;
    readonly results: ResultRecorder;
}

/**
 * Fills forms until the claim source runs dry. After SIGTERM, forms get the grace period, then the
 * pool closes what is still open. Resolves to the pool's error (null when it ended normally).
 */
async function runWorkerPool(run: PoolRun): Promise<unknown> {
    const { settings, log, now, sigterm, source, browsers, profile, plan, results } = run;
    const submitMarginMs = Math.min(8000, settings.sigtermGraceMs / 2);
    let graceDeadline = Infinity;
    const pool: WorkerPool = new WorkerPool({
        workers: settings.workers,
        recycleEvery: settings.recycleEvery,
        formTimeoutMs: settings.formTimeoutMs,
        browser: () => browsers.get(),
        log,
        // After SIGTERM a form may still press submit only while enough grace is left to see the answer.
        mayClickSubmit: () => !sigterm.received || graceDeadline - now() > submitMarginMs,
        next: () => nextWorkItem(source, log),
        process: (page, item, hooks) =>
            fillContactForm(page, item.url as string, profile, {
                dryRun: plan.testMode,
                mayClickSubmit: hooks.mayClickSubmit,
                onSubmitted: hooks.onSubmitted,
                beforeSubmitClick: () => results.recordIntent(item.id),
            }),
        settle: (item, s) => results.settle(item, s),
    });
    sigterm.whenReceived(() => {
        graceDeadline = now() + settings.sigtermGraceMs;
        const timer = setTimeout(() => {
            log.warn("grace period over; closing forms still open", { in_flight: pool.inFlightCount });
            pool.forceStop();
        }, settings.sigtermGraceMs);
        timer.unref();
    });

    try {
        const stats = await pool.run();
        log.info("worker pool done", { ...stats, stop_reason: source.stopReason });
        return null;
    } catch (err) {
        log.error("worker pool failed", { error: (err as Error).message });
        return err;
    }
}

/** Returns the claimed items no worker started, then anything else this attempt still leases. */
async function releaseLeases(queue: QueueApi, source: ClaimSource, sigterm: Sigterm, log: Logger): Promise<void> {
    const unstarted = source.drain().map((i) => i.id);
    const shutdownDeadline = sigterm.rpcDeadlineMs;
    if (unstarted.length > 0) {
        await queue
            .release(unstarted, shutdownDeadline)
            .catch((err) => log.error("lease release failed", { error: (err as Error).message }));
    }
    const leftover = await queue.release(null, shutdownDeadline).catch(() => 0);
    log.info("leases released", { unstarted: unstarted.length, leftover });
}
