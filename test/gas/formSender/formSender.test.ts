/**
 * The GAS package (gas/form-sender/*.gs over gas/AWSBatchClient.gs) end to end: an Apps Script
 * project in Node (appsScript.ts) whose UrlFetchApp reaches the real dispatcher on loopback
 * (apiProcess.ts: SigV4-checking API front, PostgreSQL through the RPC server, S3 and Batch
 * stand-ins). Each test drives the operators' entry points and then reads the targeting sheet, the
 * database and the Batch calls.
 */
import { strict as assert } from "assert";
import { ChildProcess, spawn } from "child_process";
import * as path from "path";
import type { SubmitJobCommandInput } from "@aws-sdk/client-batch";
import { Pool } from "pg";
import * as fs from "fs";
import { AppsScriptProject, GAS_FILES } from "./appsScript";

const HEADER = [
    "targeting_id",
    "active",
    "useAwsBatch",
    "client_config",
    "concurrent_workflow",
    "batch_instance_count",
    "shards",
    "use_extra_table",
    "test_mode",
    "batch_prefer_spot",
    "batch_allow_on_demand_fallback",
    "batch_max_attempts",
    "batch_workers_per_workflow",
    "batch_vcpus",
    "batch_memory_mib",
    "session_max_hours",
    "send_end_time",
    "batch_max_parallelism",
    "memo",
    "executionId",
    "jobId",
    "arraySize",
    "submittedAt",
    "awsStatus",
    "awsMessage",
];

const CONFIG = JSON.stringify({
    client: {
        company_name: "株式会社テストコネクト",
        last_name: "山田",
        first_name: "太郎",
        email: "t.yamada@example.com",
        phone: "03-1234-5678",
    },
    message: { subject: "ご提案", body: "お世話になっております。" },
});

type Cell = string | number | boolean | Date;
/** A targeting row from the columns it sets; every other cell is empty. */
const row = (cells: Partial<Record<(typeof HEADER)[number], Cell>>): Cell[] =>
    HEADER.map((h) => cells[h] ?? (h === "client_config" ? CONFIG : ""));

const FORM_SENDER_WRITE_BACK = ["executionId", "jobId", "arraySize", "submittedAt", "awsStatus", "awsMessage"];

/** A value from the script's realm as plain data (its arrays and objects have that realm's prototypes). */
const plain = <T>(v: unknown): T => JSON.parse(JSON.stringify(v)) as T;

const PROPS = {
    FORM_SENDER_AWS_API_BASE_URL: "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/stg",
    FORM_SENDER_AWS_REGION: "us-east-1",
    FORM_SENDER_AWS_ACCESS_KEY_ID: "AKIAGASEXAMPLE0001",
    FORM_SENDER_AWS_SECRET_ACCESS_KEY: "gas/secret/key/EXAMPLE0001",
};

interface ApiState {
    submittedJobs: SubmitJobCommandInput[];
    terminatedJobs: { jobId: string }[];
    /** Every submit the front in apiProcess.ts saw, faulted or passed on. */
    front: { targeting_id: string; status: number; faulted: boolean }[];
}

interface ExecutionRow {
    id: string;
    targeting_id: string;
    status: string;
    run_total: number;
    shards: number;
    test_mode: boolean;
    idempotency_key: string;
}

