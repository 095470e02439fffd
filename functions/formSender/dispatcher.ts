/**
 * The form-sender API behind API Gateway (REST, IAM-authorized, Lambda proxy integration):
 *   POST /form-sender/submit                     validate, record, store config, SubmitJob
 *   POST /form-sender/client-config-upload       presigned PUT URL for a large client config
 *   GET  /form-sender/executions                 executions by targeting and a list of statuses
 *   GET  /form-sender/executions/{id}            one execution, its attempts per array index, its items
 *   POST /form-sender/executions/{id}/cancel     TerminateJob and mark cancelled
 * Order that loses nothing: record the execution (pending) → write the client config →
 * SubmitJob → mark submitted. A failure before SubmitJob submits nothing; a SubmitJob that keeps
 * failing marks the execution failed and keeps the config; a lost mark-submitted is repaired by
 * batch-events, which finds the execution id in the job's environment and tags.
 */
import { randomUUID } from "crypto";
import {
    SubmitJobCommand,
    SubmitJobCommandInput,
    SubmitJobCommandOutput,
    TerminateJobCommand,
} from "@aws-sdk/client-batch";
import { GetObjectCommand, GetObjectCommandOutput, PutObjectCommand } from "@aws-sdk/client-s3";
import { describeErrors, makeAjv, Problem, validateClientConfig } from "./clientConfig";
import { Logger } from "./log";
import { classifyRpcFailure } from "./rpcFailure";
import { fitsOneInstance, knowsSizes, largestJob, workersProblem } from "./sizing";
import { BatchOverrides, SUBMIT_SCHEMA, SubmitBody, UNSUPPORTED_FIELDS } from "./submitSchema";

/**
 * Minimal client shape (the real SDK clients satisfy it), so tests stub at the SDK boundary.
 * Callers type each answer as the output of the command they sent.
 */
export interface SendClient {
    send(command: unknown): Promise<unknown>;
}

/** The fields of an SDK error the functions look at, read from anything thrown. */
export interface SdkErrorFields {
    readonly name?: unknown;
    readonly $metadata?: { readonly httpStatusCode?: unknown };
}

export const sdkErrorFields = (e: unknown): SdkErrorFields => (typeof e === "object" && e !== null ? e : {});

export type JobExecutionStatus = "pending" | "submitted" | "running" | "succeeded" | "failed" | "cancelled";

export const EXECUTION_STATUSES: readonly JobExecutionStatus[] = [
    "pending",
    "submitted",
    "running",
    "succeeded",
    "failed",
    "cancelled",
];

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A `job_execution_attempts` row (supabase/migrations/20261120000000_form_sender_tables.sql). */
export interface JobAttemptRow {
    run_index: number;
    attempt: number;
    job_id?: string | null;
    status: string;
    status_reason?: string | null;
    exit_code?: number | null;
    unknown_items?: number;
    started_at?: string | null;
    finished_at?: string | null;
}

/** What get_job_execution_detail answers (supabase/migrations/20261127000000_form_sender_execution_detail.sql). */
interface ExecutionDetailRow {
    execution: JobExecutionRow;
    attempts: JobAttemptRow[];
    queue_items: Record<string, number>;
    submissions: Record<string, number>;
}

/**
 * The Batch settings a submit records in `metadata.batch`; `fallback` once batch-events fell back to on-demand;
 * `ran` once batch-events saw what a run index's container actually got (queue, vCPU, memory, workers).
 */
export interface ExecutionBatchMetadata extends SubmitDefaults, Partial<JobSize> {
    queue?: string;
    fallback?: unknown;
    ran?: unknown;
}

/** A `job_executions` row as the RPCs return it (supabase/migrations/*_form_sender_tables.sql). */
export interface JobExecutionRow {
    id: string;
    targeting_id: string;
    status: JobExecutionStatus;
    run_total?: number;
    test_mode?: boolean;
    job_id?: string | null;
    job_name?: string | null;
    job_queue?: string | null;
    array_size?: number | null;
    error?: string | null;
    metadata?: { batch?: ExecutionBatchMetadata; [key: string]: unknown } | null;
    created_at?: string;
    submitted_at?: string | null;
    finished_at?: string | null;
    /** Queue items whose send intent was recorded and whose outcome is unknown (never resent automatically). */
    unknown_items?: number;
    /** Only from create_job_execution: true when an earlier submit had the same idempotency key. */
    duplicate?: boolean;
}

/**
 * The part of a Supabase client the functions use: PostgREST RPC calls, as `.rpc()` of
 * supabase-js and of its PostgREST client (which the Lambdas use) resolve them.
 */
export interface RpcClient {
    rpc(
        fn: string,
        args?: Record<string, unknown>,
    ): PromiseLike<{ data: unknown; error: { code?: string; message: string } | null; status?: number }>;
}

export interface ApiEvent {
    httpMethod: string;
    resource?: string;
    path: string;
    pathParameters?: Record<string, string | undefined> | null;
    queryStringParameters?: Record<string, string | undefined> | null;
    body: string | null;
    isBase64Encoded?: boolean;
    requestContext?: { requestId?: string; identity?: { userArn?: string | null } };
}

