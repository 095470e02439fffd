/**
 * The runner's side of Supabase: every read and write goes through the RPC functions of
 * supabase/migrations (DESIGN.md "Supabase"), called with supabase-js `.rpc()`. Failures a retry
 * can fix (network, 429, 502-504, proxies' 5xx, serialization failures: see rpcFailure.ts) are
 * retried with backoff; anything else is thrown at once with the function's name and PostgREST's message.
 */
import { createClient } from "@supabase/supabase-js";
import { parseSupabaseKey } from "./secrets";
import { retryWithBackoff } from "./backoff";
import { isRetryableRpcFailure } from "./rpcFailure";
import type { FillStatus } from "./types";

export interface QueueItem {
    readonly id: number;
    readonly companyId: number;
    readonly companyName: string;
    readonly formUrl: string | null;
    readonly attempts: number;
}

export interface ExecutionRow {
    readonly id: string;
    readonly targeting_id: string;
    readonly status: string;
    readonly run_total: number;
    readonly shards: number;
    readonly test_mode: boolean;
    readonly array_size: number | null;
}

/** Identity of this run attempt in the attempt table and as the lease owner. */
export interface AttemptKey {
    readonly executionId: string;
    readonly runIndex: number;
    readonly attempt: number;
    /** Lease owner id: unique per Batch job attempt, so a retry never records on an old lease. */
    readonly workerId: string;
}

export type RpcCall = (fn: string, args: Record<string, unknown>) => Promise<unknown>;

export class RpcError extends Error {
    constructor(
        readonly fn: string,
        message: string,
        readonly status: number,
        readonly code: string | undefined,
    ) {
        super(`${fn}: ${message}${code ? ` (${code})` : ""}`);
        this.name = "RpcError";
    }
    /** Whether a retry can fix it, from the status and PostgREST's code (a P0002 500 cannot). */
    get transient(): boolean {
        return isRetryableRpcFailure(this.status, this.code);
    }
}

/**
 * supabase-js `.rpc()` wrapped to throw RpcError (with the HTTP status) instead of returning `{ error }`. `key` is a
 * plain API key or the runner key (secrets.ts `parseSupabaseKey`), whose JWT supabase-js sends as the bearer token
 * (its `accessToken` option) beside the API key.
 */
export function makeRpc(url: string, key: string, fetchImpl?: typeof fetch): RpcCall {
    const { apikey, accessToken } = parseSupabaseKey(key);
    const client = createClient(url, apikey, {
        auth: { persistSession: false, autoRefreshToken: false },
        global: fetchImpl ? { fetch: fetchImpl } : undefined,
        ...(accessToken === undefined ? {} : { accessToken: () => Promise.resolve(accessToken) }),
    });
    return async (fn, args) => {
        let res;
        try {
            res = await client.rpc(fn, args);
        } catch (err) {
            throw new RpcError(fn, (err as Error).message, 0, undefined);
        }
        if (res.error) {
            // supabase-js reports network failures as an error with status 0 or no status.
            throw new RpcError(fn, res.error.message, res.status ?? 0, res.error.code || undefined);
        }
        const data: unknown = res.data;
        return data;
    };
}

export interface QueueApiOptions {
    /** How long one RPC is retried on transient failures. @default 60000 */
    readonly retryDeadlineMs?: number;
    readonly onRetry?: (fn: string, err: unknown, attempt: number) => void;
}

export class QueueApi {
    constructor(
        private readonly call: RpcCall,
        readonly key: AttemptKey,
        private readonly opts: QueueApiOptions = {},
    ) {}

    private rpc<T>(fn: string, args: Record<string, unknown>, deadlineMs?: number): Promise<T> {
        return retryWithBackoff(() => this.call(fn, args) as Promise<T>, {
            deadlineMs: deadlineMs ?? this.opts.retryDeadlineMs ?? 60_000,
            baseMs: 250,
            maxDelayMs: 5000,
            retryable: (err) => err instanceof RpcError && err.transient,
            onRetry: (err, attempt) => this.opts.onRetry?.(fn, err, attempt),
        });
    }

    getExecution(): Promise<ExecutionRow | null> {
        return this.rpc<ExecutionRow | null>("get_job_execution", { p_execution_id: this.key.executionId });
    }

