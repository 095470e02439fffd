/**
 * End to end: embedded PostgreSQL with the migrations + the PostgREST-style RPC endpoint + a
 * local S3 + the fixture sites. The runner is compiled with the image's tsconfig and its
 * entry (the Dockerfile's CMD) is started with AWS Batch environment variables, 2 shards × 2
 * workers, exactly as Batch would run an array job of size 2.
 */
import * as assert from "assert";
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { startS3Server, type S3Server } from "../support/s3Server";
import { startSecretsManager, type SecretsManagerServer } from "../support/secretsManagerServer";
import { startSupabase, type LocalSupabase } from "../support/supabase";
import { FIXTURE_ROOT, readExpectation, startFixtureServer, type FixtureServer } from "./fixtureServer";

const ROOT = path.resolve(__dirname, "..", "..");
const BUILD = path.join(ROOT, "containers", "runner", `dist-e2e-${process.pid}`);
const ENTRY = path.join(BUILD, "containers", "runner", "src", "main.js");
const CONFIG_TEXT = fs.readFileSync(path.join(FIXTURE_ROOT, "client_config.json"), "utf8");
const BUCKET = "fs-client-config";
/** The job definition passes the Supabase secrets' ARNs; the runner reads them with the job role (issue 19). */
const SECRET_ARN = (what: string) =>
    `arn:aws:secretsmanager:us-east-1:123456789012:secret:/fs-runner/e2e/supabase/${what}-AbCdEf`;

/** `returning id` of a bigserial key (node-postgres reads int8 as a string). */
interface IdRow {
    readonly id: string;
}

/** `create_job_execution(...) as e`: the jsonb of the new job_executions row. */
interface ExecutionRow {
    readonly e: { readonly id: string };
}

/** A send_queue item with its submission's status and detail, if any. */
interface QueueStateRow {
    readonly id: string;
    readonly status: string;
    readonly result: string | null;
    readonly detail: string | null;
}

/** The job_execution_attempts columns the tests read. */
interface AttemptRow {
    readonly run_index: number;
    readonly attempt: number;
    readonly status: string;
    readonly exit_code: number | null;
}

/** The job_execution_attempts.metadata fields the tests read. */
interface AttemptMetadata {
    readonly shard_ids: number[];
    readonly array_size: number;
    readonly job_id: string;
}

interface Run {
    readonly child: ChildProcess;
    readonly lines: Array<Record<string, unknown>>;
    readonly raw: string[];
    readonly exit: Promise<number>;
}