export interface ApiResult {
    statusCode: number;
    headers: Record<string, string>;
    body: string;
}

/** Stack defaults for per-submit overrides (targeting value → stack default → code default). */
export interface SubmitDefaults {
    prefer_spot?: boolean;
    allow_on_demand_fallback?: boolean;
    max_attempts?: number;
    workers_per_workflow?: number;
    session_max_hours?: number;
}

export const CODE_DEFAULTS: Required<SubmitDefaults> = {
    prefer_spot: true,
    // Off unless a targeting or the stack turns it on: seed 003 §2 and §7 (FORM_SENDER_BATCH_ALLOW_ON_DEMAND_DEFAULT
    // = false, "fallback must be enabled explicitly"). Seed 000 §4.3 attaches on-demand to every queue instead; README
    // "### FormSenderBatch" (formSenderDefaultAllowOnDemandFallback) records the disagreement and how a stack opts in.
    allow_on_demand_fallback: false,
    max_attempts: 3,
    // Measured, issue 17 (`npm run bench -- density`, README "Runner density"): 7 workers are the most a c6a.xlarge
    // job (4 vCPU) runs within the 75 % CPU margin (sizing.ts maxWorkers), 2.76× the forms per instance-hour of the
    // seed's 4 workers without request blocking.
    workers_per_workflow: 7,
    session_max_hours: 8,
};

/** vCPU and memory (MiB) of one job: SubmitJob containerOverrides.resourceRequirements. */
export interface JobSize {
    vcpus: number;
    memory_mib: number;
}

/**
 * Code default of the job size when the stack says nothing: one c6a.xlarge (4 vCPU, 8 GiB installed, 7680 MiB of it
 * usable, see sizing.ts usableMemoryMib); the job definition's own default (components/config/formSender.ts).
 */
export const CODE_JOB_SIZE: JobSize = { vcpus: 4, memory_mib: 7680 };

export interface DispatcherOptions {
    /** Stack environment; prefixes job names and config keys. */
    readonly env: string;
    readonly bucket: string;
    /** Job queue names or ARNs. */
    readonly queues: { readonly spot: string; readonly spotThenOnDemand: string; readonly onDemand: string };
    readonly jobDefinition: string;
    /** Stack defaults (stackDefaults.ts reads them from the Lambda environment); unset fields take CODE_DEFAULTS. */
    readonly defaults?: SubmitDefaults;
    /** The job definition's vCPU / memory (formSenderJobVcpus / formSenderJobMemoryMib); unset: CODE_JOB_SIZE. */
    readonly jobSize?: Partial<JobSize>;
    /**
     * The compute environments' instance types. When given, a job size no instance type holds and workers that do not
     * fit the job's size are refused (400); without it only the worker check against the job size runs.
     */
    readonly instanceTypes?: readonly string[];
    readonly batch: SendClient;
    readonly s3: SendClient;
    /** Supabase client with the service-role key; created lazily so the key is read at runtime. */
    readonly db: () => Promise<RpcClient>;
    /** Presigned PUT URL for `key` (expires in `seconds`). */
    readonly presignPut: (key: string, seconds: number) => Promise<string>;
    readonly log: Logger;
    readonly now?: () => Date;
    readonly sleep?: (ms: number) => Promise<void>;
    readonly random?: () => number;
    /** SubmitJob attempts on throttling / 5xx before giving up. @default 4 */
    readonly submitAttempts?: number;
}

/** Batch limits checked before sending (https://docs.aws.amazon.com/batch/latest/APIReference/API_SubmitJob.html). */
export const MAX_OVERRIDES_BYTES = 8 * 1024;
export const MAX_REQUEST_BYTES = 30 * 1024;
export const UPLOAD_URL_SECONDS = 900;

/** What SubmitJob answered (the SDK types both fields as possibly undefined). */
type SubmittedJob = Pick<SubmitJobCommandOutput, "jobId" | "jobName">;

class HttpError extends Error {
    constructor(
        readonly status: number,
        readonly code: string,
        message: string,
        readonly details?: unknown,
        /** Whether sending the same request again can succeed; every error body says it. */
        readonly retryable: boolean = status === 429 || status === 503 || status === 504,
    ) {
        super(message);
    }
}

const json = (statusCode: number, body: unknown): ApiResult => ({
    statusCode,
    headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" },
    body: JSON.stringify(body),
});

/**
 * The log line of every Supabase call that failed for a reason other than a missing row or a conflict (unreachable,
 * unavailable, refused, a function bug); the SupabaseErrors metric filter counts it (monitoring.ts).
 */
export const SUPABASE_FAILURE_MESSAGE = "supabase call failed";

