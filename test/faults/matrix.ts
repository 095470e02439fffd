/**
 * The send path's fault matrix (issue 14): real PostgreSQL with the migrations, the PostgREST-
 * style RPC server (behind a proxy that can cut calls), the runner's container entry compiled as
 * the image compiles it and run as Batch runs it (real Chromium), loopback company sites that
 * count accepted submissions per company, the dispatcher and batch-events handlers with their
 * real AWS SDK clients against the Batch and S3 stand-ins, and the GAS client (AWSBatchClient.gs
 * in V8 with a blocking UrlFetchApp stand-in, in a child process).
 *
 * Each scenario records, per company, how many submissions its site accepted, and how many queue
 * items ended in each state; pass: at most one submission per company, no item lost (each pending,
 * sent, skipped, failed or unknown, with a reason), every failure GAS met reported as a failure.
 * Used by test/faults/faults.test.ts and `npm run bench -- faults`.
 */
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as http from "http";
import type { AddressInfo } from "net";
import * as path from "path";
import { BatchClient, type SubmitJobCommandInput } from "@aws-sdk/client-batch";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { createClient } from "@supabase/supabase-js";
import { Pool } from "pg";
import { makeBatchEventsHandler, type BatchEvent, type BatchJobDetail } from "../../functions/formSender/batchEvents";
import { makeDispatcher, type ApiEvent, type RpcClient } from "../../functions/formSender/dispatcher";
import { AWS_ERRORS, startAwsApiServer, type AwsApiServer } from "../support/awsApiServer";
import { startPostgres, type TestPostgres } from "../support/postgres";
import { startRpcServer, type RpcServer } from "../support/rpcServer";
import { startS3Server, S3_ERRORS, type S3Server } from "../support/s3Server";
import { startSecretsManager, type SecretsManagerServer } from "../support/secretsManagerServer";
import { ANON_KEY, applyMigrations, createSupabaseRoles, SERVICE_ROLE_KEY } from "../support/supabase";
import { startCompanySites, startRpcProxy, type CompanySites, type RpcProxy } from "./loopback";

const ROOT = path.resolve(__dirname, "..", "..");
const BUCKET = "fs-client-config";
const CONFIG_KEY = "client-config/faults/config.json";
const CONFIG_TEXT = fs.readFileSync(path.join(ROOT, "test", "runner", "fixtures", "client_config.json"), "utf8");
const GAS_FILE = path.join(ROOT, "gas", "AWSBatchClient.gs");
/** The runner reads the Supabase URL and key by ARN from Secrets Manager (containers/runner/src/secrets.ts). */
const SECRET_ARN = (what: string) =>
    `arn:aws:secretsmanager:us-east-1:123456789012:secret:/fs-runner/faults/supabase/${what}-AbCdEf`;

export type ItemState = "pending" | "sent" | "skipped" | "failed" | "unknown" | "lost";

export interface ScenarioResult {
    readonly id: number;
    readonly name: string;
    /** Company label (c1, c2, …) → submissions its site accepted. */
    readonly sends: Record<string, number>;
    readonly items: Partial<Record<ItemState, number>>;
    /** Calls the GAS client made that failed, and how many of those it reported as failures. */
    readonly gasFailures: number;
    readonly silentFailures: number;
    /** Facts the scenario checked beyond the counts, each true when it held. */
    readonly checks: Record<string, boolean>;
}

export interface MatrixResult {
    readonly scenarios: ScenarioResult[];
    readonly doubleSends: number;
    readonly lost: number;
    readonly silentFailures: number;
}

interface Env {
    readonly pg: TestPostgres;
    readonly db: Pool;
    readonly rpc: RpcServer;
    readonly proxy: RpcProxy;
    readonly sites: CompanySites;
    readonly s3: S3Server;
    readonly aws: AwsApiServer;
    readonly sm: SecretsManagerServer;
    /** The Supabase URL the runner's secret holds (the proxy in front of the scenario's database). */
    readonly secrets: { url: string };
    readonly entry: string;
}

/** Rows of the queue with what the end state needs. */
interface QueueRow {
    readonly id: string;
    readonly company: string;
    readonly status: string;
    readonly intent: boolean;
    readonly outcome_reason: string | null;
    readonly result: string | null;
    readonly detail: string | null;
}

/** One queued company of a scenario: its label in the matrix, site key and queue item id. */
interface Company {
    readonly label: string;
    readonly key: string;
    readonly itemId: number;
}

interface RunnerRun {
    readonly child: ChildProcess;
    readonly lines: Array<Record<string, unknown>>;
    readonly exit: Promise<number>;
}

// ---- shared environment ---------------------------------------------------------------------

async function compileRunner(outDir: string): Promise<string> {
    const tsc = spawn(
        process.execPath,
        [
            path.join(ROOT, "node_modules", "typescript", "bin", "tsc"),
            "-p",
            "containers/runner/tsconfig.build.json",
            "--outDir",
            outDir,
        ],
        { cwd: ROOT, stdio: "inherit" },
    );
    const code = await new Promise<number>((r) => tsc.on("exit", (c) => r(c ?? 1)));
    if (code !== 0) throw new Error("the runner does not compile with containers/runner/tsconfig.build.json");
    return path.join(outDir, "containers", "runner", "src", "main.js");
}

/** A fresh database with Supabase's roles and (unless `migrate` is false) the migrations. */
async function createDatabase(pg: TestPostgres, name: string, migrate = true): Promise<Pool> {
    const db = new Pool({ connectionString: await pg.createDatabase(name), max: 8 });
    db.on("error", () => undefined);
    await createSupabaseRoles(db);
    if (migrate) await applyMigrations(db);
    return db;
}

