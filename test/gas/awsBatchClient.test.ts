import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import { createHash, createHmac, randomUUID } from "crypto";
import * as fs from "fs";
import * as http from "http";
import * as path from "path";
import * as vm from "vm";
import { Hash } from "@smithy/hash-node";
import { SignatureV4 } from "@smithy/signature-v4";

const GS = fs.readFileSync(path.resolve(__dirname, "..", "..", "gas", "AWSBatchClient.gs"), "utf8");

/** A value from the script's realm as plain data (its arrays and objects have that realm's prototypes). */
const plain = <T>(v: unknown): T => JSON.parse(JSON.stringify(v)) as T;

/** Apps Script byte arrays are signed Java bytes. */
const toSigned = (buf: Buffer) => [...buf].map((b) => (b > 127 ? b - 256 : b));
const toBuffer = (v: string | number[]) =>
    typeof v === "string" ? Buffer.from(v, "utf8") : Buffer.from(v.map((b) => b & 0xff));

/**
 * A synchronous HTTP request, as UrlFetchApp makes them: run in a child node process. The payload reaches it as
 * base64 of the bytes UrlFetchApp would send: a byte array as it is, a string as UTF-8 (url-fetch-app#fetch(String,
 * Object): "It can be a string, a byte array, a blob, or a JavaScript object").
 */
const FETCH_SCRIPT = `
const [url, optsJson] = process.argv.slice(1);
const o = JSON.parse(optsJson);
const body = o.payload === undefined ? undefined : Buffer.from(o.payload, "base64");
fetch(url, { method: o.method.toUpperCase(), headers: o.headers, body }).then(async (r) => {
  process.stdout.write(JSON.stringify({ status: r.status, body: await r.text() }));
}, (e) => { process.stdout.write(JSON.stringify({ error: String(e) })); });
`;

/** UrlFetchApp.fetch's options, as far as the stand-in reads them. */
interface FetchOptions {
    method: string;
    headers?: Record<string, string>;
    payload?: string | number[];
    contentType?: string;
    muteHttpExceptions?: boolean;
}

/** The signing helper AWSBatchClient.gs defines. */
interface GasApi {
    readonly basePath: string;
    sign(
        method: string,
        path: string,
        query: Record<string, string>,
        body: string,
        date: Date,
    ): { url: string; signature: string; headers: Record<string, string> };
}

/** What AWSBatchClient.gs defines in its global scope, as these tests call it. */
interface GasGlobals {
    AWSBatchApi_: new (baseUrl: string, region: string, accessKeyId: string, secretAccessKey: string) => GasApi;
    submitFormSenderJob(targetingId: string, options: Record<string, unknown>): unknown;
    listExecutions(targetingId?: string | null, status?: string): unknown;
    /** The bound on the pages listExecutions reads; a test may lower it. */
    AWS_BATCH_LIST_MAX_PAGES: number;
    uploadClientConfig(config: unknown, targetingId: string): unknown;
    cancelExecution(id: string): unknown;
}

/** What the client throws for an API error answer: the HTTP status and the parsed body. */
interface GasApiError {
    status: number;
    message: string;
    body: { error: { code: string; message: string; details: { path: string }[] | null } };
}

interface Stand {
    context: GasGlobals;
    sleeps: number[];
    fetched: { url: string; options: FetchOptions }[];
}