describe("GAS form-sender package against the dispatcher on loopback", function () {
    this.timeout(300000);
    let child: ChildProcess;
    let api: { baseUrl: string; connectionString: string; control: string };
    let db: Pool;

    before(async () => {
        child = spawn(
            process.execPath,
            ["-r", "ts-node/register/transpile-only", path.join(__dirname, "apiProcess.ts")],
            { stdio: ["ignore", "pipe", "inherit"] },
        );
        api = await new Promise((resolve, reject) => {
            let out = "";
            child.stdout!.on("data", (d: Buffer) => {
                out += d.toString("utf8");
                if (out.includes("\n")) resolve(JSON.parse(out.split("\n")[0]) as typeof api);
            });
            child.once("exit", (code) => reject(new Error(`apiProcess exited with ${code}`)));
        });
        db = new Pool({ connectionString: api.connectionString, max: 2 });
    });
    after(async () => {
        await db?.end();
        if (child && child.exitCode === null) {
            const exited = new Promise((r) => child.once("exit", r));
            child.kill("SIGTERM");
            await exited;
        }
    });

    const origin = () => new URL(api.baseUrl).origin;
    const project = (rows: Cell[][], props: Record<string, string> = {}) => {
        const p = new AppsScriptProject((u) => u.replace(/^https:\/\/[^/]+/, origin()));
        p.sheets.set("targeting", [HEADER, ...rows]);
        for (const [k, v] of Object.entries({ ...PROPS, ...props })) p.properties.set(k, v);
        return p;
    };
    const state = async () => (await (await fetch(`${api.control}/state`)).json()) as ApiState;
    const batchEvent = async (detail: object) => {
        const res = await fetch(`${api.control}/batch-event`, { method: "POST", body: JSON.stringify(detail) });
        assert.equal(res.status, 200, await res.text());
    };
    const executions = async (targetings: string[]) =>
        (
            await db.query<ExecutionRow>(
                "select * from job_executions where targeting_id = any($1) order by targeting_id, created_at",
                [targetings],
            )
        ).rows;
    const env = (job: SubmitJobCommandInput): Record<string, string | undefined> =>
        Object.fromEntries(
            (job.containerOverrides?.environment ?? []).map((e): [string, string | undefined] => [e.name!, e.value]),
        );

    it("routes by the useAwsBatch column, then Script Property USE_AWS_BATCH, then off", () => {
        const cases: [Cell, string | undefined, boolean | RegExp][] = [
            [true, undefined, true],
            ["TRUE", "false", true],
            ["yes", undefined, true],
            [1, undefined, true],
            [false, "TRUE", false],
            ["No", "true", false],
            ["0", "true", false],
            ["", "TRUE", true],
            ["", "1", true],
            ["", "false", false],
            ["", undefined, false],
            ["maybe", "true", /column useAwsBatch of targeting R1 is "maybe"; use TRUE or FALSE \(or leave it blank\)/],
            ["", "on", /Script Property USE_AWS_BATCH is "on"; use TRUE or FALSE/],
        ];
        for (const [column, property, expected] of cases) {
            const p = project([row({ targeting_id: "R1", useAwsBatch: column })]);
            if (property === undefined) p.properties.delete("USE_AWS_BATCH");
            else p.properties.set("USE_AWS_BATCH", property);
            const run = () => p.execution().isAwsBatchTargeting("R1");
            if (expected instanceof RegExp) assert.throws(run, expected, `${String(column)} / ${property}`);
            else assert.equal(run(), expected, `${String(column)} / ${property}`);
            assert.deepEqual(p.fetched, []);
        }
    });

    // The transport never vetoes what the routing chose: the pilot runs with USE_AWS_BATCH unset.
    it("pilots one targeting from the Run button and writes jobId, arraySize, submittedAt and status back", async () => {
        const sendEnd = new Date(Date.UTC(1899, 11, 30, 8, 30)); // a Sheets time cell: 17:30 JST
        const p = project(
            [
                row({
                    targeting_id: "P1",
                    useAwsBatch: true,
                    concurrent_workflow: 3,
                    batch_instance_count: 4,
                    shards: 2,
                    test_mode: false,
                    batch_allow_on_demand_fallback: "false",
                    batch_max_attempts: 2,
                    batch_workers_per_workflow: 4,
                    batch_vcpus: 4,
                    batch_memory_mib: "7680",
                    session_max_hours: 6,
                    send_end_time: sendEnd,
                    memo: "operator's note",
                }),
                row({ targeting_id: "P2", useAwsBatch: false }),
            ],
            { FORM_SENDER_AWS_MANUAL_TARGETING_ID: "P1" },
        );
        const before = (await state()).submittedJobs.length;
        const out = p.execution().startFormSenderAws() as { status: string; execution_id: string };
        assert.equal(out.status, "SUBMITTED", String(p.rows()[0].awsMessage));
        const [p1, p2] = p.rows();
        assert.equal(p1.executionId, out.execution_id);
        assert.equal(p1.arraySize, 4);
        assert.match(String(p1.jobId), /\S/);
        assert.match(String(p1.submittedAt), /^\d{4}-\d{2}-\d{2}T/);
        assert.deepEqual([p1.awsStatus, p1.awsMessage, p1.memo], ["SUBMITTED", "", "operator's note"]);
        assert.deepEqual(
            FORM_SENDER_WRITE_BACK.map((h) => p2[h]),
            FORM_SENDER_WRITE_BACK.map(() => ""),
        );
        const [e] = await executions(["P1"]);
        assert.deepEqual([e.status, e.run_total, e.shards, e.test_mode], ["submitted", 4, 2, false]);
        const jobs = (await state()).submittedJobs.slice(before);
        assert.equal(jobs.length, 1);
        assert.equal(jobs[0].jobQueue, "stg-fs-spot");
        assert.equal(jobs[0].retryStrategy?.attempts, 2);
        assert.deepEqual(jobs[0].arrayProperties, { size: 4 });
        assert.deepEqual(
            Object.fromEntries((jobs[0].containerOverrides?.resourceRequirements ?? []).map((r) => [r.type, r.value])),
            { VCPU: "4", MEMORY: "7680" },
        );
        const vars = env(jobs[0]);
        assert.deepEqual(
            [
                vars.FORM_SENDER_SEND_END_TIME,
                vars.FORM_SENDER_WORKERS,
                vars.FORM_SENDER_SESSION_MAX_HOURS,
                vars.FORM_SENDER_TOTAL_SHARDS,
            ],
            ["17:30", "4", "6", "2"],
        );
        assert.throws(
            () => p.execution().startFormSenderAws("P2"),
            /targeting P2 does not route to AWS Batch .*set useAwsBatch to TRUE on its row to pilot it/,
        );
        assert.equal((await state()).submittedJobs.length, before + 1);
    });

    it("pilots with USE_AWS_BATCH unset or FALSE: useAwsBatch TRUE goes to AWS in start one and all", async () => {
        const before = (await state()).submittedJobs.length;
        const p = project([
            row({ targeting_id: "PA1", active: true, useAwsBatch: true }),
            row({ targeting_id: "PA2", active: true }),
            row({ targeting_id: "PA3", active: true, useAwsBatch: false }),
        ]);
        const all = plain<{ done: boolean; started: { targeting_id: string }[] }>(
            p.execution().startFormSenderAwsAll(),
        );
        assert.deepEqual(
            all.started.map((s) => s.targeting_id),
            ["PA1"],
        );
        assert.deepEqual(
            p.rows().map((r) => r.awsStatus),
            ["SUBMITTED", "", ""],
        );
        const q = project([row({ targeting_id: "PB1", useAwsBatch: "TRUE" })], { USE_AWS_BATCH: "FALSE" });
        q.execution().startFormSenderAws("PB1");
        const [pb1] = q.rows();
        assert.equal(pb1.awsStatus, "SUBMITTED", String(pb1.awsMessage));
        const rows = await executions(["PA1", "PA2", "PA3", "PB1"]);
        assert.deepEqual(
            rows.map((r) => [r.targeting_id, r.status]),
            [
                ["PA1", "submitted"],
                ["PB1", "submitted"],
            ],
        );
        assert.deepEqual([p.rows()[0].executionId, pb1.executionId], [rows[0].id, rows[1].id]);
        assert.equal((await state()).submittedJobs.length, before + 2);
    });

    it("keeps useAwsBatch FALSE off AWS while USE_AWS_BATCH is TRUE, in start one and start all", async () => {
        const before = (await state()).submittedJobs.length;
        const p = project(
            [
                row({ targeting_id: "PC1", active: true, useAwsBatch: "FALSE" }),
                row({ targeting_id: "PC2", active: true }),
            ],
            { USE_AWS_BATCH: "TRUE" },
        );
        p.execution().startFormSenderAwsAll();
        assert.throws(
            () => p.execution().startFormSenderAws("PC1"),
            /targeting PC1 does not route to AWS Batch \(its useAwsBatch column is FALSE/,
        );
        assert.equal(p.execution().isAwsBatchTargeting("PC1"), false);
        const [pc1, pc2] = p.rows();
        assert.deepEqual(
            FORM_SENDER_WRITE_BACK.map((h) => pc1[h]),
            FORM_SENDER_WRITE_BACK.map(() => ""),
        );
        assert.equal(pc2.awsStatus, "SUBMITTED", String(pc2.awsMessage));
        assert.deepEqual(
            (await executions(["PC1", "PC2"])).map((r) => r.targeting_id),
            ["PC2"],
        );
        assert.equal((await state()).submittedJobs.length, before + 1);
        assert.ok(!p.fetched.some((f) => f.url.includes("PC1")));
    });

    it("every entry point of gas/form-sender runs from the editor's Run button, with no argument", async () => {
        const root = path.resolve(__dirname, "..", "..", "..");
        // Public = no trailing `_` (the Run menu hides those).
        const entryPoints = GAS_FILES.filter((f) => f.startsWith("gas/form-sender/")).flatMap((f) =>
            [...fs.readFileSync(path.join(root, f), "utf8").matchAll(/^function ([A-Za-z0-9]+)\(/gm)].map((m) => m[1]),
        );
        const p = project([row({ targeting_id: "RB1", active: true, useAwsBatch: true })], {
            FORM_SENDER_AWS_MANUAL_TARGETING_ID: "RB1",
        });
        const called: string[] = [];
        const run = <T>(fn: string): T => {
            called.push(fn);
            return plain<T>(p.execution()[fn]());
        };
        const mine = (list: { targeting_id: string; status: string }[]) =>
            list.filter((e) => e.targeting_id === "RB1").map((e) => e.status);
        assert.equal(run("isAwsBatchTargeting"), true);
        assert.equal(run<{ status: string }>("dryRunFormSenderAws").status, "DRY_RUN_SUBMITTED");
        assert.equal(run<{ status: string }>("startFormSenderAws").status, "SUBMITTED");
        assert.deepEqual(mine(run("getRunningFormSenderAwsTasks")), ["submitted", "submitted"]);
        assert.deepEqual(mine(run("stopSpecificFormSenderAwsTask")), ["cancelled", "cancelled"]);
        assert.deepEqual(
            run<{ started: { targeting_id: string }[] }>("startFormSenderAwsAll").started.map((s) => s.targeting_id),
            ["RB1"],
        );
        assert.deepEqual(run<{ done: boolean }>("resumeFormSenderAws").done, true);
        assert.deepEqual(mine(run("stopAllRunningFormSenderAwsTasks")), ["cancelled"]);
        assert.deepEqual([...called].sort(), [...entryPoints].sort());
        assert.deepEqual(
            (await executions(["RB1"])).map((e) => [e.status, e.test_mode]),
            [
                ["cancelled", true],
                ["cancelled", false],
                ["cancelled", false],
            ],
        );
    });

    it("refuses cells without an AWS meaning or with bad values, naming column, value and fix, and sends nothing", () => {
        const p = project([
            row({ targeting_id: "V1", useAwsBatch: "yes", batch_max_parallelism: 50, batch_max_attempts: "many" }),
        ]);
        const out = p.execution().startFormSenderAws("V1") as { status: string };
        assert.equal(out.status, "INVALID_SETTINGS");
        const [v1] = p.rows();
        assert.equal(v1.awsStatus, "INVALID_SETTINGS");
        assert.match(String(v1.awsMessage), /column batch_max_parallelism of targeting V1 is 50: AWS Batch has no/);
        assert.match(
            String(v1.awsMessage),
            /column batch_max_attempts of targeting V1 is "many"; use a whole number from 1 to 10/,
        );
        assert.deepEqual(p.fetched, []);
    });

    it("dry run submits with test_mode whatever the routing and marks the row DRY_RUN_SUBMITTED", async () => {
        const p = project([row({ targeting_id: "D1", useAwsBatch: false })], { USE_AWS_BATCH: "TRUE" });
        const before = (await state()).submittedJobs.length;
        p.execution().dryRunFormSenderAws("D1");
        assert.equal(p.rows()[0].awsStatus, "DRY_RUN_SUBMITTED");
        const [e] = await executions(["D1"]);
        assert.equal(e.test_mode, true);
        const jobs = (await state()).submittedJobs.slice(before);
        assert.equal(env(jobs[0]).FORM_SENDER_TEST_MODE, "true");
    });

    it("writes FAILED_API_GATEWAY when the API refuses the signature and INVALID_REQUEST for a 400", async () => {
        const p = project([row({ targeting_id: "F1", useAwsBatch: true })], {
            FORM_SENDER_AWS_SECRET_ACCESS_KEY: "not-the-secret",
            USE_AWS_BATCH: "TRUE",
        });
        p.execution().startFormSenderAws("F1");
        assert.equal(p.rows()[0].awsStatus, "FAILED_API_GATEWAY");
        assert.match(String(p.rows()[0].awsMessage), /HTTP 403: The request signature we calculated does not match/);
        const bad = JSON.stringify({ client: { company_name: "A" }, message: { body: "x" } });
        const q = project([row({ targeting_id: "F2", useAwsBatch: true, client_config: bad })], {
            USE_AWS_BATCH: "TRUE",
        });
        q.execution().startFormSenderAws("F2");
        assert.equal(q.rows()[0].awsStatus, "INVALID_REQUEST");
        assert.match(String(q.rows()[0].awsMessage), /HTTP 400/);
        assert.deepEqual(await executions(["F1", "F2"]), []);
    });

    describe("start all, the time budget, the lock, list and stop", () => {
        const ids = ["A1", "A2", "A3", "A4", "A5", "A6"];
        let p: AppsScriptProject;

        it("stops before the 6-minute limit, resumes from a trigger and starts each active targeting once", async () => {
            p = project(
                [
                    ...ids.map((id) => row({ targeting_id: id, active: true })),
                    row({ targeting_id: "A7", active: false }),
                    row({ targeting_id: "A8", active: true, useAwsBatch: false }),
                ],
                { USE_AWS_BATCH: "TRUE", FORM_SENDER_AWS_BATCH_SIZE: "2" },
            );
            // 90 s per request (a fetchAll's requests travel together): the list and two batches of two
            // use 270 s, beyond the 210 s budget (360 s − 4 × 29 s − 14 s of retry pauses − 20 s margin),
            // so the third batch waits for the trigger.
            p.requestMs = 90000;
            const first = plain<{ done: boolean; remaining: string[] }>(p.execution().startFormSenderAwsAll());
            assert.equal(first.done, false);
            assert.deepEqual(first.remaining, ["A5", "A6"]);
            assert.deepEqual(p.fetchCalls, [
                { fn: "fetch", requests: 1 },
                { fn: "fetchAll", requests: 2 },
                { fn: "fetchAll", requests: 2 },
            ]);
            assert.deepEqual(p.killed, []);
            assert.deepEqual(
                p.triggers.map((t) => [t.handler, t.afterMs]),
                [["resumeFormSenderAws", 60000]],
            );
            assert.deepEqual(
                p.rows().map((r) => r.awsStatus),
                ["SUBMITTED", "SUBMITTED", "SUBMITTED", "SUBMITTED", "", "", "", ""],
            );
            assert.equal(p.lockHolder, null);

            const second = p.fireTrigger() as { done: boolean };
            assert.equal(second.done, true);
            assert.deepEqual(p.triggers, []);
            assert.equal(p.properties.get("FORM_SENDER_AWS_RUN"), undefined);
            assert.deepEqual(
                p.rows().map((r) => r.awsStatus),
                ["SUBMITTED", "SUBMITTED", "SUBMITTED", "SUBMITTED", "SUBMITTED", "SUBMITTED", "", ""],
            );
            const rows = await executions([...ids, "A7", "A8"]);
            assert.deepEqual(
                rows.map((r) => r.targeting_id),
                ids,
            );
            assert.deepEqual(
                p
                    .rows()
                    .slice(0, 6)
                    .map((r) => r.executionId),
                rows.map((r) => r.id),
            );
        });

        it("a resume that repeats an already submitted targeting gets the same execution, never a second job", async () => {
            const jobsBefore = (await state()).submittedJobs.length;
            const [a1] = await executions(["A1"]);
            // As if the execution had died after submitting A1 but before saving that it had.
            p.properties.set(
                "FORM_SENDER_AWS_RUN",
                JSON.stringify({ run_id: a1.idempotency_key.replace(/-A1$/, ""), queue: ["A1"], started: 0 }),
            );
            p.execution().resumeFormSenderAws();
            assert.equal((await executions(["A1"])).length, 1);
            assert.equal((await state()).submittedJobs.length, jobsBefore);
            assert.equal(p.rows()[0].executionId, a1.id);
            assert.match(String(p.rows()[0].awsMessage), /already submitted by run gas-\d{14}; same execution/);
        });

        it("refuses a manual run while a trigger run holds the script lock; a resume then reschedules itself", async () => {
            const jobsBefore = (await state()).submittedJobs.length;
            p.lockHolder = 999;
            const fetched = p.fetched.length;
            assert.throws(
                () => p.execution().startFormSenderAws("A1"),
                /another form-sender AWS run holds the script lock .*nothing was submitted or cancelled/,
            );
            p.properties.set("FORM_SENDER_AWS_RUN", JSON.stringify({ run_id: "gas-x", queue: ["A2"], started: 0 }));
            assert.deepEqual(plain(p.execution().resumeFormSenderAws()), { done: false, busy: true });
            p.lockHolder = null;
            // A manual start of a targeting the saved start-all still has queued would make a second execution.
            assert.throws(
                () => p.execution().startFormSenderAws("A2"),
                /targeting A2 is queued in the start-all in progress, which starts it; nothing was submitted/,
            );
            p.lockHolder = 999;
            assert.deepEqual(
                p.triggers.map((t) => t.handler),
                ["resumeFormSenderAws"],
            );
            assert.equal(p.fetched.length, fetched);
            assert.equal((await state()).submittedJobs.length, jobsBefore);
            p.lockHolder = null;
        });

        it("lists pending, submitted and running executions; stops one targeting, then all (and the pending start-all)", async () => {
            p.requestMs = 2000;
            const byId = Object.fromEntries(p.rows().map((r) => [String(r.targeting_id), r]));
            const job = (id: string, status: string) => ({
                jobId: String(byId[id].jobId),
                jobName: `stg-fs-${id}`,
                jobQueue: "stg-fs-spot",
                status,
                container: { environment: [{ name: "FORM_SENDER_EXECUTION_ID", value: String(byId[id].executionId) }] },
                attempts: status === "SUCCEEDED" ? [{ container: { exitCode: 0 } }] : [],
            });
            await batchEvent(job("A1", "RUNNING"));
            await batchEvent(job("A6", "SUCCEEDED"));

            const listed = plain<{ targeting_id: string; status: string }[]>(
                p.execution().getRunningFormSenderAwsTasks(),
            );
            assert.deepEqual(
                listed
                    .filter((e) => ids.includes(e.targeting_id))
                    .map((e) => [e.targeting_id, e.status])
                    .sort(),
                [
                    ["A1", "running"],
                    ["A2", "submitted"],
                    ["A3", "submitted"],
                    ["A4", "submitted"],
                    ["A5", "submitted"],
                ],
            );
            assert.equal(p.rows()[0].awsStatus, "RUNNING");

            const stopped = plain<{ status: string }[]>(p.execution().stopSpecificFormSenderAwsTask("A2"));
            assert.deepEqual(
                stopped.map((s) => s.status),
                ["cancelled"],
            );
            assert.equal(p.rows()[1].awsStatus, "CANCELLED");
            assert.ok((await state()).terminatedJobs.some((t) => t.jobId === byId.A2.jobId));
            // The pending start-all of the lock test queued A2; stopping A2 dropped it from the queue.
            assert.deepEqual(
                plain<{ queue: string[] }>(JSON.parse(p.properties.get("FORM_SENDER_AWS_RUN")!)).queue,
                [],
            );

            p.execution().stopAllRunningFormSenderAwsTasks();
            assert.deepEqual(p.triggers, []);
            assert.equal(p.properties.get("FORM_SENDER_AWS_RUN"), undefined);
            assert.deepEqual(
                (await executions(ids)).map((r) => [r.targeting_id, r.status]),
                [
                    ["A1", "cancelled"],
                    ["A2", "cancelled"],
                    ["A3", "cancelled"],
                    ["A4", "cancelled"],
                    ["A5", "cancelled"],
                    ["A6", "succeeded"],
                ],
            );
            assert.deepEqual(
                p
                    .rows()
                    .slice(0, 6)
                    .map((r) => r.awsStatus),
                ["CANCELLED", "CANCELLED", "CANCELLED", "CANCELLED", "CANCELLED", "SUBMITTED"],
            );
            const left = plain<{ targeting_id: string }[]>(p.execution().getRunningFormSenderAwsTasks());
            assert.deepEqual(
                left.filter((e) => ids.includes(e.targeting_id)),
                [],
            );
        });
    });

    it("start-all skips a targeting whose unfinished execution is only on the list's second page", async () => {
        // PG1's execution is older than 120 unfinished executions of other targetings: the list's first page (100,
        // newest first) does not hold it, the second does.
        const p1 = (
            await db.query<{ id: string }>(
                `insert into job_executions (targeting_id, status, created_at)
                 values ('PG1', 'submitted', now() - interval '1 hour') returning id`,
            )
        ).rows[0].id;
        await db.query(
            `insert into job_executions (targeting_id, status, created_at)
             select 'PGX' || i, 'running', now() - interval '1 second' * i from generate_series(1, 120) i`,
        );
        try {
            const jobsBefore = (await state()).submittedJobs.length;
            const p = project(
                [row({ targeting_id: "PG1", active: true }), row({ targeting_id: "PG2", active: true })],
                {
                    USE_AWS_BATCH: "TRUE",
                },
            );
            assert.equal(plain<{ done: boolean }>(p.execution().startFormSenderAwsAll()).done, true);
            assert.deepEqual(
                (await executions(["PG1", "PG2"])).map((e) => [e.targeting_id, e.status]),
                [
                    ["PG1", "submitted"],
                    ["PG2", "submitted"],
                ],
            );
            assert.deepEqual(
                (await state()).submittedJobs.slice(jobsBefore).map((j) => env(j).FORM_SENDER_TARGETING_ID),
                ["PG2"],
            );
            assert.equal(p.rows()[0].awsMessage, `not started: execution ${p1} is still unfinished`);
            assert.equal(p.rows()[0].executionId, "");
            const listed = plain<{ targeting_id: string }[]>(p.execution().getRunningFormSenderAwsTasks());
            assert.ok(listed.some((e) => e.targeting_id === "PG1"));
            assert.ok(listed.length >= 122, `listed ${listed.length}`);
        } finally {
            // The other tests count what they stop; these rows are not theirs.
            await db.query(
                "update job_executions set status = 'cancelled' " +
                    "where targeting_id in ('PG1', 'PG2') or targeting_id like 'PGX%'",
            );
        }
    });

    describe("batches of submits with UrlFetchApp.fetchAll", () => {
        const setFaults = async (faults: object[]) => {
            const res = await fetch(`${api.control}/faults`, { method: "POST", body: JSON.stringify(faults) });
            assert.equal(res.status, 200, await res.text());
        };
        const frontCounts = async (ids: string[], since: number) => {
            const counts: Record<string, number> = Object.fromEntries(ids.map((id) => [id, 0]));
            for (const f of (await state()).front.slice(since)) if (f.targeting_id in counts) counts[f.targeting_id]++;
            return counts;
        };
        afterEach(() => setFaults([]));

        // Each answer to its row; only what the answer says a retry can fix is retried; FAILED_API_GATEWAY after
        // the last retry; a lost answer comes back as the same execution.
        it("maps answers to rows, retries only the retryable, never makes a second execution", async () => {
            const ids = ["B1", "B2", "B3", "B4", "B5"];
            const error = (code: string, retryable: boolean) =>
                JSON.stringify({ error: { code, message: `${code} from the stand-in`, details: null, retryable } });
            await setFaults([
                // API Gateway throttling: no retryable flag, the status decides.
                { targeting_id: "B1", status: 429, body: '{"message":"Too Many Requests"}', times: 1 },
                // The dispatcher says a retry cannot help.
                { targeting_id: "B2", status: 500, body: error("internal_error", false), times: 1 },
                // The dispatcher says it can, every time: the transport gives up after three retries.
                { targeting_id: "B3", status: 503, body: error("database_unavailable", true), times: 4 },
                // The submit went through but its answer was lost at the gateway.
                {
                    targeting_id: "B5",
                    status: 504,
                    body: '{"message":"Endpoint request timed out"}',
                    times: 1,
                    forward: true,
                },
            ]);
            const s0 = await state();
            const p = project(
                ids.map((id) => row({ targeting_id: id, active: true })),
                { USE_AWS_BATCH: "TRUE" },
            );
            const out = plain<{ done: boolean; started: { targeting_id: string; status: string }[] }>(
                p.execution().startFormSenderAwsAll(),
            );
            assert.equal(out.done, true);
            // One list, then the five together, then the three retryable ones, then B3 alone twice.
            assert.deepEqual(
                p.fetchCalls.map((c) => `${c.fn}:${c.requests}`),
                ["fetch:1", "fetchAll:5", "fetchAll:3", "fetchAll:1", "fetchAll:1"],
            );
            assert.deepEqual(p.sleeps, [1000, 4000, 9000]);
            assert.deepEqual(await frontCounts(ids, s0.front.length), { B1: 2, B2: 1, B3: 4, B4: 1, B5: 2 });
            const rows = Object.fromEntries(p.rows().map((r) => [String(r.targeting_id), r]));
            assert.deepEqual(
                ids.map((id) => rows[id].awsStatus),
                ["SUBMITTED", "FAILED_API_GATEWAY", "FAILED_API_GATEWAY", "SUBMITTED", "SUBMITTED"],
            );
            assert.match(String(rows.B2.awsMessage), /HTTP 500: internal_error from the stand-in/);
            assert.match(String(rows.B3.awsMessage), /HTTP 503: database_unavailable from the stand-in/);
            assert.match(String(rows.B5.awsMessage), /already submitted by run gas-\d{14}; same execution/);
            const made = await executions(ids);
            assert.deepEqual(
                made.map((e) => e.targeting_id),
                ["B1", "B4", "B5"],
            );
            for (const e of made) assert.equal(rows[e.targeting_id].executionId, e.id, e.targeting_id);
            const jobs = (await state()).submittedJobs.slice(s0.submittedJobs.length);
            assert.equal(jobs.length, 3);
            assert.deepEqual(jobs.map((j) => env(j).FORM_SENDER_EXECUTION_ID).sort(), made.map((e) => e.id).sort());
            assert.equal(p.properties.get("FORM_SENDER_AWS_RUN"), undefined);
            assert.equal(p.properties.get("FORM_SENDER_AWS_RUN_WRITTEN"), undefined);
        });

        it("a run killed with a batch in flight is resumed by its trigger and gets the same executions", async () => {
            const ids = ["K1", "K2", "K3", "K4"];
            const s0 = await state();
            const p = project(
                ids.map((id) => row({ targeting_id: id, active: true })),
                { USE_AWS_BATCH: "TRUE", FORM_SENDER_AWS_BATCH_SIZE: "2" },
            );
            p.kill = (call) => call === "UrlFetchApp.fetchAll";
            assert.throws(() => p.execution().startFormSenderAwsAll(), /Exceeded maximum execution time/);
            p.kill = null;
            assert.deepEqual(p.killed, ["UrlFetchApp.fetchAll"]);
            assert.equal(p.lockHolder, null);
            // The first batch reached the API; the sheet never heard of it.
            assert.deepEqual(
                (await executions(ids)).map((e) => e.targeting_id),
                ["K1", "K2"],
            );
            assert.deepEqual(
                p.rows().map((r) => r.jobId),
                ["", "", "", ""],
            );
            assert.deepEqual(
                p.triggers.map((t) => [t.handler, t.afterMs]),
                [["resumeFormSenderAws", 420000]],
            );

            assert.equal((p.fireTrigger() as { done: boolean }).done, true);
            assert.deepEqual(p.triggers, []);
            const made = await executions(ids);
            assert.deepEqual(
                made.map((e) => e.targeting_id),
                ids,
            );
            assert.deepEqual(
                p.rows().map((r) => r.executionId),
                made.map((e) => e.id),
            );
            assert.deepEqual(
                p.rows().map((r) => r.awsStatus),
                ["SUBMITTED", "SUBMITTED", "SUBMITTED", "SUBMITTED"],
            );
            assert.equal((await state()).submittedJobs.length, s0.submittedJobs.length + 4);
        });

        it("a run killed while writing a batch's rows resumes without submitting any of them again", async () => {
            const ids = ["L1", "L2", "L3", "L4"];
            const s0 = await state();
            const p = project(
                ids.map((id) => row({ targeting_id: id, active: true })),
                { USE_AWS_BATCH: "TRUE", FORM_SENDER_AWS_BATCH_SIZE: "2" },
            );
            let writes = 0;
            // L1's executionId is written, then the execution dies.
            p.kill = (call) => call === "Range.setValue" && ++writes === 2;
            assert.throws(() => p.execution().startFormSenderAwsAll(), /Exceeded maximum execution time/);
            p.kill = null;
            const [l1] = p.rows();
            assert.match(String(l1.executionId), /^[0-9a-f-]{36}$/);
            assert.equal(l1.jobId, "");
            const calls = p.fetchCalls.length;

            assert.equal((p.fireTrigger() as { done: boolean }).done, true);
            // Only the second batch is sent: L1 (holding its execution) and L2 are written from the saved answers.
            assert.deepEqual(p.fetchCalls.slice(calls), [{ fn: "fetchAll", requests: 2 }]);
            assert.deepEqual(await frontCounts(ids, s0.front.length), { L1: 1, L2: 1, L3: 1, L4: 1 });
            const made = await executions(ids);
            assert.deepEqual(
                p.rows().map((r) => [r.executionId, r.awsStatus, r.awsMessage]),
                made.map((e) => [e.id, "SUBMITTED", ""]),
            );
            assert.ok(p.rows().every((r) => /\S/.test(String(r.jobId))));
            assert.equal((await state()).submittedJobs.length, s0.submittedJobs.length + 4);
            assert.equal(p.properties.get("FORM_SENDER_AWS_RUN_WRITTEN"), undefined);
        });

        it("stop-all cancels more executions than one list answers (100), ten at a time with fetchAll", async () => {
            const ids = Array.from({ length: 105 }, (_, i) => `S${String(i + 1).padStart(3, "0")}`);
            const p = project(
                ids.map((id) => row({ targeting_id: id, active: true })),
                { USE_AWS_BATCH: "TRUE" },
            );
            assert.equal(plain<{ done: boolean }>(p.execution().startFormSenderAwsAll()).done, true);
            assert.equal((await executions(ids)).length, 105);
            const calls = p.fetchCalls.length;
            const stopped = plain<{ targeting_id: string; status: string }[]>(
                p.execution().stopAllRunningFormSenderAwsTasks(),
            );
            assert.deepEqual(
                stopped
                    .filter((s) => ids.includes(s.targeting_id))
                    .map((s) => s.status)
                    .filter((s) => s !== "cancelled"),
                [],
            );
            const after = p.fetchCalls.slice(calls);
            assert.ok(after.filter((c) => c.fn === "fetch").length >= 2, "listed again after the first 100");
            assert.ok(after.every((c) => c.requests <= 10));
            assert.deepEqual(
                (await executions(ids)).filter((e) => e.status !== "cancelled"),
                [],
            );
            assert.ok(p.rows().every((r) => r.awsStatus === "CANCELLED"));
        });

        it("refuses a batch size outside 1-10, naming the property, the value and the fix, and sends nothing", () => {
            const p = project([row({ targeting_id: "Z1", active: true })], {
                USE_AWS_BATCH: "TRUE",
                FORM_SENDER_AWS_BATCH_SIZE: "50",
            });
            assert.throws(
                () => p.execution().startFormSenderAwsAll(),
                /Script Property FORM_SENDER_AWS_BATCH_SIZE is "50"; use a whole number from 1 to 10/,
            );
            assert.ok(!p.fetched.some((f) => f.method === "POST"));
        });
    });
});
