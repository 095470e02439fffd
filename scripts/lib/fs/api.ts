/**
 * What `npm run fs` talks to: the deployed form-sender API (SigV4, service execute-api, the operator's
 * own AWS credentials), AWS Batch DescribeJobs (where an attempt's log stream is) and CloudWatch Logs
 * GetLogEvents (the runner's lines). The Logs call is signed here (JSON 1.1 protocol,
 * https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_GetLogEvents.html) rather
 * than through an SDK client the project does not otherwise need.
 */
import { BatchClient, DescribeJobsCommand, DescribeJobsCommandOutput } from "@aws-sdk/client-batch";
import { Hash } from "@smithy/hash-node";
import { SignatureV4 } from "@smithy/signature-v4";

export interface Credentials {
    readonly accessKeyId: string;
    readonly secretAccessKey: string;
    readonly sessionToken?: string;
}

/** An API error answer, thrown with its HTTP status and body. */
export class ApiError extends Error {
    constructor(
        message: string,
        readonly status: number,
        readonly body: unknown,
    ) {
        super(message);
    }
}

async function signedFetch(
    url: URL,
    init: { method: string; service: string; region: string; body?: string; headers?: Record<string, string> },
    credentials: Credentials,
): Promise<Response> {
    const query: Record<string, string> = {};
    for (const [k, v] of url.searchParams) query[k] = v;
    const signer = new SignatureV4({
        service: init.service,
        region: init.region,
        credentials,
        sha256: Hash.bind(null, "sha256"),
        uriEscapePath: true,
    });
    const signed = await signer.sign({
        method: init.method,
        protocol: url.protocol,
        hostname: url.hostname,
        port: url.port ? Number(url.port) : undefined,
        path: url.pathname,
        query,
        headers: { host: url.host, ...(init.headers ?? {}) },
        body: init.body,
    });
    const headers = Object.fromEntries(Object.entries(signed.headers).filter(([k]) => k !== "host"));
    return fetch(url, { method: init.method, headers, body: init.body });
}

export interface FormSenderApiClient {
    request<T>(method: "GET" | "POST", path: string, query?: Record<string, string>, body?: unknown): Promise<T>;
}

/** The form-sender API at `baseUrl` (the stage's invoke URL). */
export function formSenderApi(baseUrl: string, region: string, credentials: Credentials): FormSenderApiClient {
    return {
        async request<T>(method: "GET" | "POST", path: string, query: Record<string, string> = {}, body?: unknown) {
            const url = new URL(baseUrl.replace(/\/+$/, "") + path);
            for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
            const text = body === undefined ? undefined : JSON.stringify(body);
            const res = await signedFetch(
                url,
                {
                    method,
                    service: "execute-api",
                    region,
                    body: text,
                    headers: text === undefined ? {} : { "content-type": "application/json" },
                },
                credentials,
            );
            const answer = await res.text();
            let parsed: unknown = answer;
            try {
                parsed = JSON.parse(answer);
            } catch {
                // not JSON: keep the text
            }
            if (!res.ok) {
                const p = parsed as { error?: { message?: string }; message?: string } | string;
                const message = typeof p === "string" ? p : (p.error?.message ?? p.message ?? answer);
                throw new ApiError(`${method} ${path} failed with HTTP ${res.status}: ${message}`, res.status, parsed);
            }
            return parsed as T;
        },
    };
}

/** Where one attempt of a Batch job logged: its log group and stream, or undefined while it has none. */
export interface AttemptLog {
    readonly attempt: number;
    readonly logGroup: string;
    readonly logStream: string;
}

/** The log streams of every attempt of one job (DescribeJobs; the group from the job's awslogs options). */
export async function attemptLogs(batch: BatchClient, jobId: string): Promise<AttemptLog[]> {
    const out: DescribeJobsCommandOutput = await batch.send(new DescribeJobsCommand({ jobs: [jobId] }));
    const job = out.jobs?.[0];
    if (!job) throw new Error(`AWS Batch knows no job ${jobId} (DescribeJobs answers for recently finished jobs only)`);
    const group = job.container?.logConfiguration?.options?.["awslogs-group"];
    if (!group) throw new Error(`job ${jobId} has no awslogs-group in its log configuration`);
    return (job.attempts ?? []).flatMap((a, i) =>
        a.container?.logStreamName ? [{ attempt: i + 1, logGroup: group, logStream: a.container.logStreamName }] : [],
    );
}

/** Every event of one log stream, oldest first, following nextForwardToken until it repeats. */
export async function logEvents(
    endpoint: string,
    region: string,
    credentials: Credentials,
    logGroup: string,
    logStream: string,
): Promise<{ timestamp: number; message: string }[]> {
    const events: { timestamp: number; message: string }[] = [];
    let token: string | undefined;
    for (;;) {
        const body = JSON.stringify({
            logGroupName: logGroup,
            logStreamName: logStream,
            startFromHead: true,
            ...(token ? { nextToken: token } : {}),
        });
        const res = await signedFetch(
            new URL(endpoint),
            {
                method: "POST",
                service: "logs",
                region,
                body,
                headers: {
                    "content-type": "application/x-amz-json-1.1",
                    "x-amz-target": "Logs_20140328.GetLogEvents",
                },
            },
            credentials,
        );
        const text = await res.text();
        if (!res.ok) throw new ApiError(`GetLogEvents ${logGroup} ${logStream} failed: ${text}`, res.status, text);
        const out = JSON.parse(text) as {
            events?: { timestamp: number; message: string }[];
            nextForwardToken?: string;
        };
        events.push(...(out.events ?? []));
        // "If you have reached the end of the stream, it returns the same token you passed in."
        if (!out.nextForwardToken || out.nextForwardToken === token || (out.events ?? []).length === 0) break;
        token = out.nextForwardToken;
    }
    return events;
}