/** Loads the .gs file into a fresh V8 context with minimal Apps Script stand-ins. */
function loadGas(
    props: Record<string, string>,
    route: (url: string) => string = (u) => u,
    /** true: that fetch throws as UrlFetchApp does when no answer came (the request still went out). */
    dropNext: boolean[] = [],
): Stand {
    const sleeps: number[] = [];
    const fetched: { url: string; options: FetchOptions }[] = [];
    const Utilities = {
        DigestAlgorithm: { SHA_256: "SHA_256" },
        Charset: { UTF_8: "UTF_8" },
        computeDigest: (alg: string, value: string | number[]) => {
            assert.equal(alg, "SHA_256");
            return toSigned(createHash("sha256").update(toBuffer(value)).digest());
        },
        computeHmacSha256Signature: (value: string | number[], key: string | number[]) =>
            toSigned(createHmac("sha256", toBuffer(key)).update(toBuffer(value)).digest()),
        newBlob: (s: string) => ({ getBytes: () => toSigned(Buffer.from(s, "utf8")) }),
        sleep: (ms: number) => void sleeps.push(ms),
        getUuid: () => randomUUID(),
    };
    const UrlFetchApp = {
        fetch: (url: string, options: FetchOptions) => {
            fetched.push({ url, options });
            const out = JSON.parse(
                execFileSync(
                    process.execPath,
                    [
                        "-e",
                        FETCH_SCRIPT,
                        route(url),
                        JSON.stringify({
                            ...options,
                            payload:
                                options.payload === undefined
                                    ? undefined
                                    : toBuffer(options.payload).toString("base64"),
                            headers: {
                                ...(options.headers ?? {}),
                                ...(options.contentType ? { "content-type": options.contentType } : {}),
                            },
                        }),
                    ],
                    { encoding: "utf8" },
                ),
            ) as { status: number; body: string; error?: string };
            if (out.error || dropNext.shift()) throw new Error(`Address unavailable: ${url}`);
            if (out.status >= 400 && !options.muteHttpExceptions)
                throw new Error(`Request failed for ${url} returned code ${out.status}`);
            return { getResponseCode: () => out.status, getContentText: () => out.body };
        },
    };
    const PropertiesService = { getScriptProperties: () => ({ getProperty: (k: string) => props[k] ?? null }) };
    const context = vm.createContext({
        Utilities,
        UrlFetchApp,
        PropertiesService,
        encodeURIComponent,
        decodeURIComponent,
        JSON,
        Date,
        Object,
        String,
        Error,
    });
    vm.runInContext(GS, context, { filename: "AWSBatchClient.gs" });
    // The script's top-level functions are now properties of its context.
    return { context: context as GasGlobals, sleeps, fetched };
}

const PROPS = {
    USE_AWS_BATCH: "true",
    FORM_SENDER_AWS_API_BASE_URL: "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/prd",
    FORM_SENDER_AWS_REGION: "us-east-1",
    FORM_SENDER_AWS_ACCESS_KEY_ID: "AKIDEXAMPLE",
    FORM_SENDER_AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
    FORM_SENDER_S3_BUCKET: "fs-prd-client-config",
};