async function startEnv(buildDir: string): Promise<Env> {
    const [pg, sites, s3, aws, entry] = await Promise.all([
        startPostgres(),
        startCompanySites(),
        startS3Server(),
        startAwsApiServer(),
        compileRunner(buildDir),
    ]);
    const db = await createDatabase(pg, `faults_${process.pid}`);
    const rpc = await startRpcServer({
        connectionString: (db.options as { connectionString: string }).connectionString,
        serviceRoleKey: SERVICE_ROLE_KEY,
        anonKey: ANON_KEY,
    });
    const proxy = await startRpcProxy(rpc.url);
    const secrets = { url: proxy.url };
    const sm = await startSecretsManager((id) =>
        id === SECRET_ARN("url") ? secrets.url : id === SECRET_ARN("key") ? SERVICE_ROLE_KEY : undefined,
    );
    await s3Client(s3).send(
        new PutObjectCommand({ Bucket: BUCKET, Key: CONFIG_KEY, Body: CONFIG_TEXT, ContentType: "application/json" }),
    );
    return { pg, db, rpc, proxy, sites, s3, aws, sm, secrets, entry };
}

async function stopEnv(env: Env): Promise<void> {
    await env.proxy.close();
    await env.rpc.close();
    await env.db.end();
    await Promise.all([env.sites.close(), env.s3.close(), env.aws.close(), env.sm.close()]);
    await env.pg.stop();
}

const CREDENTIALS = { accessKeyId: "test", secretAccessKey: "test" };
const s3Client = (s3: S3Server) =>
    new S3Client({ endpoint: s3.endpoint, forcePathStyle: true, region: "us-east-1", credentials: CREDENTIALS });

// ---- data -----------------------------------------------------------------------------------

async function seed(db: Pool, sites: CompanySites, targeting: string, n: number): Promise<Company[]> {
    const out: Company[] = [];
    for (let i = 1; i <= n; i++) {
        const key = `${targeting}-c${i}`;
        const c = await db.query<{ id: string }>(
            "insert into companies (name, form_url) values ($1, $2) returning id",
            [`株式会社障害試験${targeting}${i}`, sites.url(key)],
        );
        const q = await db.query<{ id: string }>(
            "insert into send_queue (targeting_id, company_id) values ($1, $2) returning id",
            [targeting, c.rows[0].id],
        );
        out.push({ label: `c${i}`, key, itemId: Number(q.rows[0].id) });
    }
    return out;
}

async function createExecution(db: Pool, targeting: string): Promise<string> {
    const r = await db.query<{ e: { id: string } }>(
        "select create_job_execution($1, 1, 1, false, null, '{}'::jsonb) as e",
        [targeting],
    );
    return r.rows[0].e.id;
}

/** Each item's end state; "lost" when it is in none of the end states or has no reason. */
async function itemStates(db: Pool, targeting: string): Promise<{ items: Partial<Record<ItemState, number>> }> {
    const rows = await db.query<QueueRow>(
        `select q.id, c.name as company, q.status, q.send_intent_at is not null as intent, q.outcome_reason,
                q.lease_owner, q.send_intent_owner,
                s.status as result, s.detail
         from send_queue q join companies c on c.id = q.company_id
         left join submissions s on s.queue_item_id = q.id
         where q.targeting_id = $1 order by q.id`,
        [targeting],
    );
    const items: Partial<Record<ItemState, number>> = {};
    for (const r of rows.rows) {
        let state: ItemState;
        if (r.status === "pending" && !r.intent) state = "pending";
        else if (r.status === "done" && r.result === "sent") state = "sent";
        else if (r.status === "done" && r.result && r.detail) state = "skipped";
        else if (r.status === "failed" && r.result === "failed" && r.detail) state = "failed";
        else if (r.status === "unknown" && r.outcome_reason) state = "unknown";
        else {
            state = "lost";
            process.stderr.write(`lost item: ${JSON.stringify(r)}\n`);
        }
        items[state] = (items[state] ?? 0) + 1;
    }
    return { items };
}

function sendsOf(sites: CompanySites, companies: Company[]): Record<string, number> {
    return Object.fromEntries(companies.map((c) => [c.label, sites.accepted.get(c.key) ?? 0]));
}

// ---- the runner -----------------------------------------------------------------------------

