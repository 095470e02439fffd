/**
 * batch-events: consumes EventBridge "Batch Job State Change" events for this stack's queues.
 * Records every child attempt and the execution's final status, deletes the client config after
 * success (keeps it after failure for diagnosis and retries), repairs executions whose
 * mark-submitted was lost, and resubmits a job cancelled for Spot capacity to the on-demand
 * queue once when the execution allows it. Idempotent under duplicate and out-of-order events:
 * attempt rows are upserts, status changes only move forward, the fallback is recorded once.
 */
import {
    SubmitJobCommand,
    SubmitJobCommandInput,
    SubmitJobCommandOutput,
    TerminateJobCommand,
} from "@aws-sdk/client-batch";
import { DeleteObjectCommand } from "@aws-sdk/client-s3";
import type { JobExecutionRow, RpcClient, SendClient } from "./dispatcher";
import { Logger } from "./log";
import { classifyRpcFailure, RpcFailureKind } from "./rpcFailure";

export interface BatchJobDetail {
    jobId: string;
    jobName: string;
    jobQueue: string;
    status: "SUBMITTED" | "PENDING" | "RUNNABLE" | "STARTING" | "RUNNING" | "SUCCEEDED" | "FAILED";
    statusReason?: string;
    /** Set when someone terminated (STARTING/RUNNING) or cancelled (before STARTING) the job. */
    isTerminated?: boolean;
    isCancelled?: boolean;
    jobDefinition?: string;
    attempts?: {
        container?: { exitCode?: number; reason?: string };
        startedAt?: number;
        stoppedAt?: number;
        statusReason?: string;
    }[];
    arrayProperties?: { size?: number; index?: number };
    container?: {
        environment?: { name: string; value: string }[];
        exitCode?: number;
        reason?: string;
        /** The container's effective VCPU / MEMORY: the job definition's, overridden by SubmitJob's. */
        resourceRequirements?: { type: string; value: string }[];
    };
    retryStrategy?: SubmitJobCommandInput["retryStrategy"];
    tags?: Record<string, string>;
    createdAt?: number;
    startedAt?: number;
    stoppedAt?: number;
}

export interface BatchEvent {
    "detail-type": string;
    source: string;
    time: string;
    detail: BatchJobDetail;
}

export interface BatchEventsOptions {
    readonly bucket: string;
    /** The on-demand queue (name or ARN) Spot-capacity failures fall back to. */
    readonly onDemandQueue: string;
    readonly batch: SendClient;
    readonly s3: SendClient;
    readonly db: () => Promise<RpcClient>;
    readonly log: Logger;
    readonly now?: () => Date;
}

/** The queue time-limit action's reason for jobs stuck RUNNABLE without Spot capacity. */
export const CAPACITY_REASON = "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY";
/**
 * The queue time-limit actions' reasons for jobs no compute environment can run (components/formSender/compute.ts
 * `misconfigurationLimits`; reason strings from the AWS Batch user guide "Automatic remediation with
 * jobStateTimeLimitActions", https://docs.aws.amazon.com/batch/latest/userguide/job_stuck_in_runnable_time_limit_actions.html).
 * A job cancelled for either has the status reason "Canceled by JobStateTimeLimit action due to reason: <reason>"
 * (the form the user guide shows for CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY, job_stuck_in_runnable_capacity.html).
 */
export const JOB_RESOURCE_REQUIREMENT = "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT";
export const CE_MAX_RESOURCE = "MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE";

/**
 * The execution's error for a job the queue cancelled because of its size, naming the reason, the size and the fix;
 * undefined for any other job. It is what GET /form-sender/executions/{id} and `npm run fs -- show` print.
 */
export function misconfigurationError(d: BatchJobDetail): string | undefined {
    const reason = d.statusReason ?? "";
    const size = `${requirement(d, "VCPU") ?? "?"} vCPU / ${requirement(d, "MEMORY") ?? "?"} MiB`;
    if (reason.includes(JOB_RESOURCE_REQUIREMENT)) {
        return (
            `cancelled by the job queue after waiting RUNNABLE: no instance type of its compute environments can ` +
            `hold the job's ${size} (${JOB_RESOURCE_REQUIREMENT}). Fix: submit again with a smaller batch.vcpus / ` +
            "batch.memory_mib, or add a larger type to formSenderInstanceTypes"
        );
    }
    if (reason.includes(CE_MAX_RESOURCE)) {
        return (
            `cancelled by the job queue after waiting RUNNABLE: every compute environment's maxvCpus is below the ` +
            `job's ${size} (${CE_MAX_RESOURCE}; spot-watch may have lowered the Spot one). Fix: submit again with ` +
            "a smaller batch.vcpus, or raise formSenderMaxVcpus / formSenderOnDemandMaxVcpus"
        );
    }
    return undefined;
}
const TERMINAL: readonly string[] = ["succeeded", "failed", "cancelled"];