describe("GAS AWSBatchClient", function () {
    this.timeout(60000);

    it("signs ≥ 200 generated requests exactly as @smithy/signature-v4 does", async () => {
        const { context } = loadGas(PROPS);
        let seed = 7;
        const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
        const pick = <T>(xs: T[]) => xs[Math.floor(rnd() * xs.length)];
        const segs = [
            "form-sender",
            "submit",
            "executions",
            "a b",
            "日本語",
            "100%",
            "x+y",
            "a=b&c",
            "~tilde",
            "(paren)*",
            "emoji😀",
            "semi;colon",
            "enc%2Fslash",
            "UPPER",
            "dash-_.ok",
        ];
        const qvals = ["", "T-1", "a b", "日本", "x&y=z", "50%", "+plus", "*", "~", "🙂"];
        const signer = (region: string) =>
            new SignatureV4({
                service: "execute-api",
                region,
                credentials: {
                    accessKeyId: PROPS.FORM_SENDER_AWS_ACCESS_KEY_ID,
                    secretAccessKey: PROPS.FORM_SENDER_AWS_SECRET_ACCESS_KEY,
                },
                sha256: Hash.bind(null, "sha256"),
                uriEscapePath: true,
            });
        for (let i = 0; i < 220; i++) {
            const region = pick(["us-east-1", "ap-northeast-1"]);
            const api = new context.AWSBatchApi_(
                `https://abc${i}.execute-api.${region}.amazonaws.com/${pick(["prd", "stg", "v1"])}`,
                region,
                PROPS.FORM_SENDER_AWS_ACCESS_KEY_ID,
                PROPS.FORM_SENDER_AWS_SECRET_ACCESS_KEY,
            );
            const method = pick(["GET", "POST", "PUT", "DELETE"]);
            const p = "/" + Array.from({ length: 1 + Math.floor(rnd() * 4) }, () => pick(segs)).join("/");
            const query: Record<string, string> = {};
            for (let q = Math.floor(rnd() * 4); q > 0; q--)
                query[pick(["targeting_id", "status", "a", "Z", "sp ace", "日本"])] = pick(qvals);
            const body = method === "GET" ? "" : JSON.stringify({ targeting_id: `T${i}`, note: pick(qvals), n: i });
            const date = new Date(
                Date.UTC(
                    2020 + Math.floor(rnd() * 7),
                    Math.floor(rnd() * 12),
                    1 + Math.floor(rnd() * 28),
                    Math.floor(rnd() * 24),
                    Math.floor(rnd() * 60),
                    Math.floor(rnd() * 60),
                ),
            );
            const ours = api.sign(method, api.basePath + p, query, body, date);
            const url = new URL(ours.url);
            const reference = await signer(region).sign(
                {
                    method,
                    protocol: "https:",
                    hostname: url.hostname,
                    path: url.pathname,
                    query,
                    headers: { host: url.hostname },
                    body,
                },
                { signingDate: date },
            );
            const expected = /Signature=([0-9a-f]{64})/.exec(reference.headers.authorization)![1];
            assert.equal(ours.signature, expected, `request ${i}: ${method} ${url.pathname} ${JSON.stringify(query)}`);
            assert.equal(ours.headers.Authorization, reference.headers.authorization);
        }
    });

    describe("against a loopback API", () => {
        // UrlFetchApp is synchronous, so the stand-in blocks this process: the API must live in
        // another one. It answers from a script of responses and records what it received.
        const SERVER = `
            const http = require("http"), crypto = require("crypto");
            let script = [], seen = [];
            http.createServer(async (req, res) => {
                const chunks = []; for await (const c of req) chunks.push(c);
                const raw = Buffer.concat(chunks), body = raw.toString("utf8");
                const sha256 = crypto.createHash("sha256").update(raw).digest("hex");
                if (req.url === "/__script") { script = JSON.parse(body); seen = []; res.end("{}"); return; }
                if (req.url === "/__seen") { res.end(JSON.stringify(seen)); return; }
                seen.push({ method: req.method, url: req.url, headers: req.headers, body, sha256 });
                const next = script.shift() || { status: 200, body: "{}" };
                res.writeHead(next.status, { "content-type": "application/json" }); res.end(next.body);
            }).listen(0, "127.0.0.1", function () { process.stdout.write(String(this.address().port) + "\\n"); });
        `;
        let child: import("child_process").ChildProcess;
        let base: string;
        /** What the API received; sha256 is over the body's bytes as they arrived. */
        let seen: { method: string; url: string; headers: Record<string, string>; body: string; sha256: string }[] = [];
        // One connection per call (agent: false): a kept-alive socket may have timed out on the server
        // while a slow stand-in fetch ran, and reusing it fails with "other side closed".
        const control = (path: string, body?: string) =>
            new Promise<string>((resolve, reject) => {
                const req = http.request(`${base}${path}`, { method: body ? "POST" : "GET", agent: false }, (res) => {
                    let text = "";
                    res.on("data", (c: Buffer) => (text += c.toString("utf8")));
                    res.on("end", () => resolve(text));
                });
                req.on("error", reject);
                req.end(body);
            });
        const setScript = (s: { status: number; body: string }[]) => control("/__script", JSON.stringify(s));
        const loadSeen = async () => (seen = JSON.parse(await control("/__seen")) as typeof seen);
        before(async () => {
            child = (await import("child_process")).spawn(process.execPath, ["-e", SERVER], {
                stdio: ["ignore", "pipe", "inherit"],
            });
            const port = await new Promise<string>((resolve) =>
                child.stdout!.once("data", (d) => resolve(String(d).trim())),
            );
            base = `http://127.0.0.1:${port}`;
        });
        after(() => child.kill());
        beforeEach(() => setScript([]));
        const gas = () => loadGas(PROPS, (u) => u.replace(/^https:\/\/[^/]+/, base));

        it("retries 429, 503 and 504 after 1 s, 4 s and 9 s with one idempotency key, then returns the answer", async () => {
            await setScript([
                { status: 429, body: '{"message":"Too Many Requests"}' },
                { status: 503, body: "{}" },
                { status: 504, body: '{"message":"Endpoint request timed out"}' },
                { status: 200, body: '{"execution_id":"e1","duplicate":false}' },
            ]);
            const g = gas();
            const out = g.context.submitFormSenderJob("T42", {
                execution: { run_total: 3 },
                client_config_object: "client-config/x.json",
            });
            assert.deepEqual(out, { execution_id: "e1", duplicate: false });
            assert.deepEqual(g.sleeps, [1000, 4000, 9000]);
            await loadSeen();
            assert.equal(seen.length, 4);
            assert.equal(seen[0].url, "/prd/form-sender/submit");
            const sent = seen.map((r) => JSON.parse(r.body) as Record<string, unknown>);
            const key = String(sent[0].idempotency_key);
            assert.match(key, /^gas-[0-9a-f-]{36}$/);
            assert.deepEqual(sent[0], {
                execution: { run_total: 3 },
                client_config_object: "client-config/x.json",
                targeting_id: "T42",
                idempotency_key: key,
            });
            // Every retry of one logical submit carries the same key; the next submit gets another.
            assert.deepEqual(
                sent.map((b) => b.idempotency_key),
                [key, key, key, key],
            );
            assert.match(
                String(seen[0].headers.authorization),
                /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/us-east-1\/execute-api\/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=[0-9a-f]{64}$/,
            );
        });

        it("sends a Japanese body as the very UTF-8 bytes it signed, and the API's SigV4 check accepts it", async () => {
            await setScript([{ status: 200, body: '{"execution_id":"e1","duplicate":false}' }]);
            const g = gas();
            g.context.submitFormSenderJob("T-東京", {
                execution: { run_total: 1 },
                client_config_object: "client-config/株式会社テスト.json",
            });
            // A byte array, not a string whose charset UrlFetchApp would choose.
            const payload = g.fetched[0].options.payload;
            assert.ok(Array.isArray(payload), `payload is ${typeof payload}`);
            await loadSeen();
            const got = seen[0];
            assert.equal((JSON.parse(got.body) as { targeting_id: string }).targeting_id, "T-東京");
            assert.ok(Buffer.byteLength(got.body, "utf8") > got.body.length, "the body has multi-byte characters");
            assert.equal(got.headers["x-amz-content-sha256"], got.sha256);
            // The whole signature, as API Gateway checks it, over the bytes that arrived.
            const original = new URL(g.fetched[0].url);
            const date = got.headers["x-amz-date"].replace(
                /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/,
                "$1-$2-$3T$4:$5:$6Z",
            );
            const expected = await new SignatureV4({
                service: "execute-api",
                region: "us-east-1",
                credentials: {
                    accessKeyId: PROPS.FORM_SENDER_AWS_ACCESS_KEY_ID,
                    secretAccessKey: PROPS.FORM_SENDER_AWS_SECRET_ACCESS_KEY,
                },
                sha256: Hash.bind(null, "sha256"),
                uriEscapePath: true,
            }).sign(
                {
                    method: "POST",
                    protocol: "https:",
                    hostname: original.hostname,
                    path: original.pathname,
                    query: {},
                    headers: { host: original.hostname },
                    body: got.body,
                },
                { signingDate: new Date(date) },
            );
            assert.equal(got.headers.authorization, expected.headers.authorization);
        });

        it("gives up after the third retry and throws the API's error body", async () => {
            await setScript(
                [503, 503, 503, 503].map((status) => ({
                    status,
                    body: '{"error":{"code":"database_unavailable","message":"boom","details":null}}',
                })),
            );
            const g = gas();
            assert.throws(
                () => g.context.listExecutions("T1", "running"),
                (e) => {
                    const err = e as GasApiError;
                    return (
                        err.status === 503 &&
                        err.body.error.code === "database_unavailable" &&
                        /HTTP 503: boom/.test(err.message)
                    );
                },
            );
            await loadSeen();
            assert.equal(seen.length, 4);
            assert.equal(seen[0].url, "/prd/form-sender/executions?status=running&targeting_id=T1");
        });

        it("does not retry a 500 or a 502 (the dispatcher gave up and marked the execution failed)", async () => {
            for (const status of [500, 502]) {
                await setScript([
                    {
                        status,
                        body: '{"error":{"code":"batch_submit_failed","message":"AWS Batch did not accept the job","details":null}}',
                    },
                    { status: 200, body: '{"execution_id":"e1","duplicate":true,"status":"failed"}' },
                ]);
                const g = gas();
                assert.throws(
                    () => g.context.submitFormSenderJob("T1", { execution: { run_total: 1 } }),
                    (e) => (e as GasApiError).status === status,
                );
                assert.deepEqual(g.sleeps, []);
                await loadSeen();
                assert.equal(seen.length, 1);
            }
        });

        it("follows the error body's retryable flag over the status", async () => {
            await setScript([
                { status: 503, body: '{"error":{"code":"x","message":"no use","details":null,"retryable":false}}' },
            ]);
            const g = gas();
            assert.throws(
                () => g.context.listExecutions(),
                (e) => (e as GasApiError).status === 503,
            );
            assert.deepEqual(g.sleeps, []);
            await setScript([
                { status: 500, body: '{"error":{"code":"x","message":"try again","details":null,"retryable":true}}' },
                { status: 200, body: '{"executions":[]}' },
            ]);
            const g2 = gas();
            // plain(): the answer is built in the script's realm, whose objects have other prototypes than this one's.
            assert.deepEqual(plain(g2.context.listExecutions()), { executions: [] });
            assert.deepEqual(g2.sleeps, [1000]);
        });

        it("retries network exceptions with the same idempotency key; a lost answer comes back as the duplicate", async () => {
            await setScript([
                { status: 200, body: '{"execution_id":"e7","duplicate":false,"status":"submitted"}' },
                { status: 200, body: '{"execution_id":"e7","duplicate":true,"status":"submitted"}' },
            ]);
            // The first request reaches the API but its answer is lost; UrlFetchApp throws.
            const g = loadGas(PROPS, (u) => u.replace(/^https:\/\/[^/]+/, base), [true]);
            const out = g.context.submitFormSenderJob("T7", { execution: { run_total: 1 } });
            assert.deepEqual(out, { execution_id: "e7", duplicate: true, status: "submitted" });
            assert.deepEqual(g.sleeps, [1000]);
            await loadSeen();
            assert.equal(seen.length, 2);
            const keys = seen.map((r) => (JSON.parse(r.body) as { idempotency_key: string }).idempotency_key);
            assert.equal(keys[0], keys[1]);
        });

        it("throws on a duplicate whose execution failed, naming the key and the error", async () => {
            await setScript([
                {
                    status: 200,
                    body: '{"execution_id":"e9","duplicate":true,"status":"failed","error":"SubmitJob failed"}',
                },
            ]);
            const g = gas();
            assert.throws(
                () =>
                    g.context.submitFormSenderJob("T9", {
                        idempotency_key: "T9-2026112710",
                        execution: { run_total: 1 },
                    }),
                (e) => {
                    const err = e as GasApiError;
                    return (
                        err.status === 409 &&
                        /execution e9 of idempotency key T9-2026112710 is failed \(SubmitJob failed\)/.test(err.message)
                    );
                },
            );
        });

        it("gives up after three retries of network exceptions with status 0", () => {
            const g = loadGas(PROPS, (u) => u.replace(/^https:\/\/[^/]+/, base), [true, true, true, true]);
            assert.throws(
                () => g.context.listExecutions(),
                (e) => (e as GasApiError).status === 0 && /failed without an answer/.test((e as Error).message),
            );
            assert.deepEqual(g.sleeps, [1000, 4000, 9000]);
        });

        it("does not retry a 400 and surfaces every validation problem", async () => {
            await setScript([
                {
                    status: 400,
                    body: '{"error":{"code":"invalid_request","message":"the submit body is invalid","details":[{"path":"/execution/run_total","message":"must be <= 10000"}]}}',
                },
            ]);
            const g = gas();
            assert.throws(
                () => g.context.submitFormSenderJob("T1", { execution: { run_total: 20000 } }),
                (e) => {
                    const err = e as GasApiError;
                    return err.status === 400 && err.body.error.details?.[0].path === "/execution/run_total";
                },
            );
            assert.deepEqual(g.sleeps, []);
        });

        /** A page of `n` executions numbered from `from`, as GET /form-sender/executions answers it. */
        const listPage = (from: number, n: number, nextCursor: string | null | undefined) => ({
            status: 200,
            body: JSON.stringify({
                executions: Array.from({ length: n }, (_, i) => ({
                    execution_id: `e${from + i}`,
                    targeting_id: `T${from + i}`,
                    status: "running",
                })),
                ...(nextCursor === undefined ? {} : { next_cursor: nextCursor }),
            }),
        });

        it("listExecutions follows next_cursor until null and returns every execution of every page", async () => {
            await setScript([
                listPage(0, 100, "Y3Vyc29yLTE"),
                listPage(100, 100, "Y3Vyc29yLTI"),
                listPage(200, 30, null),
            ]);
            const g = gas();
            const out = plain<{ executions: { execution_id: string }[] }>(
                g.context.listExecutions(null, "pending,submitted,running"),
            );
            assert.deepEqual(Object.keys(out), ["executions"]);
            assert.deepEqual(
                out.executions.map((e) => e.execution_id),
                Array.from({ length: 230 }, (_, i) => `e${i}`),
            );
            await loadSeen();
            assert.deepEqual(
                seen.map((r) => r.url),
                [
                    "/prd/form-sender/executions?status=pending%2Csubmitted%2Crunning",
                    "/prd/form-sender/executions?cursor=Y3Vyc29yLTE&status=pending%2Csubmitted%2Crunning",
                    "/prd/form-sender/executions?cursor=Y3Vyc29yLTI&status=pending%2Csubmitted%2Crunning",
                ],
            );
        });

        it("listExecutions reads one page from an API that answers no next_cursor (before paging)", async () => {
            await setScript([listPage(0, 3, undefined), listPage(3, 3, undefined)]);
            const g = gas();
            assert.equal(plain<{ executions: unknown[] }>(g.context.listExecutions("T1")).executions.length, 3);
            await loadSeen();
            assert.equal(seen.length, 1);
        });

        it("listExecutions stops at AWS_BATCH_LIST_MAX_PAGES (50) pages with an error naming it", async () => {
            assert.equal(gas().context.AWS_BATCH_LIST_MAX_PAGES, 50);
            await setScript([0, 1, 2, 3].map((i) => listPage(i * 2, 2, `c${i}`)));
            const g = gas();
            // Lowered for the test: 50 stand-in fetches would each start a process.
            g.context.AWS_BATCH_LIST_MAX_PAGES = 3;
            assert.throws(
                () => g.context.listExecutions(),
                (e: Error) =>
                    e.message ===
                    "listExecutions read AWS_BATCH_LIST_MAX_PAGES (3) pages of GET /form-sender/executions (6 " +
                        "executions) and the API still answered a next_cursor; list with a targeting id or a status " +
                        "to read fewer, or raise AWS_BATCH_LIST_MAX_PAGES if that many executions are expected",
            );
            await loadSeen();
            assert.equal(seen.length, 3);
        });

        it("uploads a client config through the presigned URL and returns its key", async () => {
            const g = gas();
            await setScript([
                {
                    status: 200,
                    body: JSON.stringify({
                        url: `${base}/upload-target?X-Amz-Signature=abc`,
                        key: "client-config/prd/uploads/T1/k.json",
                    }),
                },
                { status: 200, body: "" },
            ]);
            assert.equal(
                g.context.uploadClientConfig({ client: { company_name: "株式会社エー" } }, "T1"),
                "client-config/prd/uploads/T1/k.json",
            );
            await loadSeen();
            assert.equal(seen[1].method, "PUT");
            assert.equal(seen[1].url, "/upload-target?X-Amz-Signature=abc");
            assert.equal(seen[1].headers.authorization, undefined);
            assert.deepEqual(JSON.parse(seen[1].body), { client: { company_name: "株式会社エー" } });
        });

        /** The API's answer to POST /form-sender/client-config-upload (`base` is known once the front runs). */
        const uploadAnswer = () => ({
            status: 200,
            body: JSON.stringify({
                url: `${base}/upload-target?X-Amz-Signature=abc`,
                key: "client-config/prd/uploads/T1/k.json",
            }),
        });

        it("retries the upload PUT on S3's 500 and 503 and on no answer, with the same bytes, then returns the key", async () => {
            // The third PUT gets no answer (its request still arrives), the fourth succeeds.
            const g = loadGas(PROPS, (u) => u.replace(/^https:\/\/[^/]+/, base), [false, false, false, true]);
            await setScript([
                uploadAnswer(),
                { status: 503, body: "<Code>SlowDown</Code>" },
                { status: 500, body: "" },
                { status: 200, body: "" },
                { status: 200, body: "" },
            ]);
            const config = { client: { company_name: "株式会社エー" } };
            assert.equal(g.context.uploadClientConfig(config, "T1"), "client-config/prd/uploads/T1/k.json");
            assert.deepEqual(g.sleeps, [1000, 4000, 9000]);
            await loadSeen();
            const puts = seen.filter((r) => r.method === "PUT");
            assert.equal(puts.length, 4);
            for (const put of puts) assert.deepEqual(JSON.parse(put.body), config);
        });

        it("does not retry an upload refused for good (403: the URL expired or was altered)", async () => {
            await setScript([uploadAnswer(), { status: 403, body: "<Code>AccessDenied</Code>" }]);
            const g = gas();
            assert.throws(
                () => g.context.uploadClientConfig({ client: { company_name: "A" } }, "T1"),
                (e) =>
                    (e as GasApiError).status === 403 &&
                    (e as Error).message === "client config upload failed with HTTP 403",
            );
            assert.deepEqual(g.sleeps, []);
            await loadSeen();
            assert.equal(seen.filter((r) => r.method === "PUT").length, 1);
        });

        it("never vetoes a call the routing chose: works with USE_AWS_BATCH unset or FALSE", async () => {
            const { USE_AWS_BATCH: _, ...unset } = PROPS;
            for (const props of [unset, { ...PROPS, USE_AWS_BATCH: "FALSE" }]) {
                await setScript([
                    { status: 200, body: '{"execution_id":"e2","duplicate":false,"status":"submitted"}' },
                ]);
                const g = loadGas(props, (u) => u.replace(/^https:\/\/[^/]+/, base));
                assert.deepEqual(g.context.submitFormSenderJob("T2", { execution: { run_total: 1 } }), {
                    execution_id: "e2",
                    duplicate: false,
                    status: "submitted",
                });
                await loadSeen();
                assert.equal(seen.length, 1);
            }
        });

        it("lists the API's details in the error of a 400, each field with what is wrong", async () => {
            await setScript([
                {
                    status: 400,
                    body: JSON.stringify({
                        error: {
                            code: "invalid_request",
                            message: "the submit body is invalid",
                            details: [
                                { path: "/execution/run_total", message: "must be <= 10000" },
                                { path: "/batch/max_parallelism", message: "is not supported" },
                            ],
                            retryable: false,
                        },
                    }),
                },
            ]);
            assert.throws(
                () => gas().context.submitFormSenderJob("T1", { execution: { run_total: 20000 } }),
                new RegExp(
                    "HTTP 400: the submit body is invalid " +
                        "\\(/execution/run_total must be <= 10000; /batch/max_parallelism is not supported\\)$",
                ),
            );
        });

        it("refuses a presigned upload URL over UrlFetchApp's 2,082 characters and sends nothing to it", async () => {
            const long = `${base}/upload-target?X-Amz-Security-Token=${"A".repeat(2100)}`;
            await setScript([{ status: 200, body: JSON.stringify({ url: long, key: "client-config/k.json" }) }]);
            const g = gas();
            assert.throws(
                () => g.context.uploadClientConfig({ client: { company_name: "A" } }, "T1"),
                new RegExp(
                    "the presigned upload URL of POST /form-sender/client-config-upload is " +
                        `${long.length} characters; ` +
                        "UrlFetchApp fetches at most 2082",
                ),
            );
            await loadSeen();
            assert.deepEqual(
                seen.map((r) => r.method),
                ["POST"],
            );
        });

        it("cancels by id and refuses to run when a Script Property is missing", async () => {
            await setScript([{ status: 200, body: '{"status":"cancelled"}' }]);
            assert.deepEqual(gas().context.cancelExecution("0000-aa"), { status: "cancelled" });
            await setScript([
                {
                    status: 409,
                    body: '{"error":{"code":"already_finished","message":"already cancelled","details":{"status":"cancelled"}}}',
                },
            ]);
            // The answer is built in the script's own realm: compared as JSON.
            assert.deepEqual(JSON.parse(JSON.stringify(gas().context.cancelExecution("0000-aa"))), {
                execution_id: "0000-aa",
                status: "cancelled",
                already: true,
            });
            await setScript([
                {
                    status: 409,
                    body: '{"error":{"code":"already_finished","message":"already failed","details":{"status":"failed"}}}',
                },
            ]);
            assert.throws(
                () => gas().context.cancelExecution("0000-aa"),
                (e) => (e as GasApiError).status === 409,
            );
            await setScript([{ status: 200, body: '{"status":"cancelled"}' }]);
            gas().context.cancelExecution("0000-aa");
            await loadSeen();
            assert.equal(seen[0].url, "/prd/form-sender/executions/0000-aa/cancel");
            const { FORM_SENDER_AWS_SECRET_ACCESS_KEY: _, ...missing } = PROPS;
            assert.throws(
                () => loadGas(missing).context.listExecutions(),
                /FORM_SENDER_AWS_SECRET_ACCESS_KEY is not set; paste the output of `npm run gas-config/,
            );
        });
    });
});
