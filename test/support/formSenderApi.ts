/**
 * The form-sender API on loopback, as API Gateway serves it to GAS and to `npm run fs`: the real
 * dispatcher behind a REST-API front (stage prefix, IAM authorization by SigV4, the deployed route
 * table of components/formSender/api.ts, Lambda proxy events), over the local Supabase
 * (PostgreSQL + PostgREST-style RPC), the S3 stand-in and the Batch stand-in. batch-events is
 * reachable too, so tests can play Batch's state changes into the same database.
 *
 * API Gateway's 403 answers (https://repost.aws/knowledge-center/api-gateway-iam-sigv4-mismatch):
 * unsigned → "Missing Authentication Token", unknown access key → "The security token included in
 * the request is invalid.", wrong signature → "The request signature we calculated does not match
 * …". A route or method the API does not define is also 403 "Missing Authentication Token"
 * (https://repost.aws/knowledge-center/api-gateway-authentication-token-errors).
 */
import { randomUUID } from "crypto";
import * as http from "http";
import { AddressInfo } from "net";
import { BatchClient } from "@aws-sdk/client-batch";
import { S3Client } from "@aws-sdk/client-s3";
import { Hash } from "@smithy/hash-node";
import { SignatureV4 } from "@smithy/signature-v4";
import { ROUTES } from "../../components/formSender/api";
import { BatchEvent, makeBatchEventsHandler } from "../../functions/formSender/batchEvents";
import { ApiEvent, makeDispatcher, SubmitDefaults } from "../../functions/formSender/dispatcher";
import { makeLogger } from "../../functions/formSender/log";
import { supabaseRpc } from "../../functions/formSender/runtime";
import { AwsApiServer, startAwsApiServer } from "./awsApiServer";
import { S3Server, startS3Server } from "./s3Server";
import { LocalSupabase, startSupabase } from "./supabase";

export const API_STAGE = "stg";
export const API_REGION = "us-east-1";
export const API_BUCKET = "fs-stg-client-config";
export const API_QUEUES = {
    spot: "stg-fs-spot",
    spotThenOnDemand: "stg-fs-spot-then-ondemand",
    onDemand: "stg-fs-ondemand",
};
/** The IAM users whose keys the front accepts: the GAS user and an operator. */
export const API_KEYS: Readonly<Record<string, { secret: string; arn: string }>> = {
    AKIAGASEXAMPLE0001: { secret: "gas/secret/key/EXAMPLE0001", arn: "arn:aws:iam::123456789012:user/fs-stg-gas" },
    AKIAOPSEXAMPLE0001: { secret: "ops/secret/key/EXAMPLE0001", arn: "arn:aws:iam::123456789012:user/operator" },
};

export interface FormSenderApi {
    /** The stage's invoke URL, as `FORM_SENDER_AWS_API_BASE_URL` (http on loopback). */
    readonly baseUrl: string;
    readonly sb: LocalSupabase;
    readonly s3: S3Server;
    readonly aws: AwsApiServer;
    /** Every request the front received: method, path with query, status answered. */
    readonly requests: { method: string; url: string; status: number }[];
    /** Plays one Batch Job State Change event through batch-events. */
    batchEvent(detail: BatchEvent["detail"]): Promise<unknown>;
    close(): Promise<void>;
}

const LAMBDA_PROXY_RESOURCES = ROUTES.map((r) => ({ method: r.method, template: `/${r.path.join("/")}` }));

function matchRoute(method: string, path: string): { resource: string; params: Record<string, string> } | undefined {
    for (const r of LAMBDA_PROXY_RESOURCES) {
        if (r.method !== method) continue;
        const want = r.template.split("/");
        const got = path.split("/");
        if (want.length !== got.length) continue;
        const params: Record<string, string> = {};
        if (
            want.every((w, i) =>
                /^\{.+\}$/.test(w)
                    ? ((params[w.slice(1, -1)] = decodeURIComponent(got[i])), got[i] !== "")
                    : w === got[i],
            )
        )
            return { resource: r.template, params };
    }
    return undefined;
}