    async startAttempt(metadata: Record<string, unknown>): Promise<void> {
        await this.rpc("start_job_attempt", {
            p_execution_id: this.key.executionId,
            p_run_index: this.key.runIndex,
            p_attempt: this.key.attempt,
            p_job_id: metadata.job_id ?? null,
            p_metadata: metadata,
        });
    }

    /**
     * What this attempt ran with (instance type, memory limit, workers; at the end its peak memory and
     * memory_warning), merged into the attempt's and the execution's metadata (record_job_run,
     * supabase/migrations/20261127000200_form_sender_job_run.sql).
     */
    async recordRun(ran: Record<string, unknown>, deadlineMs?: number): Promise<void> {
        await this.rpc(
            "record_job_run",
            {
                p_execution_id: this.key.executionId,
                p_run_index: this.key.runIndex,
                p_attempt: this.key.attempt,
                p_ran: ran,
            },
            deadlineMs,
        );
    }

    async finishAttempt(
        status: "succeeded" | "failed",
        reason: string,
        exitCode: number,
        deadlineMs?: number,
    ): Promise<void> {
        await this.rpc(
            "finish_job_attempt",
            {
                p_execution_id: this.key.executionId,
                p_run_index: this.key.runIndex,
                p_attempt: this.key.attempt,
                p_status: status,
                p_status_reason: reason,
                p_exit_code: exitCode,
            },
            deadlineMs,
        );
    }

    /** True only for the call that marked this attempt failed (the RPC is idempotent). */
    markFailedOnce(reason: string, deadlineMs?: number): Promise<boolean> {
        return this.rpc<boolean>(
            "mark_job_failed_once",
            {
                p_execution_id: this.key.executionId,
                p_run_index: this.key.runIndex,
                p_attempt: this.key.attempt,
                p_reason: reason,
            },
            deadlineMs,
        );
    }

    /** Leases up to `limit` items of one shard (1-based, as the RPC numbers them). */
    async claim(
        targetingId: string,
        shardId: number,
        totalShards: number,
        limit: number,
        leaseSeconds: number,
    ): Promise<QueueItem[]> {
        const rows = await this.rpc<
            Array<{
                id: number | string;
                company_id: number | string;
                company_name: string;
                form_url: string | null;
                attempts: number;
            }>
        >("claim_send_queue_items", {
            p_targeting_id: targetingId,
            p_shard_id: shardId,
            p_total_shards: totalShards,
            p_worker_id: this.key.workerId,
            p_limit: limit,
            p_lease_seconds: leaseSeconds,
        });
        return (rows ?? []).map((r) => ({
            id: Number(r.id),
            companyId: Number(r.company_id),
            companyName: r.company_name,
            formUrl: r.form_url,
            attempts: r.attempts,
        }));
    }

    /**
     * The durable send intent, right before the click that may send: from then on the item is never
     * claimed or released automatically (it ends with a result, or as "unknown"). Throws when the
     * item is no longer this attempt's (another attempt took the lease over): the caller must not click.
     */
    recordIntent(itemId: number, deadlineMs?: number): Promise<{ recorded: boolean; send_intent_at: string }> {
        return this.rpc(
            "record_send_intent",
            {
                p_item_id: itemId,
                p_worker_id: this.key.workerId,
                p_execution_id: this.key.executionId,
                p_run_index: this.key.runIndex,
                p_attempt: this.key.attempt,
            },
            deadlineMs,
        );
    }

    /** Records one item's outcome; exactly once per item (a repeat answers recorded=false). */
    record(
        itemId: number,
        status: FillStatus,
        detail: string,
        deadlineMs?: number,
    ): Promise<{ recorded: boolean; status: string }> {
        return this.rpc(
            "record_send_result",
            {
                p_item_id: itemId,
                p_worker_id: this.key.workerId,
                p_status: status,
                p_detail: detail.slice(0, 2000),
                p_execution_id: this.key.executionId,
                p_run_index: this.key.runIndex,
                p_attempt: this.key.attempt,
            },
            deadlineMs,
        );
    }

    /**
     * Returns leased items to pending; all of this attempt's leases when `itemIds` is null. Items
     * with a send intent are never released (the RPC skips them).
     */
    release(itemIds: readonly number[] | null, deadlineMs?: number): Promise<number> {
        return this.rpc<number>(
            "release_send_queue_leases",
            { p_worker_id: this.key.workerId, p_item_ids: itemIds },
            deadlineMs,
        );
    }
}