/** A failed Supabase RPC: unavailable → 503 (retryable), missing row → 404, conflict → 409, else a bug (500). */
async function rpcCall<T>(
    db: RpcClient,
    fn: string,
    args: Record<string, unknown>,
    failed: (fields: Record<string, unknown>) => void,
): Promise<T> {
    let result: { data: unknown; error: { code?: string; message: string } | null; status?: number };
    try {
        result = await db.rpc(fn, args);
    } catch (e) {
        failed({ fn, kind: "unreachable", error: (e as Error).message });
        throw new HttpError(503, "database_unavailable", `database unreachable calling ${fn}: ${(e as Error).message}`);
    }
    if (result.error) {
        // From the status AND PostgREST's code (rpcFailure.ts): a vanished row is 500 P0002 in PostgREST, a
        // function bug 400; only what a retry can fix is "unavailable".
        const kind = classifyRpcFailure(result.status ?? 0, result.error.code || undefined);
        if (kind !== "not_found" && kind !== "conflict")
            failed({ fn, kind, status: result.status ?? null, code: result.error.code ?? null });
        if (kind === "unavailable") {
            throw new HttpError(
                503,
                "database_unavailable",
                `database unavailable calling ${fn}: ${result.error.message}`,
            );
        }
        if (kind === "not_found") throw new HttpError(404, "not_found", `${fn}: ${result.error.message}`);
        if (kind === "conflict") throw new HttpError(409, "conflict", `${fn}: ${result.error.message}`);
        // A bug or a misconfiguration (wrong key, revoked grant, signature mismatch): 500 internal_error.
        throw Object.assign(new Error(`${fn} failed: ${result.error.message}`), {
            rpcCode: result.error.code,
            status: result.status,
        });
    }
    return result.data as T;
}

const RETRYABLE_ERRORS: readonly unknown[] = [
    "TooManyRequestsException",
    "ThrottlingException",
    "Throttling",
    "RequestLimitExceeded",
    "ServerException",
];

const isRetryable = (e: unknown) => {
    const { name, $metadata } = sdkErrorFields(e);
    const status = $metadata?.httpStatusCode;
    return RETRYABLE_ERRORS.includes(name) || (typeof status === "number" && (status === 429 || status >= 500));
};

/** `<env>-fs-<targeting>-<yyyymmddhhmmss>` within Batch's 128 characters of [A-Za-z0-9_-]. */
export function jobName(env: string, targetingId: string, at: Date): string {
    const stamp = at.toISOString().replace(/[-:T]/g, "").slice(0, 14);
    const safe = `${env}-fs-${targetingId}`.replace(/[^A-Za-z0-9_-]/g, "-");
    return `${safe.slice(0, 128 - stamp.length - 1)}-${stamp}`;
}