async function verifySigV4(
    req: http.IncomingMessage,
    url: URL,
    body: string,
): Promise<{ ok: true; arn: string } | { ok: false; message: string }> {
    const auth = String(req.headers.authorization ?? "");
    const m =
        /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/execute-api\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(
            auth,
        );
    if (!m) return { ok: false, message: "Missing Authentication Token" };
    const [, keyId, , region, signedHeaders, signature] = m;
    const key = API_KEYS[keyId];
    if (!key) return { ok: false, message: "The security token included in the request is invalid." };
    const amzDate = String(req.headers["x-amz-date"] ?? "");
    const date = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate);
    if (!date) return { ok: false, message: "Authorization header requires 'X-Amz-Date' or 'Date' header." };
    const headers: Record<string, string> = {};
    for (const h of signedHeaders.split(";")) headers[h] = String(req.headers[h] ?? "");
    const query: Record<string, string> = {};
    for (const [k, v] of url.searchParams) query[k] = v;
    const signer = new SignatureV4({
        service: "execute-api",
        region,
        credentials: { accessKeyId: keyId, secretAccessKey: key.secret },
        sha256: Hash.bind(null, "sha256"),
        uriEscapePath: true,
    });
    const signed = await signer.sign(
        { method: req.method!, protocol: "https:", hostname: headers.host, path: url.pathname, query, headers, body },
        {
            signingDate: new Date(Date.UTC(+date[1], +date[2] - 1, +date[3], +date[4], +date[5], +date[6])),
            unsignableHeaders: new Set(Object.keys(req.headers).filter((h) => !headers[h])),
        },
    );
    const expected = /Signature=([0-9a-f]{64})/.exec(String(signed.headers.authorization))?.[1];
    if (expected !== signature)
        return {
            ok: false,
            message:
                "The request signature we calculated does not match the signature you provided. Check your AWS " +
                "Secret Access Key and signing method. Consult the service documentation for details.",
        };
    return { ok: true, arn: key.arn };
}

export async function startFormSenderApi(defaults: SubmitDefaults = {}): Promise<FormSenderApi> {
    const [sb, s3, aws] = await Promise.all([startSupabase(), startS3Server(), startAwsApiServer()]);
    s3.listableBuckets.add(API_BUCKET);
    const credentials = { accessKeyId: "AKIALAMBDAROLE", secretAccessKey: "lambda" };
    const batch = new BatchClient({ region: API_REGION, endpoint: aws.endpoint, credentials });
    const s3Client = new S3Client({ region: API_REGION, endpoint: s3.endpoint, forcePathStyle: true, credentials });
    const db = () => Promise.resolve(supabaseRpc(sb.url, sb.serviceRoleKey));
    const log = makeLogger({ component: "dispatcher", write: () => undefined });
    const dispatcher = makeDispatcher({
        env: API_STAGE,
        bucket: API_BUCKET,
        queues: API_QUEUES,
        jobDefinition: "arn:aws:batch:us-east-1:123456789012:job-definition/fs-stg-runner:1",
        defaults,
        batch,
        s3: s3Client,
        db,
        presignPut: (key) => Promise.resolve(`${s3.endpoint}/${API_BUCKET}/${key}?X-Amz-Signature=loopback`),
        log,
        sleep: () => Promise.resolve(),
    });
    const batchEvents = makeBatchEventsHandler({
        db,
        s3: s3Client,
        batch,
        bucket: API_BUCKET,
        onDemandQueue: API_QUEUES.onDemand,
        log: makeLogger({ component: "batch-events", write: () => undefined }),
    });
    const requests: FormSenderApi["requests"] = [];

    const server = http.createServer((req, res) => {
        let body = "";
        req.setEncoding("utf8");
        req.on("data", (c: string) => (body += c));
        req.on("end", () => {
            void (async () => {
                const url = new URL(req.url ?? "/", "http://loopback");
                const reply = (status: number, text: string) => {
                    requests.push({ method: req.method ?? "", url: req.url ?? "", status });
                    res.writeHead(status, { "content-type": "application/json" });
                    res.end(text);
                };
                const stagePrefix = `/${API_STAGE}`;
                const path = url.pathname.startsWith(`${stagePrefix}/`) ? url.pathname.slice(stagePrefix.length) : "";
                const route = path ? matchRoute(req.method ?? "", path) : undefined;
                if (!route) return reply(403, JSON.stringify({ message: "Missing Authentication Token" }));
                const auth = await verifySigV4(req, url, body);
                if (!auth.ok) return reply(403, JSON.stringify({ message: auth.message }));
                const query: Record<string, string> = {};
                for (const [k, v] of url.searchParams) query[k] = v;
                const event: ApiEvent = {
                    httpMethod: req.method ?? "",
                    resource: route.resource,
                    path,
                    pathParameters: Object.keys(route.params).length ? route.params : null,
                    queryStringParameters: Object.keys(query).length ? query : null,
                    body: body === "" ? null : body,
                    isBase64Encoded: false,
                    requestContext: { requestId: randomUUID(), identity: { userArn: auth.arn } },
                };
                const out = await dispatcher(event);
                reply(out.statusCode, out.body);
            })().catch((e: unknown) => {
                res.writeHead(502, { "content-type": "application/json" });
                res.end(JSON.stringify({ message: `Internal server error: ${String(e)}` }));
            });
        });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as AddressInfo).port;
    return {
        baseUrl: `http://127.0.0.1:${port}/${API_STAGE}`,
        sb,
        s3,
        aws,
        requests,
        batchEvent: (detail) =>
            batchEvents({
                "detail-type": "Batch Job State Change",
                source: "aws.batch",
                time: new Date().toISOString(),
                detail,
            }),
        async close() {
            await new Promise<void>((r) => server.close(() => r()));
            await Promise.all([sb.stop(), s3.close(), aws.close()]);
        },
    };
}
