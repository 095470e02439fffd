/**
 * Fetches the client config the dispatcher stored: `s3://bucket/key` with the SDK and the job
 * role (the path that survives long jobs), or an `https://` presigned URL. Transient failures
 * are retried with backoff up to a deadline (120 s by default); the document is then validated
 * with the same schema the dispatcher used.
 */
import { GetObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { parseClientConfig, type ClientConfig } from "../../../functions/formSender/clientConfig";
import { retryWithBackoff } from "./backoff";

/** Why the config could not be used; `exitCode` is the job's exit status (README "Runner exit codes"). */
export class ClientConfigError extends Error {
    constructor(
        message: string,
        readonly exitCode: number,
    ) {
        super(message);
        this.name = "ClientConfigError";
    }
}

/** Exit status when the config is unreachable within the deadline (EX_UNAVAILABLE). */
export const EXIT_CONFIG_UNAVAILABLE = 69;
/** Exit status when the config is there but malformed or fails the schema (EX_DATAERR). */
export const EXIT_CONFIG_INVALID = 65;

class FetchFailure extends Error {
    constructor(
        message: string,
        readonly retryable: boolean,
    ) {
        super(message);
    }
}

export interface ConfigSourceDeps {
    readonly s3: Pick<S3Client, "send">;
    readonly fetch: typeof fetch;
    readonly deadlineMs: number;
    readonly sleep?: (ms: number) => Promise<void>;
    readonly onRetry?: (reason: string, attempt: number, delayMs: number) => void;
}

/** s3://bucket/a/b.json → { bucket, key }. */
export function parseS3Uri(uri: string): { bucket: string; key: string } {
    const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
    if (!m) {
        throw new ClientConfigError(
            `FORM_SENDER_CLIENT_CONFIG_URL "${uri}" is not s3://<bucket>/<key>`,
            EXIT_CONFIG_INVALID,
        );
    }
    return { bucket: m[1], key: decodeURIComponent(m[2]) };
}

function redact(url: string): string {
    return url.replace(/\?.*$/, "?[query]");
}

async function fetchOnce(url: string, deps: ConfigSourceDeps): Promise<string> {
    if (url.startsWith("s3://")) {
        const { bucket, key } = parseS3Uri(url);
        try {
            const out = await deps.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
            if (!out.Body) {
                throw new FetchFailure(`s3://${bucket}/${key} has no body`, true);
            }
            return await out.Body.transformToString("utf-8");
        } catch (err) {
            if (err instanceof FetchFailure) {
                throw err;
            }
            const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
            const status = e.$metadata?.httpStatusCode ?? 0;
            const name = e.name ?? "Error";
            // Only throttling, server errors and network failures are retried. A missing object is
            // not: the dispatcher stored (or verified) it before submitting the job, and S3 reads are
            // strongly consistent after a write (https://aws.amazon.com/s3/consistency/), so it will
            // not appear by waiting. The job role has no s3:ListBucket, so S3 answers a missing key
            // with 403 AccessDenied, not 404 (https://docs.aws.amazon.com/AmazonS3/latest/API/
            // API_GetObject.html, Permissions): the message says both causes.
            const retryable = status === 429 || status >= 500 || status === 0;
            const hint = status === 403 ? " (the object does not exist, or the job role may not read it)" : "";
            throw new FetchFailure(
                `s3://${bucket}/${key}: ${name}${status ? ` (HTTP ${status})` : ""}${hint}: ${e.message ?? ""}`.trim(),
                retryable,
            );
        }
    }
    let res: Response;
    try {
        res = await deps.fetch(url, { signal: AbortSignal.timeout(15_000) });
    } catch (err) {
        throw new FetchFailure(`${redact(url)}: ${(err as Error).message}`, true);
    }
    if (!res.ok) {
        // 403 from a presigned URL means expired or wrong signature: retrying cannot help.
        const retryable = res.status === 404 || res.status === 408 || res.status === 429 || res.status >= 500;
        throw new FetchFailure(`${redact(url)}: HTTP ${res.status}`, retryable);
    }
    return res.text();
}

/** Fetches, parses and validates the client config; throws ClientConfigError with the exit code. */
export async function loadClientConfig(url: string, deps: ConfigSourceDeps): Promise<ClientConfig> {
    let text: string;
    try {
        text = await retryWithBackoff(() => fetchOnce(url, deps), {
            deadlineMs: deps.deadlineMs,
            retryable: (err) => err instanceof FetchFailure && err.retryable,
            sleep: deps.sleep,
            onRetry: (err, attempt, delay) => deps.onRetry?.((err as Error).message, attempt, delay),
        });
    } catch (err) {
        if (err instanceof ClientConfigError) {
            throw err;
        }
        const msg = (err as Error).message;
        const gaveUp = err instanceof FetchFailure && err.retryable;
        throw new ClientConfigError(
            gaveUp
                ? `client config unreachable after ${Math.round(deps.deadlineMs / 1000)} s of retries: ${msg}`
                : `client config cannot be read: ${msg}; ` +
                      "check the job role's s3:GetObject on the config bucket or re-issue the presigned URL",
            EXIT_CONFIG_UNAVAILABLE,
        );
    }
    let json: unknown;
    try {
        json = JSON.parse(text);
    } catch (err) {
        throw new ClientConfigError(
            `client config at ${redact(url)} is not JSON (${(err as Error).message}); ` +
                "re-upload it through the dispatcher",
            EXIT_CONFIG_INVALID,
        );
    }
    try {
        return parseClientConfig(json, `client config at ${redact(url)}`);
    } catch (err) {
        throw new ClientConfigError(
            `${(err as Error).message}; fix the targeting's client settings in GAS and resubmit`,
            EXIT_CONFIG_INVALID,
        );
    }
}