export function makeDispatcher(opts: DispatcherOptions): (event: ApiEvent) => Promise<ApiResult> {
    // Compiled once per cold start.
    const validateSubmit = makeAjv().compile(SUBMIT_SCHEMA);
    const defaults = { ...CODE_DEFAULTS, ...definedOnly(opts.defaults ?? {}) };
    const stackJobSize: JobSize = { ...CODE_JOB_SIZE, ...definedOnly(opts.jobSize ?? {}) };
    const now = opts.now ?? (() => new Date());
    const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
    const random = opts.random ?? Math.random;
    const submitAttempts = opts.submitAttempts ?? 4;
    const call = <T>(db: RpcClient, fn: string, args: Record<string, unknown>): Promise<T> =>
        rpcCall<T>(db, fn, args, (fields) => opts.log("error", SUPABASE_FAILURE_MESSAGE, fields));

    async function submit(event: ApiEvent): Promise<ApiResult> {
        const body = parseBody(event);
        const unsupported = unsupportedFields(body);
        if (!validateSubmit(body) || unsupported.length > 0) {
            const generic = tidy(describeErrors(validateSubmit.errors)).filter(
                (p) => !unsupported.some((u) => u.path === p.path),
            );
            throw new HttpError(400, "invalid_request", "the submit body is invalid", [...unsupported, ...generic]);
        }
        const req = body as SubmitBody;
        const overrides = resolveOverrides(req.batch ?? {}, defaults, req.session_max_hours);
        const size = resolveJobSize(req.batch ?? {}, stackJobSize);
        const sizeProblems = checkJobSize(req.batch ?? {}, overrides, size, opts.instanceTypes);
        if (sizeProblems.length > 0)
            throw new HttpError(400, "invalid_request", "the job's size does not hold its workers", sizeProblems);
        const queue = !overrides.prefer_spot
            ? opts.queues.onDemand
            : overrides.allow_on_demand_fallback
              ? opts.queues.spotThenOnDemand
              : opts.queues.spot;

        let configKey = req.client_config_object;
        if (configKey !== undefined) await verifyUploadedConfig(configKey);

        const db = await opts.db();
        const execution = await call<JobExecutionRow>(db, "create_job_execution", {
            p_targeting_id: req.targeting_id,
            p_run_total: req.execution.run_total,
            p_shards: req.execution.shards ?? 1,
            p_test_mode: req.test_mode ?? false,
            p_idempotency_key: req.idempotency_key ?? null,
            p_metadata: {
                batch: { queue, ...overrides, ...size },
                request_id: event.requestContext?.requestId ?? null,
            },
        });
        if (execution.duplicate) {
            opts.log("info", "duplicate submit answered with the existing execution", {
                execution_id: execution.id,
                idempotency_key: req.idempotency_key,
            });
            return json(200, answer(execution, true));
        }
        const fail = async (error: string) => {
            await call(db, "update_job_execution_status", {
                p_execution_id: execution.id,
                p_status: "failed",
                p_error: error,
                p_metadata: null,
            }).catch((e) =>
                opts.log("error", "could not mark the execution failed", {
                    execution_id: execution.id,
                    error: String(e),
                }),
            );
        };

        if (configKey === undefined) {
            configKey = `client-config/${opts.env}/${req.targeting_id}/${execution.id}.json`;
            try {
                await opts.s3.send(
                    new PutObjectCommand({
                        Bucket: opts.bucket,
                        Key: configKey,
                        Body: JSON.stringify(req.client_config),
                        ContentType: "application/json",
                    }),
                );
            } catch (e) {
                await fail(`client config could not be stored: ${(e as Error).name}`);
                throw new HttpError(
                    502,
                    "storage_failed",
                    "the client config could not be stored; nothing was submitted",
                    { execution_id: execution.id },
                );
            }
        }

        const at = now();
        const input = submitJobInput(opts, req, {
            executionId: execution.id,
            configKey,
            queue,
            overrides,
            size,
            name: jobName(opts.env, req.targeting_id, at),
        });
        const tooBig = checkLimits(input);
        if (tooBig) {
            await fail(tooBig);
            throw new HttpError(400, "request_too_large", tooBig, { execution_id: execution.id });
        }

        let job: SubmittedJob;
        try {
            job = await submitWithRetries(input);
        } catch (e) {
            await fail(`SubmitJob failed: ${(e as Error).name}: ${(e as Error).message}`);
            opts.log("error", "SubmitJob failed; execution marked failed, client config kept", {
                execution_id: execution.id,
                error: (e as Error).name,
            });
            throw new HttpError(
                502,
                "batch_submit_failed",
                "AWS Batch did not accept the job; the execution is marked failed and its client config kept",
                {
                    execution_id: execution.id,
                    client_config_object: configKey,
                },
            );
        }

        let marked: JobExecutionRow = {
            ...execution,
            status: "submitted",
            job_id: job.jobId,
            job_name: job.jobName,
            job_queue: queue,
            submitted_at: at.toISOString(),
        };
        try {
            marked = await call<JobExecutionRow>(db, "mark_job_submitted", {
                p_execution_id: execution.id,
                p_job_id: job.jobId,
                p_job_name: job.jobName,
                p_job_queue: queue,
                p_array_size: req.execution.run_total > 1 ? req.execution.run_total : null,
            });
        } catch (e) {
            // The job runs anyway; batch-events matches it to the execution by FORM_SENDER_EXECUTION_ID.
            opts.log("warn", "job submitted but not marked; batch-events will repair it", {
                execution_id: execution.id,
                job_id: job.jobId,
                error: String(e),
            });
        }
        opts.log("info", "job submitted", {
            execution_id: execution.id,
            job_id: job.jobId,
            job_queue: queue,
            array_size: req.execution.run_total,
        });
        return json(200, answer({ ...marked, job_queue: queue, array_size: req.execution.run_total }, false));
    }

    async function submitWithRetries(input: SubmitJobCommandInput): Promise<SubmittedJob> {
        for (let attempt = 1; ; attempt++) {
            try {
                const out = (await opts.batch.send(new SubmitJobCommand(input))) as SubmitJobCommandOutput;
                return { jobId: out.jobId, jobName: out.jobName ?? input.jobName };
            } catch (e) {
                if (!isRetryable(e) || attempt >= submitAttempts) throw e;
                // Full jitter: 100 ms × 2^attempt at most, so concurrent retries spread out.
                await sleep(Math.floor(random() * 100 * 2 ** attempt));
            }
        }
    }

    async function verifyUploadedConfig(key: string): Promise<void> {
        let text: string;
        try {
            const out = (await opts.s3.send(
                new GetObjectCommand({ Bucket: opts.bucket, Key: key }),
            )) as GetObjectCommandOutput;
            if (!out.Body) throw new TypeError("GetObject answered without a body");
            text = await out.Body.transformToString();
        } catch (e) {
            const { name, $metadata } = sdkErrorFields(e);
            if (name === "NoSuchKey" || $metadata?.httpStatusCode === 404) {
                throw new HttpError(400, "invalid_request", "the submit body is invalid", [
                    {
                        path: "/client_config_object",
                        message: `no object ${key}; upload it first with POST /form-sender/client-config-upload`,
                    },
                ]);
            }
            throw new HttpError(502, "storage_failed", `the uploaded client config could not be read: ${String(name)}`);
        }
        let parsed: unknown;
        try {
            parsed = JSON.parse(text);
        } catch {
            throw new HttpError(400, "invalid_request", "the submit body is invalid", [
                { path: "/client_config_object", message: "the uploaded object is not JSON" },
            ]);
        }
        const problems = validateClientConfig(parsed);
        if (problems.length)
            throw new HttpError(
                400,
                "invalid_request",
                "the uploaded client config is invalid",
                problems.map((p) => ({ path: `/client_config_object${p.path}`, message: p.message })),
            );
    }

    async function upload(event: ApiEvent): Promise<ApiResult> {
        const body = (event.body ? parseBody(event) : {}) as { targeting_id?: unknown };
        if (
            body.targeting_id !== undefined &&
            (typeof body.targeting_id !== "string" || !/^[A-Za-z0-9_-]{1,64}$/.test(body.targeting_id))
        ) {
            throw new HttpError(400, "invalid_request", "the upload request is invalid", [
                { path: "/targeting_id", message: "must be 1-64 characters of A-Z a-z 0-9 _ -" },
            ]);
        }
        const key = `client-config/${opts.env}/uploads/${body.targeting_id ?? "any"}/${randomUUID()}.json`;
        const url = await opts.presignPut(key, UPLOAD_URL_SECONDS);
        return json(200, {
            url,
            key,
            method: "PUT",
            content_type: "application/json",
            expires_at: new Date(now().getTime() + UPLOAD_URL_SECONDS * 1000).toISOString(),
        });
    }

    async function list(event: ApiEvent): Promise<ApiResult> {
        const q = event.queryStringParameters ?? {};
        // `status=pending,submitted,running`: what "list running" and "stop all" need in one call.
        const wanted = q.status === undefined || q.status === "" ? [] : q.status.split(",").map((s) => s.trim());
        const wrong = wanted.filter((s) => !EXECUTION_STATUSES.includes(s as JobExecutionStatus));
        if (wrong.length) {
            throw new HttpError(400, "invalid_request", "invalid query", [
                {
                    path: "status",
                    message: `${wrong.map((s) => JSON.stringify(s)).join(", ")} is not a status; use one or more of ${EXECUTION_STATUSES.join(", ")} separated by commas`,
                },
            ]);
        }
        const limit = parseListLimit(q.limit);
        const after = q.cursor === undefined ? undefined : parseListCursor(q.cursor);
        // One row more than asked: whether it exists is whether there is a next page.
        const rows = await call<JobExecutionRow[]>(await opts.db(), "list_job_executions_page", {
            p_targeting_id: q.targeting_id ?? null,
            p_statuses: wanted.length ? wanted : null,
            p_limit: limit + 1,
            p_before_created_at: after?.created_at ?? null,
            p_before_id: after?.id ?? null,
        });
        const page = rows.slice(0, limit);
        const last = page[page.length - 1];
        return json(200, {
            executions: page.map((r) => summary(r)),
            next_cursor: rows.length > limit ? listCursor(last) : null,
        });
    }

    async function detail(event: ApiEvent): Promise<ApiResult> {
        const id = event.pathParameters?.id ?? /\/executions\/([^/]+)$/.exec(event.path)?.[1];
        if (!id || !UUID.test(id)) throw new HttpError(404, "not_found", `no execution ${id ?? ""}`);
        const found = await call<ExecutionDetailRow | null>(await opts.db(), "get_job_execution_detail", {
            p_execution_id: id,
        });
        if (!found) throw new HttpError(404, "not_found", `no execution ${id}`);
        const e = found.execution;
        return json(200, {
            ...summary(e),
            run_total: e.run_total ?? null,
            test_mode: e.test_mode ?? null,
            unknown_items: e.unknown_items ?? 0,
            batch: e.metadata?.batch ?? null,
            fallback: e.metadata?.batch?.fallback ?? null,
            attempts: found.attempts.map((a) => ({
                run_index: a.run_index,
                attempt: a.attempt,
                job_id: a.job_id ?? null,
                status: a.status,
                status_reason: a.status_reason ?? null,
                exit_code: a.exit_code ?? null,
                unknown_items: a.unknown_items ?? 0,
                started_at: a.started_at ?? null,
                finished_at: a.finished_at ?? null,
            })),
            queue_items: found.queue_items,
            submissions: found.submissions,
        });
    }

    async function cancel(event: ApiEvent): Promise<ApiResult> {
        const id = event.pathParameters?.id ?? /\/executions\/([^/]+)\/cancel$/.exec(event.path)?.[1];
        if (!id || !UUID.test(id)) {
            throw new HttpError(404, "not_found", `no execution ${id ?? ""}`);
        }
        const db = await opts.db();
        const row = await call<JobExecutionRow | null>(db, "get_job_execution", { p_execution_id: id });
        if (!row) throw new HttpError(404, "not_found", `no execution ${id}`);
        if (["succeeded", "failed", "cancelled"].includes(row.status)) {
            throw new HttpError(409, "already_finished", `execution ${id} is already ${row.status}`, {
                status: row.status,
            });
        }
        if (row.job_id) {
            // Terminating an array parent terminates every child, running or not.
            const requestId = event.requestContext?.requestId ?? "no request id";
            await opts.batch.send(
                new TerminateJobCommand({
                    jobId: row.job_id,
                    reason: `cancelled through the form-sender API (${requestId})`,
                }),
            );
        }
        const updated = await call<JobExecutionRow>(db, "update_job_execution_status", {
            p_execution_id: id,
            p_status: "cancelled",
            p_error: null,
            p_metadata: { cancelled_at: now().toISOString() },
        });
        opts.log("info", "execution cancelled", { execution_id: id, job_id: row.job_id });
        return json(200, summary(updated));
    }

    return async (event: ApiEvent) => {
        const route = `${event.httpMethod} ${event.resource ?? event.path}`;
        try {
            if (route === "POST /form-sender/submit") return await submit(event);
            if (route === "POST /form-sender/client-config-upload") return await upload(event);
            if (route === "GET /form-sender/executions") return await list(event);
            if (
                event.httpMethod === "GET" &&
                (event.resource === "/form-sender/executions/{id}" ||
                    /^\/form-sender\/executions\/[^/]+$/.test(event.path))
            ) {
                return await detail(event);
            }
            if (
                event.httpMethod === "POST" &&
                (event.resource === "/form-sender/executions/{id}/cancel" ||
                    /^\/form-sender\/executions\/[^/]+\/cancel$/.test(event.path))
            ) {
                return await cancel(event);
            }
            throw new HttpError(404, "not_found", `no route ${event.httpMethod} ${event.path}`);
        } catch (e) {
            if (e instanceof HttpError) {
                if (e.status >= 500) opts.log("error", e.message, { code: e.code, route });
                return json(e.status, {
                    error: { code: e.code, message: e.message, details: e.details ?? null, retryable: e.retryable },
                });
            }
            opts.log("error", "unexpected error", { route, error: String(e) });
            return json(500, {
                error: {
                    code: "internal_error",
                    message: "unexpected error; see the dispatcher logs",
                    details: null,
                    retryable: false,
                },
            });
        }
    };
}