/** Bucket and key of an `s3://bucket/key` URL (the client config the dispatcher passed the job); else undefined. */
export function s3Location(url: string | undefined): { bucket: string; key: string } | undefined {
    const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(url ?? "");
    return m ? { bucket: m[1], key: m[2] } : undefined;
}

const env = (d: BatchJobDetail, name: string) => d.container?.environment?.find((e) => e.name === name)?.value;

const requirement = (d: BatchJobDetail, type: string) => {
    const v = d.container?.resourceRequirements?.find((r) => r.type === type)?.value;
    return v === undefined ? undefined : Number(v);
};

/**
 * What a job's container ran with, from the state-change event (its detail is the JobDetail,
 * https://docs.aws.amazon.com/batch/latest/userguide/batch_job_events.html): the queue, the effective vCPU and
 * memory (resourceRequirements after the submit's overrides) and the workers the dispatcher passed. The instance
 * type is not in the event; the runner reports it (record_job_run from containers/runner/src/job.ts).
 */
export function ranWith(d: BatchJobDetail): Record<string, unknown> {
    const workers = env(d, "FORM_SENDER_WORKERS");
    const fields: Record<string, unknown> = {
        queue: d.jobQueue.split("/").pop(),
        vcpus: requirement(d, "VCPU"),
        memory_mib: requirement(d, "MEMORY"),
        workers: workers === undefined ? undefined : Number(workers),
    };
    return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined && !Number.isNaN(v)));
}

export type BatchEventOutcome =
    | { action: "ignored"; reason: string }
    | { action: "recorded"; executionId: string; status?: string; attempts: number }
    | { action: "fallback"; executionId: string; jobId: string | undefined };

/** A failed RPC, saying whether a retry can help (rpcFailure.ts: from the status AND PostgREST's code). */
export class RpcFailure extends Error {
    constructor(
        readonly fn: string,
        readonly status: number,
        readonly code: string | undefined,
        message: string,
    ) {
        const retry = classifyRpcFailure(status, code) === "unavailable" ? "a retry can help" : "a retry cannot help";
        super(`${fn} failed: ${message} (${status} ${code ?? "no code"}; ${retry})`);
    }
    get kind(): RpcFailureKind {
        return classifyRpcFailure(this.status, this.code);
    }
}

async function rpc<T>(db: RpcClient, fn: string, args: Record<string, unknown>): Promise<T> {
    const { data, error, status } = await db.rpc(fn, args);
    // Thrown errors make the invocation fail, so EventBridge retries it and then the DLQ keeps it.
    if (error) throw new RpcFailure(fn, status ?? 0, error.code || undefined, error.message);
    return data as T;
}