function startRunner(env: Env, vars: Record<string, string>): RunnerRun {
    const child = spawn(process.execPath, [env.entry], {
        cwd: ROOT,
        env: {
            PATH: process.env.PATH ?? "",
            HOME: process.env.HOME ?? "/tmp",
            AWS_BATCH_JOB_ATTEMPT: "1",
            AWS_BATCH_CE_NAME: "fs-spot-ce",
            AWS_BATCH_JQ_NAME: "fs-queue-spot",
            FORM_SENDER_ENV: "aws_batch",
            FORM_SENDER_RUN_TOTAL: "1",
            FORM_SENDER_TOTAL_SHARDS: "1",
            FORM_SENDER_WORKERS: "1",
            FORM_SENDER_CLIENT_CONFIG_URL: `s3://${BUCKET}/${CONFIG_KEY}`,
            FORM_SENDER_SEND_END_TIME: "23:59",
            FORM_SENDER_FORM_TIMEOUT_SECONDS: "60",
            SUPABASE_URL_SECRET_ARN: SECRET_ARN("url"),
            SUPABASE_KEY_SECRET_ARN: SECRET_ARN("key"),
            AWS_ENDPOINT_URL_SECRETS_MANAGER: env.sm.endpoint,
            // Tests run as root, where Chromium's sandbox cannot start (as test/runner/job.e2e.test.ts).
            ...(process.getuid?.() === 0 ? { RUNNER_ALLOW_NO_SANDBOX: "1" } : {}),
            AWS_ENDPOINT_URL_S3: env.s3.endpoint,
            AWS_REGION: "us-east-1",
            AWS_ACCESS_KEY_ID: "test",
            AWS_SECRET_ACCESS_KEY: "test",
            ...vars,
        },
        stdio: ["ignore", "pipe", "pipe"],
    });
    const lines: Array<Record<string, unknown>> = [];
    let buf = "";
    child.stdout?.on("data", (d: Buffer) => {
        buf += d.toString("utf8");
        let nl: number;
        while ((nl = buf.indexOf("\n")) >= 0) {
            const line = buf.slice(0, nl);
            buf = buf.slice(nl + 1);
            try {
                lines.push(JSON.parse(line) as Record<string, unknown>);
            } catch {
                lines.push({ raw: line });
            }
        }
    });
    let stderr = "";
    child.stderr?.on("data", (d: Buffer) => (stderr += d.toString("utf8")));
    const exit = new Promise<number>((resolve) =>
        child.on("exit", (code, signal) => {
            if (process.env.FAULTS_DEBUG || (code !== null && ![0, 143].includes(code)))
                process.stderr.write(
                    `runner ${vars.AWS_BATCH_JOB_ID}#${vars.AWS_BATCH_JOB_ATTEMPT} exited ${code ?? signal}: ${stderr}\n` +
                        `${lines.map((l) => JSON.stringify(l)).join("\n")}\n`,
                );
            resolve(code ?? (signal === "SIGKILL" ? 137 : 128));
        }),
    );
    return { child, lines, exit };
}

/** The runner environment of a plain (non-array) job for `executionId`. */
const jobVars = (jobId: string, executionId: string, attempt: number, extra: Record<string, string> = {}) => ({
    AWS_BATCH_JOB_ID: jobId,
    AWS_BATCH_JOB_ATTEMPT: String(attempt),
    FORM_SENDER_EXECUTION_ID: executionId,
    ...extra,
});

// ---- Batch events ---------------------------------------------------------------------------

function batchEvents(env: Env) {
    return makeBatchEventsHandler({
        bucket: BUCKET,
        onDemandQueue: "fs-ondemand",
        batch: new BatchClient({ endpoint: env.aws.endpoint, region: "us-east-1", credentials: CREDENTIALS }),
        s3: s3Client(env.s3),
        db: () => Promise.resolve(rpcClient(env.rpc.url)),
        log: () => undefined,
    });
}

const rpcClient = (url: string): RpcClient =>
    createClient(url, SERVICE_ROLE_KEY, { auth: { persistSession: false, autoRefreshToken: false } });

type AttemptEnd = { exitCode: number; reason?: string };

/** A "Batch Job State Change" event of a plain job whose finished attempts are `attempts`. */
function jobEvent(jobId: string, executionId: string, status: BatchJobDetail["status"], attempts: AttemptEnd[]) {
    const event: BatchEvent = {
        "detail-type": "Batch Job State Change",
        source: "aws.batch",
        time: new Date().toISOString(),
        detail: {
            jobId,
            jobName: `faults-${jobId}`,
            jobQueue: "arn:aws:batch:us-east-1:123456789012:job-queue/fs-spot",
            status,
            attempts: attempts.map((a) => ({
                container: { exitCode: a.exitCode, ...(a.reason ? { reason: a.reason } : {}) },
                statusReason: a.reason,
            })),
            container: {
                environment: [
                    { name: "FORM_SENDER_EXECUTION_ID", value: executionId },
                    { name: "FORM_SENDER_CLIENT_CONFIG_URL", value: `s3://${BUCKET}/${CONFIG_KEY}-${jobId}` },
                ],
            },
        },
    };
    return event;
}

async function executionRow(db: Pool, id: string) {
    const r = await db.query<{ status: string; unknown_items: number }>(
        "select status, unknown_items from job_executions where id = $1",
        [id],
    );
    return r.rows[0];
}

// ---- the dispatcher behind a loopback "API Gateway", and the GAS client --------------------

interface Front {
    readonly base: string;
    /** Answers to drop after the request was handled (the caller sees a network exception). */
    dropAnswers: number;
    close(): Promise<void>;
}