function parseBody(event: ApiEvent): unknown {
    const raw = event.isBase64Encoded && event.body ? Buffer.from(event.body, "base64").toString("utf8") : event.body;
    try {
        return JSON.parse(raw ?? "");
    } catch {
        throw new HttpError(400, "invalid_json", "the request body is not valid JSON", [
            { path: "/", message: "send a JSON object with content-type application/json" },
        ]);
    }
}

/** Removes ajv's noise for oneOf (client_config vs client_config_object) into one clear line. */
function tidy(problems: Problem[]): Problem[] {
    const out = problems.filter((p) => !(p.path === "/" && /must match exactly one schema in oneOf/.test(p.message)));
    const missingBoth = out.filter((p) => p.message === "is required" && /^\/client_config(_object)?$/.test(p.path));
    const rest = out.filter((p) => !missingBoth.includes(p));
    if (missingBoth.length === 2)
        rest.push({
            path: "/client_config",
            message: "send client_config (inline) or client_config_object (uploaded key)",
        });
    if (out.length === 0 && problems.length > 0)
        rest.push({ path: "/", message: "send either client_config or client_config_object, not both" });
    return rest;
}

function definedOnly<T extends object>(o: T): Partial<T> {
    return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * Problems for fields that have no meaning on AWS Batch here (submitSchema.ts UNSUPPORTED_FIELDS), and for
 * `tables.use_extra_table: true`: the runner claims from one send queue (`send_queue`, claim_send_queue_items); there
 * is no extra table to honour, so asking for one is refused rather than silently ignored.
 */
function unsupportedFields(body: unknown): Problem[] {
    if (typeof body !== "object" || body === null) return [];
    const b = body as { batch?: unknown; tables?: unknown };
    const out: Problem[] = [];
    if (typeof b.batch === "object" && b.batch !== null) {
        for (const key of Object.keys(b.batch)) {
            const why = UNSUPPORTED_FIELDS[`/batch/${key}`];
            if (why !== undefined)
                out.push({
                    path: `/batch/${key}`,
                    message: `${JSON.stringify((b.batch as Record<string, unknown>)[key])} is not supported: ${why}`,
                });
        }
    }
    if (typeof b.tables === "object" && b.tables !== null && (b.tables as Record<string, unknown>).use_extra_table) {
        out.push({
            path: "/tables/use_extra_table",
            message:
                "true is not supported: the runner works from the one send_queue table and has no extra table. " +
                "Remove it (or send false) and put the targeting's companies in send_queue",
        });
    }
    return out;
}

/** The job's vCPU and memory: the submit's batch.vcpus / batch.memory_mib, else the stack's job definition. */
export function resolveJobSize(batch: BatchOverrides, stack: JobSize): JobSize {
    return { vcpus: batch.vcpus ?? stack.vcpus, memory_mib: batch.memory_mib ?? stack.memory_mib };
}

/**
 * The size checks, each naming the field, its value and the fix: the job must fit one of the compute environments'
 * instance types (else Batch never places it and it waits RUNNABLE until the queue cancels it,
 * https://docs.aws.amazon.com/batch/latest/userguide/memory-management.html), and its workers must fit the job
 * (sizing.ts: vCPU and memory per worker from README "Runner density", within a 75 % margin). Refused rather than
 * sized up: a larger job costs more and may need instance types the stack does not list, so the operator decides.
 */
export function checkJobSize(
    batch: BatchOverrides,
    overrides: Required<SubmitDefaults>,
    size: JobSize,
    instanceTypes: readonly string[] | undefined,
): Problem[] {
    const field = (name: "vcpus" | "memory_mib" | "workers_per_workflow", stackKey: string) =>
        batch[name] !== undefined ? `batch.${name}` : `${name} (stack default ${stackKey})`;
    const where = {
        workers: field("workers_per_workflow", "formSenderDefaultWorkersPerWorkflow"),
        vcpus: field("vcpus", "formSenderJobVcpus"),
        memoryMib: field("memory_mib", "formSenderJobMemoryMib"),
    };
    if (instanceTypes && knowsSizes(instanceTypes) && !fitsOneInstance(instanceTypes, size.vcpus, size.memory_mib)) {
        const largest = largestJob(instanceTypes);
        return [
            {
                path: batch.vcpus !== undefined ? "/batch/vcpus" : "/batch/memory_mib",
                message:
                    `a job of ${where.vcpus} ${size.vcpus} and ${where.memoryMib} ${size.memory_mib} ` +
                    "fits none of the " +
                    `compute environments' instance types (${instanceTypes.join(", ")}; the largest job they hold is ` +
                    `${largest.vcpus} vCPU / ${largest.memoryMib} MiB), so Batch would never ` +
                    "place it. Ask for at most that, or add larger instance types to formSenderInstanceTypes",
            },
        ];
    }
    const problem = workersProblem(
        overrides.workers_per_workflow,
        size.vcpus,
        size.memory_mib,
        instanceTypes ?? [],
        where,
    );
    return problem ? [{ path: "/batch/workers_per_workflow", message: problem }] : [];
}

export function resolveOverrides(
    batch: BatchOverrides,
    defaults: Required<SubmitDefaults>,
    sessionMaxHours?: number,
): Required<SubmitDefaults> {
    return {
        prefer_spot: batch.prefer_spot ?? defaults.prefer_spot,
        allow_on_demand_fallback: batch.allow_on_demand_fallback ?? defaults.allow_on_demand_fallback,
        max_attempts: batch.max_attempts ?? defaults.max_attempts,
        workers_per_workflow: batch.workers_per_workflow ?? defaults.workers_per_workflow,
        session_max_hours: sessionMaxHours ?? defaults.session_max_hours,
    };
}

export function submitJobInput(
    opts: Pick<DispatcherOptions, "env" | "bucket" | "jobDefinition">,
    req: SubmitBody,
    x: {
        executionId: string;
        configKey: string;
        queue: string;
        overrides: Required<SubmitDefaults>;
        size?: JobSize;
        name: string;
    },
): SubmitJobCommandInput {
    const environment = [
        ["FORM_SENDER_CLIENT_CONFIG_URL", `s3://${opts.bucket}/${x.configKey}`],
        ["FORM_SENDER_EXECUTION_ID", x.executionId],
        ["FORM_SENDER_TARGETING_ID", req.targeting_id],
        ["FORM_SENDER_RUN_TOTAL", String(req.execution.run_total)],
        ["FORM_SENDER_TOTAL_SHARDS", String(req.execution.shards ?? 1)],
        ["FORM_SENDER_TABLE_MODE", req.tables?.use_extra_table ? "extra" : "default"],
        ["FORM_SENDER_TEST_MODE", String(req.test_mode ?? false)],
        ["FORM_SENDER_SESSION_MAX_HOURS", String(x.overrides.session_max_hours)],
        ["FORM_SENDER_WORKERS", String(x.overrides.workers_per_workflow)],
        // The runner compares its peak memory with these (memory_warning) and records them as what it ran with.
        ...(x.size
            ? [
                  ["FORM_SENDER_JOB_VCPUS", String(x.size.vcpus)],
                  ["FORM_SENDER_JOB_MEMORY_MIB", String(x.size.memory_mib)],
              ]
            : []),
        ...(req.send_end_time ? [["FORM_SENDER_SEND_END_TIME", req.send_end_time]] : []),
        ["FORM_SENDER_ALLOW_ON_DEMAND_FALLBACK", String(x.overrides.allow_on_demand_fallback)],
    ].map(([name, value]) => ({ name, value }));
    return {
        jobName: x.name,
        jobQueue: x.queue,
        jobDefinition: opts.jobDefinition,
        ...(req.execution.run_total > 1 ? { arrayProperties: { size: req.execution.run_total } } : {}),
        retryStrategy: {
            attempts: x.overrides.max_attempts,
            // Same rules as the job definition: retry host/Spot loss and image pulls, nothing else. A pull failure is
            // in the attempt's container reason, not the job's status reason ("Task failed to start"), so it is
            // matched by onReason (https://docs.aws.amazon.com/batch/latest/userguide/job_retries.html).
            evaluateOnExit: [
                { onStatusReason: "Host EC2*", action: "RETRY" },
                { onReason: "CannotPullContainerError:*", action: "RETRY" },
                { onReason: "*", action: "EXIT" },
            ],
        },
        containerOverrides: {
            environment,
            // Overrides the job definition's VCPU / MEMORY for this job: VCPU a whole number of vCPUs as a string,
            // MEMORY the hard limit in MiB as a string (https://docs.aws.amazon.com/batch/latest/APIReference/
            // API_ContainerOverrides.html, API_ResourceRequirement.html). Always sent, so the job's size is the one
            // recorded in metadata.batch even if the job definition's default changes later.
            ...(x.size
                ? {
                      resourceRequirements: [
                          { type: "VCPU" as const, value: String(x.size.vcpus) },
                          { type: "MEMORY" as const, value: String(x.size.memory_mib) },
                      ],
                  }
                : {}),
        },
        tags: { "ops:execution-id": x.executionId, "ops:targeting-id": req.targeting_id, "ops:env": opts.env },
        propagateTags: true,
    };
}

/** Undefined when the request is within Batch's limits, else the reason. */
export function checkLimits(input: SubmitJobCommandInput): string | undefined {
    const overrides = Buffer.byteLength(JSON.stringify(input.containerOverrides ?? {}));
    if (overrides > MAX_OVERRIDES_BYTES)
        return `container overrides are ${overrides} bytes; AWS Batch accepts at most ${MAX_OVERRIDES_BYTES}`;
    const total = Buffer.byteLength(JSON.stringify(input));
    if (total > MAX_REQUEST_BYTES)
        return `the SubmitJob request is ${total} bytes; AWS Batch accepts at most ${MAX_REQUEST_BYTES}`;
    return undefined;
}

/** Most executions one GET /form-sender/executions answers, and its default `limit`. */
export const LIST_LIMIT_MAX = 100;

/** `limit` of GET /form-sender/executions: a whole number 1..LIST_LIMIT_MAX, LIST_LIMIT_MAX when left out. */
export function parseListLimit(raw: string | undefined): number {
    if (raw === undefined) return LIST_LIMIT_MAX;
    const n = /^[0-9]{1,4}$/.test(raw) ? Number(raw) : NaN;
    if (n >= 1 && n <= LIST_LIMIT_MAX) return n;
    throw new HttpError(400, "invalid_request", "invalid query", [
        {
            path: "limit",
            message:
                `${JSON.stringify(raw)} is not a page size; use a whole number from 1 to ${LIST_LIMIT_MAX}, ` +
                `or leave limit out for ${LIST_LIMIT_MAX}`,
        },
    ]);
}

/** Where a page ends: the last row's created_at exactly as PostgreSQL wrote it (microseconds) and its id. */
export interface ListCursor {
    readonly created_at: string;
    readonly id: string;
}

/** created_at as PostgREST writes a timestamptz (to_json: ISO 8601 with up to 6 fraction digits and an offset). */
const CURSOR_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}(:\d{2})?)$/;