export function makeBatchEventsHandler(opts: BatchEventsOptions): (event: BatchEvent) => Promise<BatchEventOutcome> {
    const now = opts.now ?? (() => new Date());
    const handle = async (event: BatchEvent): Promise<BatchEventOutcome> => {
        const d = event.detail;
        const executionId = env(d, "FORM_SENDER_EXECUTION_ID") ?? d.tags?.["ops:execution-id"];
        if (event["detail-type"] !== "Batch Job State Change" || !executionId)
            return { action: "ignored", reason: "not a form-sender job" };
        const db = await opts.db();
        const execution = await rpc<JobExecutionRow | null>(db, "get_job_execution", {
            p_execution_id: executionId,
        });
        if (!execution) return { action: "ignored", reason: `unknown execution ${executionId}` };

        const [parentId, indexText] = d.jobId.split(":");
        const isChild = indexText !== undefined || d.arrayProperties?.index !== undefined;
        const runIndex = (d.arrayProperties?.index ?? (indexText !== undefined ? Number(indexText) : 0)) + 1;
        if (execution.job_id && execution.job_id !== parentId)
            return { action: "ignored", reason: `event for superseded job ${parentId}` };

        // Attempts: children and plain jobs (an array parent runs nothing itself).
        let attempts = 0;
        if (isChild || d.arrayProperties?.size === undefined) {
            for (const [i, a] of (d.attempts ?? []).entries()) {
                await rpc(db, "start_job_attempt", {
                    p_execution_id: executionId,
                    p_run_index: runIndex,
                    p_attempt: i + 1,
                    p_job_id: d.jobId,
                    p_metadata: { started_at: a.startedAt ?? null },
                });
                await rpc(db, "finish_job_attempt", {
                    p_execution_id: executionId,
                    p_run_index: runIndex,
                    p_attempt: i + 1,
                    p_status:
                        i < (d.attempts?.length ?? 0) - 1 || d.status === "FAILED"
                            ? "failed"
                            : d.status === "SUCCEEDED"
                              ? "succeeded"
                              : "failed",
                    p_status_reason: a.statusReason ?? a.container?.reason ?? null,
                    p_exit_code: a.container?.exitCode ?? null,
                });
                attempts++;
                await markUnknownSends(db, executionId, d.jobId, i + 1, a);
            }
            if (d.status === "RUNNING") {
                await rpc(db, "start_job_attempt", {
                    p_execution_id: executionId,
                    p_run_index: runIndex,
                    p_attempt: (d.attempts?.length ?? 0) + 1,
                    p_job_id: d.jobId,
                    p_metadata: {},
                });
                attempts++;
            }
            // The attempt running now, or the last one that ran: what it ran with (metadata.batch.ran).
            const ranAttempt = d.status === "RUNNING" ? (d.attempts?.length ?? 0) + 1 : (d.attempts?.length ?? 0);
            if (ranAttempt > 0)
                await rpc(db, "record_job_run", {
                    p_execution_id: executionId,
                    p_run_index: runIndex,
                    p_attempt: ranAttempt,
                    p_ran: ranWith(d),
                });
        }
        if (isChild) return { action: "recorded", executionId, attempts };

        // Parent or plain job: the execution's status.
        if (TERMINAL.includes(execution.status))
            return { action: "ignored", reason: `execution already ${execution.status}` };
        if (execution.status === "pending") {
            // SubmitJob succeeded but mark-submitted was lost: repair from the event.
            await rpc(db, "mark_job_submitted", {
                p_execution_id: executionId,
                p_job_id: parentId,
                p_job_name: d.jobName,
                p_job_queue: d.jobQueue,
                p_array_size: d.arrayProperties?.size ?? null,
            });
            opts.log("warn", "repaired an execution left pending after submission", {
                execution_id: executionId,
                job_id: parentId,
            });
        }
        const config = s3Location(env(d, "FORM_SENDER_CLIENT_CONFIG_URL"));
        if (d.status === "SUCCEEDED") {
            await rpc(db, "update_job_execution_status", {
                p_execution_id: executionId,
                p_status: "succeeded",
                p_error: null,
                p_metadata: null,
            });
            if (config?.bucket === opts.bucket) {
                await opts.s3.send(new DeleteObjectCommand({ Bucket: opts.bucket, Key: config.key }));
            }
            return { action: "recorded", executionId, status: "succeeded", attempts };
        }
        if (d.status === "FAILED") {
            const fallback = execution.metadata?.batch;
            const capacity = (d.statusReason ?? "").includes(CAPACITY_REASON);
            if (
                capacity &&
                fallback?.allow_on_demand_fallback &&
                !fallback.fallback &&
                !sameQueue(d.jobQueue, opts.onDemandQueue)
            ) {
                return await fallBack(db, executionId, d);
            }
            // Cancelled by the queue because of its size: failed (not "cancelled outside the API"), like a capacity
            // cancel without fallback, with an error that says why and what to change.
            const misconfigured = misconfigurationError(d);
            // Terminated or cancelled by someone (`aws batch terminate-job`, the console) rather than failed on its
            // own: Batch flags the job (JobDetail isTerminated / isCancelled,
            // https://docs.aws.amazon.com/batch/latest/APIReference/API_JobDetail.html) and keeps the caller's reason.
            if (!capacity && !misconfigured && (d.isTerminated === true || d.isCancelled === true)) {
                await rpc(db, "update_job_execution_status", {
                    p_execution_id: executionId,
                    p_status: "cancelled",
                    p_error: `stopped outside the form-sender API: ${d.statusReason ?? "no reason given"}`,
                    p_metadata: { cancelled_at: now().toISOString() },
                });
                opts.log("info", "execution cancelled outside the API", { execution_id: executionId, job_id: d.jobId });
                return { action: "recorded", executionId, status: "cancelled", attempts };
            }
            await rpc(db, "update_job_execution_status", {
                p_execution_id: executionId,
                p_status: "failed",
                p_error: misconfigured ?? d.statusReason ?? "job failed",
                p_metadata: null,
            });
            // The "execution failed" message feeds the FailedJobs metric filter and its alarm. The client config is
            // kept after a failure (deleted only after success) so a retry can use it: the line says where it is.
            opts.log("warn", "execution failed", {
                execution_id: executionId,
                job_id: d.jobId,
                reason: d.statusReason ?? null,
                client_config_bucket: config?.bucket ?? null,
                client_config_key: config?.key ?? null,
            });
            return { action: "recorded", executionId, status: "failed", attempts };
        }
        if (["RUNNING", "STARTING"].includes(d.status) && execution.status !== "running") {
            await rpc(db, "update_job_execution_status", {
                p_execution_id: executionId,
                p_status: "running",
                p_error: null,
                p_metadata: null,
            });
            return { action: "recorded", executionId, status: "running", attempts };
        }
        return { action: "recorded", executionId, attempts };
    };
    // An execution that vanished between two calls (PostgREST 500 P0002) leaves nothing to record, and a
    // retry by EventBridge could not change that: the event is ignored with the reason, not sent to the DLQ.
    return async (event) => {
        try {
            return await handle(event);
        } catch (e) {
            if (e instanceof RpcFailure && e.kind === "not_found") return { action: "ignored", reason: e.message };
            throw e;
        }
    };

    /**
     * A finished attempt's container is gone: items it recorded a send intent for and no result end
     * "unknown" (never sent again automatically). The worker id is the runner's: `<job id>#<attempt>`
     * (containers/runner/src/job.ts). Idempotent: a repeated or late event finds nothing left.
     */
    async function markUnknownSends(
        db: RpcClient,
        executionId: string,
        jobId: string,
        attempt: number,
        a: NonNullable<BatchJobDetail["attempts"]>[number],
    ): Promise<void> {
        const ended = a.statusReason ?? a.container?.reason ?? `exit code ${a.container?.exitCode ?? "unknown"}`;
        const n = await rpc<number>(db, "mark_send_intents_unknown", {
            p_worker_id: `${jobId}#${attempt}`,
            p_reason: `attempt ${attempt} of ${jobId} ended (${ended}) after its send intent, without a result`,
        });
        // The "send outcomes unknown" message feeds the UnknownSendItems metric filter and its alarm.
        if (n > 0)
            opts.log("warn", "send outcomes unknown", {
                execution_id: executionId,
                job_id: jobId,
                attempt,
                unknown_items: n,
            });
    }

    async function fallBack(db: RpcClient, executionId: string, d: BatchJobDetail): Promise<BatchEventOutcome> {
        const input: SubmitJobCommandInput = {
            jobName: `${d.jobName}-od`.slice(0, 128),
            jobQueue: opts.onDemandQueue,
            jobDefinition: d.jobDefinition,
            ...(d.arrayProperties?.size ? { arrayProperties: { size: d.arrayProperties.size } } : {}),
            ...(d.retryStrategy ? { retryStrategy: d.retryStrategy } : {}),
            containerOverrides: {
                environment: (d.container?.environment ?? []).filter((e) => e.name.startsWith("FORM_SENDER_")),
                // The same size as the Spot job (the dispatcher's override), not the job definition's default: the
                // workers were checked against it (dispatcher.ts checkJobSize).
                ...(d.container?.resourceRequirements?.some((r) => r.type === "VCPU" || r.type === "MEMORY")
                    ? {
                          resourceRequirements: d.container.resourceRequirements
                              .filter((r) => r.type === "VCPU" || r.type === "MEMORY")
                              .map((r) => ({ type: r.type as "VCPU" | "MEMORY", value: r.value })),
                      }
                    : {}),
            },
            tags: { ...(d.tags ?? {}), "ops:execution-id": executionId, "ops:fallback-from": d.jobId },
            propagateTags: true,
        };
        const out = (await opts.batch.send(new SubmitJobCommand(input))) as SubmitJobCommandOutput;
        const record = {
            from_queue: d.jobQueue,
            to_queue: opts.onDemandQueue,
            at: now().toISOString(),
            reason: d.statusReason,
            from_job_id: d.jobId,
            to_job_id: out.jobId,
        };
        const first = await rpc<boolean>(db, "record_job_fallback", {
            p_execution_id: executionId,
            p_job_id: out.jobId,
            p_job_name: out.jobName ?? input.jobName,
            p_job_queue: opts.onDemandQueue,
            p_fallback: record,
        });
        if (!first) {
            // A duplicate event already fell back: withdraw this second job so nothing runs twice.
            await opts.batch.send(
                new TerminateJobCommand({ jobId: out.jobId, reason: "duplicate on-demand fallback" }),
            );
            return { action: "ignored", reason: "fallback already recorded" };
        }
        opts.log("warn", "Spot capacity unavailable; resubmitted to the on-demand queue", {
            execution_id: executionId,
            ...record,
        });
        return { action: "fallback", executionId, jobId: out.jobId };
    }
}

/** Queue references may be names or ARNs (`…:job-queue/<name>`). */
function sameQueue(a: string, b: string): boolean {
    const name = (q: string) => q.split("/").pop();
    return name(a) === name(b);
}