describe("runner Batch job end to end (PostgreSQL + RPC + S3 + Chromium)", function () {
    this.timeout(240_000);
    let sb: LocalSupabase;
    let s3: S3Server;
    let sites: FixtureServer;
    let sm: SecretsManagerServer;

    before(async () => {
        const tsc = spawn(
            process.execPath,
            [
                path.join(ROOT, "node_modules", "typescript", "bin", "tsc"),
                "-p",
                "containers/runner/tsconfig.build.json",
                "--outDir",
                BUILD,
            ],
            { cwd: ROOT, stdio: "inherit" },
        );
        const [compiled, supabase, s3server, fixtures] = await Promise.all([
            new Promise<number>((r) => tsc.on("exit", (c) => r(c ?? 1))),
            startSupabase(),
            startS3Server(),
            startFixtureServer(),
        ]);
        sb = supabase;
        s3 = s3server;
        sites = fixtures;
        sm = await startSecretsManager({ [SECRET_ARN("url")]: sb.url, [SECRET_ARN("key")]: sb.serviceRoleKey });
        assert.strictEqual(compiled, 0, "the runner compiles with containers/runner/tsconfig.build.json");
        const client = new S3Client({
            endpoint: s3.endpoint,
            forcePathStyle: true,
            region: "us-east-1",
            credentials: { accessKeyId: "test", secretAccessKey: "test" },
        });
        await client.send(
            new PutObjectCommand({
                Bucket: BUCKET,
                Key: "client-config/e2e.json",
                Body: CONFIG_TEXT,
                ContentType: "application/json",
            }),
        );
    });
    after(async () => {
        fs.rmSync(BUILD, { recursive: true, force: true });
        await Promise.all([sb?.stop(), s3?.close(), sites?.close(), sm?.close()]);
    });

    /** Companies whose form_url is a fixture (null for a company without a form), queued for `targeting`. */
    async function seed(targeting: string, fixtures: Array<string | null>): Promise<Map<number, string | null>> {
        const items = new Map<number, string | null>();
        for (const [i, fx] of fixtures.entries()) {
            const c = await sb.db.query<IdRow>("insert into companies (name, form_url) values ($1, $2) returning id", [
                `株式会社受信テスト${targeting}${i}`,
                fx ? sites.url(fx) : null,
            ]);
            const q = await sb.db.query<IdRow>(
                "insert into send_queue (targeting_id, company_id) values ($1, $2) returning id",
                [targeting, c.rows[0].id],
            );
            items.set(Number(q.rows[0].id), fx);
        }
        return items;
    }

    async function createExecution(targeting: string): Promise<string> {
        const r = await sb.db.query<ExecutionRow>(
            "select create_job_execution($1, 2, 2, false, null, '{}'::jsonb) as e",
            [targeting],
        );
        return r.rows[0].e.id;
    }

    function start(executionId: string, arrayIndex: number, attempt: number, extra: Record<string, string> = {}): Run {
        const child = spawn(process.execPath, [ENTRY], {
            cwd: ROOT,
            env: {
                PATH: process.env.PATH ?? "",
                HOME: process.env.HOME ?? "/tmp",
                AWS_BATCH_JOB_ARRAY_INDEX: String(arrayIndex),
                AWS_BATCH_JOB_ID: `8d2f0a4e-e2e:${arrayIndex}`,
                AWS_BATCH_JOB_ATTEMPT: String(attempt),
                AWS_BATCH_CE_NAME: "fs-spot-ce",
                AWS_BATCH_JQ_NAME: "fs-queue-spot",
                FORM_SENDER_ENV: "aws_batch",
                FORM_SENDER_EXECUTION_ID: executionId,
                FORM_SENDER_RUN_TOTAL: "2",
                FORM_SENDER_TOTAL_SHARDS: "2",
                FORM_SENDER_WORKERS: "2",
                FORM_SENDER_CLIENT_CONFIG_URL: `s3://${BUCKET}/client-config/e2e.json`,
                FORM_SENDER_SEND_END_TIME: "23:59",
                FORM_SENDER_FORM_TIMEOUT_SECONDS: "60",
                SUPABASE_URL_SECRET_ARN: SECRET_ARN("url"),
                SUPABASE_KEY_SECRET_ARN: SECRET_ARN("key"),
                AWS_ENDPOINT_URL_SECRETS_MANAGER: sm.endpoint,
                // Tests run as root, where Chromium's sandbox cannot start (test/runner/sandbox.test.ts runs it
                // sandboxed as an unprivileged user).
                ...(process.getuid?.() === 0 ? { RUNNER_ALLOW_NO_SANDBOX: "1" } : {}),
                AWS_ENDPOINT_URL_S3: s3.endpoint,
                AWS_REGION: "us-east-1",
                AWS_ACCESS_KEY_ID: "test",
                AWS_SECRET_ACCESS_KEY: "test",
                ...extra,
            },
            stdio: ["ignore", "pipe", "pipe"],
        });
        const lines: Array<Record<string, unknown>> = [];
        const raw: string[] = [];
        let buf = "";
        child.stdout?.on("data", (d: Buffer) => {
            buf += d.toString("utf8");
            let nl: number;
            while ((nl = buf.indexOf("\n")) >= 0) {
                const line = buf.slice(0, nl);
                buf = buf.slice(nl + 1);
                raw.push(line);
                lines.push(JSON.parse(line) as Record<string, unknown>);
            }
        });
        let stderr = "";
        child.stderr?.on("data", (d: Buffer) => (stderr += d.toString("utf8")));
        const exit = new Promise<number>((resolve) =>
            child.on("exit", (code, signal) => {
                if (code !== 0 && code !== 143)
                    process.stderr.write(
                        `runner ${arrayIndex} exited ${code ?? signal}: ${stderr}\n${raw.join("\n")}\n`,
                    );
                resolve(code ?? 128);
            }),
        );
        return { child, lines, raw, exit };
    }

    async function queueState(targeting: string) {
        const items = await sb.db.query<QueueStateRow>(
            "select q.id, q.status, s.status as result, s.detail from send_queue q left join submissions s on s.queue_item_id = q.id where q.targeting_id = $1 order by q.id",
            [targeting],
        );
        return items.rows;
    }

    /** Each fixture site received exactly one accepted form per queue item expected to send. */
    function assertSitesReceivedOncePerItem(items: Map<number, string | null>, since: number) {
        const expectedPerFixture = new Map<string, number>();
        for (const fx of items.values()) {
            if (fx && readExpectation(fx).status === "sent")
                expectedPerFixture.set(fx, (expectedPerFixture.get(fx) ?? 0) + 1);
        }
        const received = new Map<string, number>();
        for (const s of sites.submissions.slice(since)) {
            if ((s.endpoint === "submit" || s.endpoint === "api") && s.accepted)
                received.set(s.fixture, (received.get(s.fixture) ?? 0) + 1);
        }
        assert.deepStrictEqual(
            Object.fromEntries([...received].sort()),
            Object.fromEntries([...expectedPerFixture].sort()),
        );
    }

    it("2 shards × 2 workers process every queue item exactly once, with results, attempts and sanitized logs", async () => {
        const targeting = "e2e-full";
        const fixtures = [
            "01-basic-labels",
            "02-table-confirm",
            "03-english",
            "07-refusal",
            "09-recaptcha",
            "12-honeypot",
            "14-inquiry-radio",
            "16-cf7",
            "18-required-unknown",
            "20-separate-rows",
            "23-no-form",
            null,
        ];
        const items = await seed(targeting, fixtures);
        const executionId = await createExecution(targeting);
        const since = sites.submissions.length;
        const runs = [start(executionId, 0, 1), start(executionId, 1, 1)];
        assert.deepStrictEqual(await Promise.all(runs.map((r) => r.exit)), [0, 0]);

        const state = await queueState(targeting);
        assert.strictEqual(state.length, fixtures.length);
        for (const row of state) {
            const fx = items.get(Number(row.id));
            const want = fx ? readExpectation(fx).status : "no_form";
            assert.strictEqual(row.result, want, `item ${row.id} (${fx}): ${row.detail}`);
            assert.strictEqual(row.status, want === "failed" ? "failed" : "done");
        }
        const submissions = await sb.db.query(
            "select count(*)::int as n, count(distinct queue_item_id)::int as d from submissions s join send_queue q on q.id = s.queue_item_id where q.targeting_id = $1",
            [targeting],
        );
        assert.deepStrictEqual(submissions.rows[0], { n: fixtures.length, d: fixtures.length });
        assertSitesReceivedOncePerItem(items, since);

        const attempts = await sb.db.query<AttemptRow & { readonly metadata: AttemptMetadata }>(
            "select run_index, attempt, status, exit_code, metadata from job_execution_attempts where execution_id = $1 order by run_index",
            [executionId],
        );
        assert.deepStrictEqual(
            attempts.rows.map((a) => [
                a.run_index,
                a.attempt,
                a.status,
                a.exit_code,
                a.metadata.shard_ids,
                a.metadata.array_size,
                a.metadata.job_id,
            ]),
            [
                [1, 1, "succeeded", 0, [1], 2, "8d2f0a4e-e2e:0"],
                [2, 1, "succeeded", 0, [2], 2, "8d2f0a4e-e2e:1"],
            ],
        );
        // Both runs claimed work: the shards split the queue.
        for (const r of runs)
            assert.ok(
                r.lines.some((l) => l.msg === "form done"),
                "each run filled forms",
            );
        const startLine = runs[1].lines.find((l) => l.msg === "runner starting");
        assert.ok(startLine);
        // Every attempt logs the Chromium it drives and the Playwright driving it.
        const playwright = (
            JSON.parse(fs.readFileSync(require.resolve("playwright-core/package.json"), "utf8")) as { version: string }
        ).version;
        for (const r of runs) {
            const browserLine = r.lines.find((l) => l.msg === "browser started");
            assert.match(String(browserLine?.chromium), /^\d+\.\d+\.\d+\.\d+$/);
            assert.equal(browserLine?.playwright, playwright);
        }
        assert.deepStrictEqual(
            [
                startLine.run_index,
                startLine.array_index,
                startLine.attempt,
                startLine.shard_ids,
                startLine.total_shards,
            ],
            [2, 1, 1, [2], 2],
        );
        const all = runs.flatMap((r) => r.raw).join("\n");
        for (const secret of [
            "t.yamada@example.com",
            "03-1234-5678",
            "株式会社テストコネクト",
            "株式会社受信テスト",
            sb.serviceRoleKey,
        ]) {
            assert.ok(!all.includes(secret), `log lines leak ${secret}`);
        }
        assert.ok(!all.includes(sb.url), "log lines leak the Supabase URL");
    });

    it("in test mode fills forms without sending any, and stops claiming at session_max_hours leaving the rest pending", async () => {
        const targeting = "e2e-session";
        // 40 slow sites (≥ 1.2 s each) cannot all finish within the 7.2 s session on 4 workers,
        // however fast the machine is.
        const items = await seed(
            targeting,
            Array.from({ length: 40 }, () => "27-slow-site"),
        );
        const r = await sb.db.query<ExecutionRow>(
            "select create_job_execution($1, 1, 1, true, null, '{}'::jsonb) as e",
            [targeting],
        );
        const executionId = r.rows[0].e.id;
        const since = sites.submissions.length;
        // 0.002 h = 7.2 s: a slow form takes about 3 s, so two workers do a few and then stop.
        const run = start(executionId, 0, 1, {
            FORM_SENDER_RUN_TOTAL: "1",
            FORM_SENDER_TOTAL_SHARDS: "1",
            FORM_SENDER_SESSION_MAX_HOURS: "0.002",
        });
        assert.strictEqual(await run.exit, 0);
        const state = await queueState(targeting);
        const done = state.filter((s) => s.status === "done");
        assert.ok(done.length >= 1 && done.length < items.size, `${done.length} of ${items.size} done`);
        assert.ok(
            done.every((s) => s.result === "dry_run"),
            JSON.stringify(done),
        );
        assert.ok(state.filter((s) => s.status !== "done").every((s) => s.status === "pending" && s.result === null));
        assert.strictEqual(
            sites.submissions.slice(since).length,
            0,
            "test mode sends nothing, not even to a confirmation step",
        );
        const attempt = await sb.db.query(
            "select status, status_reason, exit_code from job_execution_attempts where execution_id = $1",
            [executionId],
        );
        assert.deepStrictEqual(attempt.rows, [
            { status: "succeeded", status_reason: "session_max_hours", exit_code: 0 },
        ]);
    });

    it("outside the sending window (send_end_time passed, JST) exits 0 without claiming anything", async () => {
        const targeting = "e2e-window";
        await seed(targeting, ["01-basic-labels"]);
        const executionId = await createExecution(targeting);
        const run = start(executionId, 0, 1, { FORM_SENDER_SEND_END_TIME: "00:00" });
        assert.strictEqual(await run.exit, 0);
        assert.deepStrictEqual(
            (await queueState(targeting)).map((s) => s.status),
            ["pending"],
        );
        assert.ok(!sb.rpc.calls.some((c) => c.fn === "claim_send_queue_items" && c.args.p_targeting_id === targeting));
        assert.ok(run.lines.some((l) => l.msg === "outside the sending window; nothing to do"));
    });

    it("SIGTERM mid-run lets the in-flight form finish, loses no item, sends none twice and marks the attempt failed exactly once; the retry finishes the shard", async () => {
        const targeting = "e2e-sigterm";
        const sendable = [
            "27-slow-site",
            "27-slow-site",
            "01-basic-labels",
            "03-english",
            "04-contact-link",
            "05-search-newsletter",
            "12-honeypot",
            "13-maxlength",
            "14-inquiry-radio",
            "15-ajax-fetch",
            "17-placeholder-only",
            "20-separate-rows",
            "24-js-dialog",
            "25-postal-digits",
        ];
        const items = await seed(targeting, [...sendable, "27-slow-site", "27-slow-site"]);
        const executionId = await createExecution(targeting);
        const since = sites.submissions.length;
        const callsBefore = sb.rpc.calls.length;
        // The production default (20 s, containers/runner/src/env.ts): the runner now waits for a page to
        // settle (up to 6 s) and records a send intent before the click, so the in-flight slow form needs
        // more of the window than it did; the exit still has to come within 25 s.
        const grace = { FORM_SENDER_SIGTERM_GRACE_SECONDS: "20" };
        const runs = [start(executionId, 0, 1, grace), start(executionId, 1, 1, grace)];
        // Reclaim the "instance" of whichever run is first busy on a slow site: that form is in flight.
        const t0 = Date.now();
        let victim = -1;

        while (victim < 0 && Date.now() - t0 < 60_000) {
            await new Promise((r) => setTimeout(r, 50));
            victim = runs.findIndex((r) =>
                r.lines.some((l) => l.msg === "form started" && String(l.url).includes("27-slow-site")),
            );
        }
        assert.ok(victim >= 0, "a slow form started");
        const inFlightItem = runs[victim].lines.find(
            (l) => l.msg === "form started" && String(l.url).includes("27-slow-site"),
        )?.item;
        const signalledAt = Date.now();
        runs[victim].child.kill("SIGTERM");
        const other = runs[1 - victim];
        assert.strictEqual(await runs[victim].exit, 143);
        assert.ok(Date.now() - signalledAt < 25_000, "exits within Batch's 30 s stop timeout");
        assert.strictEqual(await other.exit, 0);

        const victimLines = runs[victim].lines;
        const sigtermAt = victimLines.findIndex((l) => String(l.msg).startsWith("SIGTERM received"));
        assert.ok(sigtermAt >= 0);
        const afterSigterm = victimLines.slice(sigtermAt);
        assert.ok(
            afterSigterm.some((l) => l.msg === "form done" && l.item === inFlightItem && l.status === "sent"),
            "the form in flight at SIGTERM finished within the grace period and was recorded",
        );
        assert.ok(!afterSigterm.some((l) => l.msg === "form started"), "nothing new is claimed after SIGTERM");
        assert.ok(afterSigterm.some((l) => l.msg === "leases released"));

        const left = (await queueState(targeting)).filter((r) => r.status === "pending" || r.status === "leased");
        assert.ok(left.length > 0, "the SIGTERM came before the shard was done (otherwise this test proves nothing)");
        assert.ok(
            left.every((r) => r.status === "pending" && r.result === null),
            "unfinished items are back to pending, none left leased",
        );

        // Batch retries the array child: attempt 2 of the same run index finishes its shard.
        const retry = start(executionId, victim, 2, grace);
        assert.strictEqual(await retry.exit, 0);

        const state = await queueState(targeting);
        assert.ok(
            state.every((r) => r.status === "done" && r.result === "sent"),
            JSON.stringify(state.filter((r) => r.result !== "sent")),
        );
        const perItem = await sb.db.query<{ readonly n: number }>(
            "select count(*)::int as n from submissions s join send_queue q on q.id = s.queue_item_id where q.targeting_id = $1",
            [targeting],
        );
        assert.strictEqual(perItem.rows[0].n, items.size);
        assertSitesReceivedOncePerItem(items, since);

        const marks = sb.rpc.calls.slice(callsBefore).filter((c) => c.fn === "mark_job_failed_once");
        assert.strictEqual(marks.length, 1, "mark_job_failed_once is called exactly once");
        const attempts = await sb.db.query<AttemptRow & { readonly marked: boolean }>(
            "select run_index, attempt, status, exit_code, failed_once_marked_at is not null as marked from job_execution_attempts where execution_id = $1 order by run_index, attempt",
            [executionId],
        );
        const v = victim + 1;
        const expected = [
            [v, 1, "failed", 143, true],
            [v, 2, "succeeded", 0, false],
            [3 - v, 1, "succeeded", 0, false],
        ].sort((a, b) => (a[0] as number) - (b[0] as number) || (a[1] as number) - (b[1] as number));
        assert.deepStrictEqual(
            attempts.rows.map((a) => [a.run_index, a.attempt, a.status, a.exit_code, a.marked]),
            expected,
        );
    });
});