/**
 * The `next_cursor` that continues after `row`: base64url of `<created_at>|<id>`. Opaque to callers; the
 * timestamp is kept as text, because a JavaScript Date would cut PostgreSQL's microseconds and skip or repeat rows
 * created within the same millisecond.
 */
export function listCursor(row: Pick<JobExecutionRow, "created_at" | "id">): string {
    if (!row.created_at) throw new Error(`execution ${row.id} has no created_at; a cursor needs it`);
    return Buffer.from(`${row.created_at}|${row.id}`, "utf8").toString("base64url");
}

/** Reads a cursor listCursor made; anything else is a 400 naming `cursor`. */
export function parseListCursor(raw: string): ListCursor {
    // Node's base64url decoder skips characters outside the alphabet, so the text must also re-encode to itself.
    const text = /^[A-Za-z0-9_-]{1,200}$/.test(raw) ? Buffer.from(raw, "base64url").toString("utf8") : "";
    const [createdAt, id, ...rest] = text.split("|");
    if (
        Buffer.from(text, "utf8").toString("base64url") === raw &&
        rest.length === 0 &&
        CURSOR_TIME.test(createdAt) &&
        !Number.isNaN(Date.parse(createdAt)) &&
        UUID.test(id ?? "")
    ) {
        return { created_at: createdAt, id };
    }
    throw new HttpError(400, "invalid_request", "invalid query", [
        {
            path: "cursor",
            message:
                `${JSON.stringify(raw.length > 200 ? `${raw.slice(0, 200)}…` : raw)} is not a cursor this API ` +
                "returned; pass next_cursor of the previous answer unchanged, or leave cursor out for the first page",
        },
    ]);
}

function summary(r: JobExecutionRow) {
    return {
        execution_id: r.id,
        targeting_id: r.targeting_id,
        status: r.status,
        job_id: r.job_id ?? null,
        job_name: r.job_name ?? null,
        job_queue: r.job_queue ?? null,
        array_size: r.array_size ?? null,
        created_at: r.created_at,
        submitted_at: r.submitted_at ?? null,
        finished_at: r.finished_at ?? null,
        error: r.error ?? null,
        unknown_items: r.unknown_items ?? 0,
    };
}

function answer(r: JobExecutionRow, duplicate: boolean) {
    return {
        execution_id: r.id,
        job_id: r.job_id ?? null,
        job_name: r.job_name ?? null,
        job_queue: r.job_queue ?? null,
        array_size: r.array_size ?? r.run_total ?? null,
        submitted_at: r.submitted_at ?? null,
        // A duplicate answers the earlier submit's execution as it is now: "failed" means nothing runs.
        status: r.status,
        error: r.error ?? null,
        duplicate,
    };
}