async function startFront(env: Env): Promise<Front> {
    const handler = makeDispatcher({
        env: "faults",
        bucket: BUCKET,
        queues: { spot: "fs-spot", spotThenOnDemand: "fs-spot-then-ondemand", onDemand: "fs-ondemand" },
        jobDefinition: "fs-runner:1",
        batch: new BatchClient({ endpoint: env.aws.endpoint, region: "us-east-1", credentials: CREDENTIALS }),
        s3: s3Client(env.s3),
        db: () => Promise.resolve(rpcClient(env.proxy.url)),
        presignPut: () => Promise.reject(new Error("not used")),
        log: () => undefined,
        sleep: () => Promise.resolve(),
    });
    const state = { dropAnswers: 0 };
    const server = http.createServer((req, res) => {
        void (async () => {
            const chunks: Buffer[] = [];
            for await (const c of req) chunks.push(c as Buffer);
            const url = new URL(req.url ?? "/", "http://local");
            const event: ApiEvent = {
                httpMethod: req.method ?? "GET",
                path: url.pathname.replace(/^\/prd/, ""),
                body: chunks.length ? Buffer.concat(chunks).toString("utf8") : null,
                queryStringParameters: Object.fromEntries(url.searchParams),
                requestContext: { requestId: `req-${Date.now()}` },
            };
            const out = await handler(event);
            if (state.dropAnswers > 0) {
                state.dropAnswers--;
                req.socket.destroy();
                return;
            }
            res.writeHead(out.statusCode, out.headers).end(out.body);
        })().catch(() => res.destroy());
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    return {
        base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        get dropAnswers() {
            return state.dropAnswers;
        },
        set dropAnswers(n: number) {
            state.dropAnswers = n;
        },
        async close() {
            server.closeAllConnections();
            await new Promise<void>((r) => server.close(() => r()));
        },
    };
}

/**
 * Runs `submitFormSenderJob(targeting, payload)` of AWSBatchClient.gs in a child process (UrlFetchApp
 * blocks, so the API must live in another process than the client). Sleeps are recorded, not slept.
 */
const GAS_CHILD = `
const fs = require("fs"), vm = require("vm"), crypto = require("crypto"), cp = require("child_process");
const [gsPath, base, targeting, payloadJson] = process.argv.slice(1);
const signed = (b) => [...b].map((x) => (x > 127 ? x - 256 : x));
const buf = (v) => (typeof v === "string" ? Buffer.from(v, "utf8") : Buffer.from(v.map((b) => b & 0xff)));
const FETCH = "const [u,o]=process.argv.slice(1);const p=JSON.parse(o);fetch(u,{method:p.method.toUpperCase()," +
  "headers:p.headers,body:p.payload===undefined?undefined:Buffer.from(p.payload,'base64')}).then(async r=>process.stdout.write(JSON.stringify({status:r.status,body:await r.text()})),"+
  "e=>process.stdout.write(JSON.stringify({error:String(e)})))";
const sleeps = [];
const ctx = vm.createContext({
  Utilities: {
    DigestAlgorithm: { SHA_256: "SHA_256" }, Charset: { UTF_8: "UTF_8" },
    computeDigest: (a, v) => signed(crypto.createHash("sha256").update(buf(v)).digest()),
    computeHmacSha256Signature: (v, k) => signed(crypto.createHmac("sha256", buf(k)).update(buf(v)).digest()),
    newBlob: (s) => ({ getBytes: () => signed(Buffer.from(s, "utf8")) }),
    sleep: (ms) => void sleeps.push(ms), getUuid: () => crypto.randomUUID(),
  },
  UrlFetchApp: { fetch: (url, o) => {
    const target = url.replace(/^https:\\/\\/[^/]+/, base);
    const headers = Object.assign({}, o.headers || {}, o.contentType ? { "content-type": o.contentType } : {});
    const out = JSON.parse(cp.execFileSync(process.execPath, ["-e", FETCH, target,
      // The payload as the bytes UrlFetchApp sends: a string as UTF-8, a byte array as it is.
      JSON.stringify(Object.assign({}, o, { headers,
        payload: o.payload === undefined ? undefined : buf(o.payload).toString("base64") }))], { encoding: "utf8" }));
    if (out.error) throw new Error("Address unavailable: " + url);
    return { getResponseCode: () => out.status, getContentText: () => out.body };
  } },
  PropertiesService: { getScriptProperties: () => ({ getProperty: (k) => ({
    USE_AWS_BATCH: "true", FORM_SENDER_AWS_API_BASE_URL: "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/prd",
    FORM_SENDER_AWS_REGION: "us-east-1", FORM_SENDER_AWS_ACCESS_KEY_ID: "AKIDEXAMPLE",
    FORM_SENDER_AWS_SECRET_ACCESS_KEY: "secret" })[k] || null }) },
  encodeURIComponent, decodeURIComponent, JSON, Date, Object, String, Error,
});
vm.runInContext(fs.readFileSync(gsPath, "utf8"), ctx);
let out;
try { out = { ok: true, answer: JSON.parse(JSON.stringify(ctx.submitFormSenderJob(targeting, JSON.parse(payloadJson)))) }; }
catch (e) { out = { ok: false, status: e.status, message: e.message, body: e.body === undefined ? null : e.body }; }
out.sleeps = sleeps;
process.stdout.write(JSON.stringify(out));
`;

interface GasOutcome {
    readonly ok: boolean;
    readonly answer?: { execution_id: string; job_id: string | null; status?: string; duplicate: boolean };
    readonly status?: number;
    readonly message?: string;
    readonly sleeps: number[];
}

async function gasSubmit(front: Front, targeting: string, payload: Record<string, unknown>): Promise<GasOutcome> {
    const child = spawn(process.execPath, ["-e", GAS_CHILD, GAS_FILE, front.base, targeting, JSON.stringify(payload)], {
        stdio: ["ignore", "pipe", "inherit"],
    });
    let text = "";
    child.stdout.on("data", (d: Buffer) => (text += d.toString("utf8")));
    await new Promise((r) => child.on("exit", r));
    return JSON.parse(text) as GasOutcome;
}

const submitPayload = (extra: Record<string, unknown> = {}) => ({
    execution: { run_total: 1 },
    client_config: JSON.parse(CONFIG_TEXT) as unknown,
    batch: { workers_per_workflow: 1 },
    send_end_time: "23:59",
    ...extra,
});

/**
 * What GAS saw, judged against the database: a "success" whose execution failed or has no job is
 * a silent failure; a thrown error is a reported failure.
 */
async function judgeGas(db: Pool, out: GasOutcome): Promise<{ failures: number; silent: number }> {
    if (!out.ok) return { failures: 1, silent: 0 };
    const id = out.answer?.execution_id;
    const row = id ? await executionRow(db, id) : undefined;
    const ran = row && row.status !== "failed" && row.status !== "cancelled" && out.answer?.job_id;
    return ran ? { failures: 0, silent: 0 } : { failures: 1, silent: 1 };
}

/** Runs the job Batch would start for a successful submit: the SubmitJob's environment, as attempt 1. */
async function runSubmittedJob(env: Env, jobId: string): Promise<number> {
    // The Batch stand-in numbers its jobs local-job-1, -2, … in the order of submittedJobs.
    const job = env.aws.submittedJobs[Number(jobId.replace("local-job-", "")) - 1] as SubmitJobCommandInput | undefined;
    const vars: Record<string, string> = {};
    for (const e of job?.containerOverrides?.environment ?? []) vars[e.name ?? ""] = e.value ?? "";
    const run = startRunner(env, {
        ...vars,
        AWS_BATCH_JOB_ID: jobId,
        AWS_BATCH_JOB_ATTEMPT: "1",
    });
    return run.exit;
}

// ---- the scenarios --------------------------------------------------------------------------

type Scenario = (env: Env, id: number) => Promise<Omit<ScenarioResult, "id" | "name">>;

/** 1. SIGKILL right after the final click, before the result is recorded; then a new attempt. */
const sigkillAfterClick: Scenario = async (env) => {
    const t = "f1";
    const companies = await seed(env.db, env.sites, t, 3);
    const exec = await createExecution(env.db, t);
    const held = env.sites.holdNext(companies[1].key, "submit");
    const first = startRunner(env, jobVars("fault-job-1", exec, 1));
    const hold = await held;
    first.child.kill("SIGKILL");
    const firstExit = await first.exit;
    hold.release();
    const second = startRunner(env, jobVars("fault-job-1", exec, 2));
    const secondExit = await second.exit;
    const handle = batchEvents(env);
    await handle(
        jobEvent("fault-job-1", exec, "SUCCEEDED", [
            { exitCode: 137, reason: "OutOfMemoryError: Container killed due to memory usage" },
            { exitCode: 0 },
        ]),
    );
    const row = await executionRow(env.db, exec);
    return {
        sends: sendsOf(env.sites, companies),
        ...(await itemStates(env.db, t)),
        gasFailures: 0,
        silentFailures: 0,
        checks: {
            "attempt 1 killed (137), attempt 2 exit 0": firstExit === 137 && secondExit === 0,
            "execution counts 1 unknown item": row.unknown_items === 1,
        },
    };
};

/** 2. SIGTERM during a form, grace period too short to finish it (the final answer is pending). */
const sigtermShortGrace: Scenario = async (env) => {
    const t = "f2";
    const companies = await seed(env.db, env.sites, t, 3);
    const exec = await createExecution(env.db, t);
    const held = env.sites.holdNext(companies[0].key, "submit");
    const first = startRunner(env, jobVars("fault-job-2", exec, 1, { FORM_SENDER_SIGTERM_GRACE_SECONDS: "1" }));
    const hold = await held;
    first.child.kill("SIGTERM");
    const firstExit = await first.exit;
    hold.release();
    const secondExit = await startRunner(env, jobVars("fault-job-2", exec, 2)).exit;
    await batchEvents(env)(
        jobEvent("fault-job-2", exec, "SUCCEEDED", [{ exitCode: 143, reason: "SIGTERM" }, { exitCode: 0 }]),
    );
    return {
        sends: sendsOf(env.sites, companies),
        ...(await itemStates(env.db, t)),
        gasFailures: 0,
        silentFailures: 0,
        checks: { "attempt 1 exit 143, attempt 2 exit 0": firstExit === 143 && secondExit === 0 },
    };
};

/** 3. Database unreachable when recording a result: back before the job ends (c1), and not back (c3). */
const dbDownAtRecord: Scenario = async (env) => {
    const t = "f3";
    const companies = await seed(env.db, env.sites, t, 3);
    const exec = await createExecution(env.db, t);
    let backAfterLastSend = false;
    const [c1, , c3] = companies;
    env.proxy.fault = (fn, args) =>
        fn === "record_send_result" &&
        ((args.p_item_id === c1.itemId && !backAfterLastSend) || args.p_item_id === c3.itemId);
    const lastSend = env.sites.holdNext(companies[2].key, "submit");
    const run = startRunner(env, jobVars("fault-job-3", exec, 1));
    (await lastSend).release();
    backAfterLastSend = true;
    const exit = await run.exit;
    env.proxy.fault = null;
    await batchEvents(env)(jobEvent("fault-job-3", exec, "SUCCEEDED", [{ exitCode: 0 }]));
    const row = await executionRow(env.db, exec);
    return {
        sends: sendsOf(env.sites, companies),
        ...(await itemStates(env.db, t)),
        gasFailures: 0,
        silentFailures: 0,
        checks: {
            "job exit 0": exit === 0,
            "record calls were cut": env.proxy.cut.includes("record_send_result"),
            "the never-recorded send counts as unknown": row.unknown_items === 1,
        },
    };
};

/** 4. Database unreachable when claiming (the first three claims get no answer). */
const dbDownAtClaim: Scenario = async (env) => {
    const t = "f4";
    const companies = await seed(env.db, env.sites, t, 3);
    const exec = await createExecution(env.db, t);
    let cuts = 3;
    env.proxy.fault = (fn) => fn === "claim_send_queue_items" && cuts-- > 0;
    const exit = await startRunner(env, jobVars("fault-job-4", exec, 1)).exit;
    env.proxy.fault = null;
    return {
        sends: sendsOf(env.sites, companies),
        ...(await itemStates(env.db, t)),
        gasFailures: 0,
        silentFailures: 0,
        checks: { "job exit 0 after the claims came back": exit === 0 },
    };
};

/**
 * 5. Two attempts of one array index overlap: attempt 1 stalls on c1's page past its lease, Batch's
 * retry (attempt 2) takes c1 over and sends it, then attempt 1 wakes up and must not send it.
 */
const overlappingAttempts: Scenario = async (env) => {
    const t = "f5";
    const companies = await seed(env.db, env.sites, t, 4);
    const exec = await createExecution(env.db, t);
    const stalled = env.sites.holdNext(companies[0].key, "page");
    const first = startRunner(env, jobVars("fault-job-5", exec, 1));
    const hold = await stalled;
    // The old container's lease runs out while it stalls (as after 600 s).
    await env.db.query("update send_queue set lease_expires_at = now() - interval '1 second' where id = $1", [
        companies[0].itemId,
    ]);
    const sentBySecond = env.sites.holdNext(companies[0].key, "submit");
    const second = startRunner(env, jobVars("fault-job-5", exec, 2));
    (await sentBySecond).release();
    hold.release();
    const exits = await Promise.all([first.exit, second.exit]);
    // Attempt 1 never clicks for c1: its send intent is refused (attempt 2 holds or finished the item), or, on a
    // slow machine, its page load timed out first and it reports c1 unsent.
    const refused = first.lines.some(
        (l) =>
            (l.msg === "send intent not recorded; the form is abandoned before the click" &&
                l.item === companies[0].itemId) ||
            (l.msg === "form done" && l.item === companies[0].itemId && l.submitted === false),
    );
    return {
        sends: sendsOf(env.sites, companies),
        ...(await itemStates(env.db, t)),
        gasFailures: 0,
        silentFailures: 0,
        checks: {
            "both attempts exit 0": exits[0] === 0 && exits[1] === 0,
            "the stalled attempt did not click for c1": refused,
        },
    };
};

/** 6. Batch SubmitJob throttled then accepting (the job runs), and failing for good (reported). */
const submitThrottled: Scenario = async (env) => {
    const t = "f6";
    const companies = await seed(env.db, env.sites, t, 2);
    const front = await startFront(env);
    try {
        env.aws.failNext("batch.SubmitJob", AWS_ERRORS.batch.TooManyRequestsException, 2);
        const ok = await gasSubmit(front, t, submitPayload());
        const exit = ok.ok && ok.answer?.job_id ? await runSubmittedJob(env, ok.answer.job_id) : -1;
        // More faults than the SDK's and the dispatcher's retries together can use up: failing for good.
        env.aws.failNext("batch.SubmitJob", AWS_ERRORS.batch.ServerException, 50);
        const bad = await gasSubmit(front, `${t}b`, submitPayload());
        env.aws.clearFaults();
        const judged = [await judgeGas(env.db, ok), await judgeGas(env.db, bad)];
        return {
            sends: sendsOf(env.sites, companies),
            ...(await itemStates(env.db, t)),
            gasFailures: judged.reduce((n, j) => n + j.failures, 0),
            silentFailures: judged.reduce((n, j) => n + j.silent, 0),
            checks: {
                "throttled submit accepted and its job ran": ok.ok && exit === 0,
                "failing submit thrown to GAS as 502 without retries": !bad.ok && bad.status === 502,
            },
        };
    } finally {
        await front.close();
    }
};

/** 7. S3 unavailable when the dispatcher stores the client config. */
const s3Down: Scenario = async (env) => {
    const t = "f7";
    const companies = await seed(env.db, env.sites, t, 2);
    const front = await startFront(env);
    try {
        env.s3.failNext("PutObject", S3_ERRORS.ServiceUnavailable, 20);
        const out = await gasSubmit(front, t, submitPayload());
        env.s3.clearFaults();
        const judged = await judgeGas(env.db, out);
        const failed = await env.db.query<{ n: number }>(
            "select count(*)::int as n from job_executions where targeting_id = $1 and status = 'failed'",
            [t],
        );
        return {
            sends: sendsOf(env.sites, companies),
            ...(await itemStates(env.db, t)),
            gasFailures: judged.failures,
            silentFailures: judged.silent,
            checks: {
                "GAS got the failure": !out.ok && out.status === 502,
                "the execution is marked failed, no job submitted": failed.rows[0].n === 1,
            },
        };
    } finally {
        await front.close();
    }
};

/**
 * 8. Batch state-change events duplicated and out of order, for a job whose attempt 1 vanished after
 * its send intent (the database state a SIGKILL leaves) and whose attempt 2 finished the queue.
 */
const eventsReordered: Scenario = async (env) => {
    const t = "f8";
    const companies = await seed(env.db, env.sites, t, 3);
    const exec = await createExecution(env.db, t);
    const rpc = rpcClient(env.rpc.url);
    await rpc.rpc("start_job_attempt", { p_execution_id: exec, p_run_index: 1, p_attempt: 1 });
    const claimed = await rpc.rpc("claim_send_queue_items", {
        p_targeting_id: t,
        p_shard_id: 1,
        p_total_shards: 1,
        p_worker_id: "fault-job-8#1",
        p_limit: 1,
        p_lease_seconds: 600,
    });
    const item = (claimed.data as Array<{ id: number }>)[0].id;
    await rpc.rpc("record_send_intent", {
        p_item_id: item,
        p_worker_id: "fault-job-8#1",
        p_execution_id: exec,
        p_run_index: 1,
        p_attempt: 1,
    });
    const exit = await startRunner(env, jobVars("fault-job-8", exec, 2)).exit;
    const killed = { exitCode: 137, reason: "Host EC2 (instance i-0abc) terminated." };
    const e1 = jobEvent("fault-job-8", exec, "RUNNING", []);
    const e2 = jobEvent("fault-job-8", exec, "RUNNING", [killed]);
    const e3 = jobEvent("fault-job-8", exec, "SUCCEEDED", [killed, { exitCode: 0 }]);
    const handle = batchEvents(env);
    for (const e of [e3, e1, e3, e2, e2, e1]) await handle(e);
    const row = await executionRow(env.db, exec);
    const attempts = await env.db.query<{ attempt: number; status: string; unknown_items: number }>(
        "select attempt, status, unknown_items from job_execution_attempts where execution_id = $1 order by attempt",
        [exec],
    );
    return {
        sends: sendsOf(env.sites, companies),
        ...(await itemStates(env.db, t)),
        gasFailures: 0,
        silentFailures: 0,
        checks: {
            "attempt 2 exit 0": exit === 0,
            "execution succeeded with exactly 1 unknown item": row.status === "succeeded" && row.unknown_items === 1,
            "attempt 1 failed with the unknown item, attempt 2 succeeded":
                JSON.stringify(attempts.rows) ===
                JSON.stringify([
                    { attempt: 1, status: "failed", unknown_items: 1 },
                    { attempt: 2, status: "succeeded", unknown_items: 0 },
                ]),
        },
    };
};

/** 9. GAS submit: a 502 after the execution was marked failed, a 503, a network exception; with retries. */
const gasRetries: Scenario = async (env) => {
    const t = "f9";
    const companies = await seed(env.db, env.sites, t, 2);
    const front = await startFront(env);
    try {
        // a) SubmitJob fails for good: 502, the execution marked failed; operator code that reuses its
        //    own key (the README's former <targeting>-<hour>) gets the failed duplicate, thrown too.
        env.aws.failNext("batch.SubmitJob", AWS_ERRORS.batch.ServerException, 50);
        const key = `${t}-2026112710`;
        const a = await gasSubmit(front, `${t}a`, submitPayload({ idempotency_key: key }));
        env.aws.clearFaults();
        const aAgain = await gasSubmit(front, `${t}a`, submitPayload({ idempotency_key: key }));
        // b) the database is unreachable for the first create_job_execution: 503, retried after 1 s.
        let cut = 1;
        env.proxy.fault = (fn) => fn === "create_job_execution" && cut-- > 0;
        const b = await gasSubmit(front, t, submitPayload());
        env.proxy.fault = null;
        const bExit = b.ok && b.answer?.job_id ? await runSubmittedJob(env, b.answer.job_id) : -1;
        // c) the answer is lost after the dispatcher handled the submit: retried, answered as duplicate.
        const jobsBefore = env.aws.submittedJobs.length;
        front.dropAnswers = 1;
        const c = await gasSubmit(front, t, submitPayload());
        const cJobs = env.aws.submittedJobs.length - jobsBefore;
        const cExit = c.ok && c.answer?.job_id ? await runSubmittedJob(env, c.answer.job_id) : -1;
        const judged = await Promise.all([a, aAgain, b, c].map((o) => judgeGas(env.db, o)));
        return {
            sends: sendsOf(env.sites, companies),
            ...(await itemStates(env.db, t)),
            gasFailures: judged.reduce((n, j) => n + j.failures, 0),
            silentFailures: judged.reduce((n, j) => n + j.silent, 0),
            checks: {
                "502 thrown at once (no retry)": !a.ok && a.status === 502 && a.sleeps.length === 0,
                "failed duplicate thrown": !aAgain.ok && /is failed/.test(aAgain.message ?? ""),
                "503 retried after 1 s, then submitted and run": b.ok && b.sleeps.join() === "1000" && bExit === 0,
                "lost answer retried once, one job, the duplicate returned":
                    c.ok && c.answer?.duplicate === true && cJobs === 1 && c.sleeps.join() === "1000",
                "the duplicate's job found the queue done": cExit === 0,
            },
        };
    } finally {
        await front.close();
    }
};

/**
 * 10. An existing send_queue / job_executions of an older shape before the migrations run: one the
 * migrations can extend (kept rows, then a job sends each company once), one they refuse, naming
 * every missing and incompatible column.
 */
const legacySchema: Scenario = async (env) => {
    const t = "f10";
    const old = await createDatabase(env.pg, `faults_legacy_${process.pid}`, false);
    const refused = await createDatabase(env.pg, `faults_refused_${process.pid}`, false);
    let rpc: RpcServer | undefined;
    let proxy: RpcProxy | undefined;
    try {
        await old.query(`
            create table companies (id bigserial primary key, name text not null, form_url text);
            create table job_executions (id uuid primary key default gen_random_uuid(), targeting_id text not null,
                status text not null default 'pending', run_total integer not null, created_at timestamptz default now());
            create table send_queue (id bigserial primary key, targeting_id text not null,
                company_id bigint not null references companies (id), status text not null default 'pending',
                created_at timestamptz default now());
            insert into job_executions (targeting_id, run_total) values ('legacy', 5);`);
        const companies: Company[] = [];
        for (let i = 1; i <= 2; i++) {
            const key = `${t}-c${i}`;
            const c = await old.query<{ id: string }>(
                "insert into companies (name, form_url) values ($1, $2) returning id",
                [`株式会社旧型${i}`, env.sites.url(key)],
            );
            const q = await old.query<{ id: string }>(
                "insert into send_queue (targeting_id, company_id) values ($1, $2) returning id",
                [t, c.rows[0].id],
            );
            companies.push({ label: `c${i}`, key, itemId: Number(q.rows[0].id) });
        }
        await applyMigrations(old);
        const kept = await old.query<{ n: number }>(
            "select count(*)::int as n from job_executions where targeting_id = 'legacy' and run_total = 5",
        );
        rpc = await startRpcServer({
            connectionString: (old.options as { connectionString: string }).connectionString,
            serviceRoleKey: SERVICE_ROLE_KEY,
            anonKey: ANON_KEY,
        });
        proxy = await startRpcProxy(rpc.url);
        const exec = await createExecution(old, t);
        env.secrets.url = proxy.url;
        const exit = await startRunner(env, jobVars("fault-job-10", exec, 1)).exit;
        env.secrets.url = env.proxy.url;

        await refused.query(`
            create table job_executions (id bigserial primary key, status text);
            create table send_queue (id bigserial primary key, company_id text, status text);`);
        let message = "";
        try {
            await applyMigrations(refused);
        } catch (e) {
            message = (e as Error).message;
        }
        const untouched = await refused.query<{ n: number }>(
            "select count(*)::int as n from information_schema.columns where table_name = 'send_queue'",
        );
        const named = [
            "job_executions.id is bigint (needs uuid)",
            "job_executions.targeting_id is missing",
            "send_queue.company_id is text (needs bigint or integer)",
            "send_queue.targeting_id is missing",
        ];
        const states = await itemStates(old, t);
        return {
            sends: sendsOf(env.sites, companies),
            ...states,
            gasFailures: 0,
            silentFailures: 0,
            checks: {
                "older shape extended, its rows kept": kept.rows[0].n === 1,
                "a job on the extended schema exits 0": exit === 0,
                "incompatible shape refused naming every column": named.every((n) => message.includes(n)),
                "refused schema left unchanged": untouched.rows[0].n === 3,
            },
        };
    } finally {
        await proxy?.close();
        await rpc?.close();
        await old.end();
        await refused.end();
    }
};

export const SCENARIOS: ReadonlyArray<readonly [string, Scenario]> = [
    ["SIGKILL after the final click, then a new attempt", sigkillAfterClick],
    ["SIGTERM mid-form, grace too short", sigtermShortGrace],
    ["database down at record (back / not back)", dbDownAtRecord],
    ["database down at claim", dbDownAtClaim],
    ["two attempts of one index overlap", overlappingAttempts],
    ["SubmitJob throttled / failing for good", submitThrottled],
    ["S3 down storing the client config", s3Down],
    ["Batch events duplicated, out of order", eventsReordered],
    ["GAS: 502 after failed, 503, network exception", gasRetries],
    ["older send_queue/job_executions before migrating", legacySchema],
];

/** Runs every scenario (or those numbered in `only`) and totals them. */
export async function runFaultMatrix(opts: { only?: number[]; onScenario?: (r: ScenarioResult) => void } = {}) {
    const buildDir = path.join(ROOT, "containers", "runner", `dist-faults-${process.pid}`);
    const env = await startEnv(buildDir);
    const scenarios: ScenarioResult[] = [];
    try {
        for (const [i, [name, run]] of SCENARIOS.entries()) {
            if (opts.only && !opts.only.includes(i + 1)) continue;
            env.proxy.fault = null;
            env.aws.clearFaults();
            env.s3.clearFaults();
            const r: ScenarioResult = { id: i + 1, name, ...(await run(env, i + 1)) };
            scenarios.push(r);
            opts.onScenario?.(r);
        }
    } finally {
        await stopEnv(env);
        fs.rmSync(buildDir, { recursive: true, force: true });
    }
    const result: MatrixResult = {
        scenarios,
        doubleSends: scenarios.reduce((n, s) => n + Object.values(s.sends).filter((x) => x > 1).length, 0),
        lost: scenarios.reduce((n, s) => n + (s.items.lost ?? 0), 0),
        silentFailures: scenarios.reduce((n, s) => n + s.silentFailures, 0),
    };
    return result;
}

/** The matrix as text: scenario × sends per company, items by state, checks; the last line the totals. */
export function formatMatrix(m: MatrixResult): string {
    const lines = [
        `${"scenario".padEnd(52)} ${"sends per company".padEnd(24)} ${"items by state".padEnd(34)} gas failures`,
    ];
    for (const s of m.scenarios) {
        const sends = Object.entries(s.sends)
            .map(([c, n]) => `${c}=${n}`)
            .join(" ");
        const items = Object.entries(s.items)
            .map(([k, n]) => `${k} ${n}`)
            .join(", ");
        const gas = s.gasFailures > 0 ? `${s.gasFailures} (${s.gasFailures - s.silentFailures} reported)` : "-";
        lines.push(`${`${s.id}. ${s.name}`.padEnd(52)} ${sends.padEnd(24)} ${items.padEnd(34)} ${gas}`);
        for (const [what, ok] of Object.entries(s.checks)) lines.push(`     ${ok ? "ok  " : "FAIL"} ${what}`);
    }
    lines.push(
        `faults: ${m.scenarios.length} scenarios, double_sends ${m.doubleSends}, lost ${m.lost}, ` +
            `silent_failures ${m.silentFailures}`,
    );
    return lines.join("\n");
}
