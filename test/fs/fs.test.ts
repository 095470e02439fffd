/**
 * `npm run fs` against the dispatcher on loopback (test/support/formSenderApi.ts: SigV4-checking front,
 * PostgreSQL through the RPC server, S3 and Batch stand-ins) signed with an operator's key, plus the
 * DescribeJobs / GetLogEvents stand-in for `logs`.
 */
import { strict as assert } from "assert";
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { BatchClient } from "@aws-sdk/client-batch";
import { FsDeps, runFs, UsageError } from "../../scripts/lib/fs/commands";
import { ApiError } from "../../scripts/lib/fs/api";
import { API_QUEUES, FormSenderApi, startFormSenderApi } from "../support/formSenderApi";
import { BatchLogsServer, startBatchLogsServer } from "./batchLogsServer";

const ROOT = path.resolve(__dirname, "..", "..");
const OPERATOR = { accessKeyId: "AKIAOPSEXAMPLE0001", secretAccessKey: "ops/secret/key/EXAMPLE0001" };
const CONFIG = {
    client: {
        company_name: "株式会社テストコネクト",
        last_name: "山田",
        first_name: "太郎",
        email: "t.yamada@example.com",
        phone: "03-1234-5678",
    },
    message: { subject: "ご提案", body: "お世話になっております。" },
};

describe("npm run fs against the dispatcher on loopback", function () {
    this.timeout(180000);
    let api: FormSenderApi;
    let logs: BatchLogsServer;
    let out: string[];
    let configFile: string;

    before(async () => {
        [api, logs] = await Promise.all([startFormSenderApi(), startBatchLogsServer()]);
        configFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "fs-cli-")), "client_config.json");
        fs.writeFileSync(configFile, JSON.stringify(CONFIG));
    });
    after(async () => {
        await api?.close();
        await logs?.close();
    });
    beforeEach(() => (out = []));

    const deps = (credentials = OPERATOR): FsDeps => ({
        stackOutputs: (stack) => {
            assert.equal(stack, "stg");
            return Promise.resolve({ formSender: { apiBaseUrl: api.baseUrl, region: "us-east-1" } });
        },
        credentials: () => Promise.resolve(credentials),
        logsEndpoint: () => logs.url,
        batch: (region) => new BatchClient({ region, endpoint: logs.url, credentials: OPERATOR }),
        write: (l) => out.push(l),
    });
    const fsCmd = (...argv: string[]) => runFs([...argv, "--stack", "stg"], deps());
    const submit = async (targeting: string, ...extra: string[]) => {
        out.splice(0);
        await fsCmd("submit", "--targeting", targeting, "--config", configFile, "--json", ...extra);
        return JSON.parse(out.splice(0).join("\n")) as { execution_id: string; job_id: string; array_size: number };
    };
    const row = async (id: string) =>
        (
            await api.sb.db.query<{ status: string; test_mode: boolean }>(
                "select * from job_executions where id = $1",
                [id],
            )
        ).rows[0];

    it("submit sends the config with run total, shards and test mode, signed with the operator's key", async () => {
        const s = await submit("C1", "--run-total", "3", "--shards", "2", "--test-mode");
        assert.equal(s.array_size, 3);
        assert.deepEqual(await row(s.execution_id).then((r) => [r.status, r.test_mode]), ["submitted", true]);
        const job = api.aws.submittedJobs.at(-1)!;
        assert.deepEqual(job.arrayProperties, { size: 3 });
        assert.equal(
            job.containerOverrides?.environment?.find((e) => e.name === "FORM_SENDER_TOTAL_SHARDS")?.value,
            "2",
        );
        await assert.rejects(
            runFs(["list", "--stack", "stg"], deps({ accessKeyId: OPERATOR.accessKeyId, secretAccessKey: "wrong" })),
            (e: ApiError) => e.status === 403 && /signature we calculated does not match/.test(e.message),
        );
    });

    it("list shows unfinished executions by default and filters by targeting and a status list", async () => {
        const a = await submit("L1");
        const b = await submit("L2");
        await fsCmd("cancel", b.execution_id);
        out.splice(0);
        await fsCmd("list", "--targeting", "L1");
        assert.match(out[0], /^EXECUTION\s+TARGETING\s+STATUS\s+JOB\s+QUEUE\s+ARRAY\s+SUBMITTED$/);
        assert.equal(out.length, 3);
        assert.match(
            out[1],
            new RegExp(`^${a.execution_id}\\s+L1\\s+submitted\\s+stg-fs-L1-\\d{14}\\s+${API_QUEUES.spot}\\s`),
        );
        assert.equal(out[2], "1 execution(s) with status pending,submitted,running");
        out.splice(0);
        await fsCmd("list", "--targeting", "L2");
        assert.equal(out.at(-1), "0 execution(s) with status pending,submitted,running");
        out.splice(0);
        await fsCmd("list", "--status", "cancelled,succeeded", "--json");
        const listed = (JSON.parse(out.join("\n")) as { executions: { execution_id: string; status: string }[] })
            .executions;
        assert.ok(listed.some((e) => e.execution_id === b.execution_id));
        assert.ok(listed.every((e) => ["cancelled", "succeeded"].includes(e.status)));
        await assert.rejects(
            fsCmd("list", "--status", "running,done"),
            (e: ApiError) =>
                e.status === 400 &&
                JSON.stringify(e.body).includes('\\"done\\" is not a status; use one or more of pending, submitted'),
        );
    });

    it("list follows next_cursor past the API's 100 per page: every unfinished execution, none twice", async () => {
        await api.sb.db.query(
            `insert into job_executions (targeting_id, status, created_at)
             select 'P1', (array['pending','submitted','running'])[1 + i % 3], now() - i * interval '1 millisecond'
             from generate_series(0, 229) i`,
        );
        out.splice(0);
        await fsCmd("list", "--targeting", "P1", "--json");
        const ids = (JSON.parse(out.join("\n")) as { executions: { execution_id: string }[] }).executions.map(
            (e) => e.execution_id,
        );
        assert.equal(ids.length, 230);
        assert.equal(new Set(ids).size, 230);
        out.splice(0);
        await fsCmd("list", "--targeting", "P1");
        assert.equal(out.at(-1), "230 execution(s) with status pending,submitted,running");
    });

    it("show prints attempts per array index, the fallback and the items by state", async () => {
        const s = await submit("S1", "--run-total", "2");
        const child = (index: number, status: string, attempts: object[]) =>
            api.batchEvent({
                jobId: `${s.job_id}:${index}`,
                jobName: "stg-fs-S1",
                jobQueue: API_QUEUES.spotThenOnDemand,
                status: status as "RUNNING",
                arrayProperties: { index },
                container: { environment: [{ name: "FORM_SENDER_EXECUTION_ID", value: s.execution_id }] },
                attempts,
            });
        await child(0, "RUNNING", [
            { statusReason: "Host EC2 (instance i-0abc) terminated.", container: { exitCode: 143 } },
        ]);
        await child(1, "SUCCEEDED", [{ container: { exitCode: 0 } }]);
        await api.sb.db.query("select record_job_fallback($1, 'od-job-1', 'stg-fs-S1-od', $2, $3)", [
            s.execution_id,
            API_QUEUES.onDemand,
            JSON.stringify({
                from_queue: API_QUEUES.spotThenOnDemand,
                to_queue: API_QUEUES.onDemand,
                from_job_id: s.job_id,
                to_job_id: "od-job-1",
            }),
        ]);
        const company = await api.sb.db.query<{ id: string }>(
            "insert into companies (name, form_url) values ('会社S1', 'https://example.com/contact') returning id",
        );
        for (const status of ["pending", "pending", "done", "unknown"])
            await api.sb.db.query("insert into send_queue (targeting_id, company_id, status) values ('S1', $1, $2)", [
                company.rows[0].id,
                status,
            ]);

        await fsCmd("show", s.execution_id);
        assert.match(out[0], new RegExp(`^execution ${s.execution_id}  targeting S1  status running$`));
        assert.equal(out[3], `fallback: ${API_QUEUES.spotThenOnDemand} → ${API_QUEUES.onDemand} (job od-job-1)`);
        assert.equal(out[4], "queue items: done 1, pending 2, unknown 1   submissions: none   unknown: 0");
        assert.deepEqual(
            out.slice(6).map((l) => l.split(/\s{2,}/).slice(0, 4)),
            [
                ["INDEX", "ATTEMPT", "STATUS", "EXIT"],
                ["1", "1", "failed", "143"],
                ["1", "2", "running", "-"],
                ["2", "1", "succeeded", "0"],
            ],
        );
        assert.match(out[7], /Host EC2 \(instance i-0abc\) terminated\.$/);
        await assert.rejects(
            fsCmd("show", "not-an-id"),
            (e: Error) => e instanceof UsageError && /copy one from npm run fs -- list/.test(e.message),
        );
    });

    it("cancel stops one execution, says when it had already finished, and stops every unfinished one of a targeting", async () => {
        const a = await submit("K1");
        await fsCmd("cancel", a.execution_id);
        assert.deepEqual(out, [`${a.execution_id}  cancelled`, "1 execution(s) handled"]);
        out.splice(0);
        await fsCmd("cancel", a.execution_id);
        assert.deepEqual(out, [`${a.execution_id}  already cancelled`, "1 execution(s) handled"]);
        const b = await submit("K2");
        const c = await submit("K2");
        out.splice(0);
        await fsCmd("cancel", "--targeting", "K2");
        assert.deepEqual(
            out.slice(0, -1).sort(),
            [`${b.execution_id}  cancelled`, `${c.execution_id}  cancelled`].sort(),
        );
        assert.equal(out.at(-1), "2 execution(s) of targeting K2 handled");
        const terminated = api.aws.terminatedJobs.map((t) => t.jobId);
        assert.deepEqual(
            [a.job_id, b.job_id, c.job_id].map((j) => terminated.filter((t) => t === j).length),
            [1, 1, 1],
        );
    });

    it("a job terminated outside the API (aws batch terminate-job) ends cancelled; a job failing on its own ends failed", async () => {
        const stopped = await submit("T1");
        const broken = await submit("T2");
        const failedEvent = (s: { execution_id: string; job_id: string }, extra: object) =>
            api.batchEvent({
                jobId: s.job_id,
                jobName: "stg-fs-T",
                jobQueue: API_QUEUES.spotThenOnDemand,
                status: "FAILED",
                container: { environment: [{ name: "FORM_SENDER_EXECUTION_ID", value: s.execution_id }] },
                attempts: [{ container: { exitCode: 143 } }],
                ...extra,
            });
        await failedEvent(stopped, { statusReason: "stopped by the on-call operator", isTerminated: true });
        await failedEvent(broken, { statusReason: "Essential container in task exited", isTerminated: false });
        out.splice(0);
        await fsCmd("show", stopped.execution_id);
        assert.match(out[0], /status cancelled$/);
        assert.match(out[2], /error: stopped outside the form-sender API: stopped by the on-call operator$/);
        assert.equal((await row(broken.execution_id)).status, "failed");
    });

    it("logs prints every attempt's masked runner lines of one array index, from the Spot job and its fallback", async () => {
        const s = await submit("G1", "--run-total", "2");
        await api.sb.db.query("select record_job_fallback($1, 'od-job-g1', 'stg-fs-G1-od', $2, $3)", [
            s.execution_id,
            API_QUEUES.onDemand,
            JSON.stringify({ from_job_id: s.job_id, to_job_id: "od-job-g1" }),
        ]);
        const group = "/aws/batch/fs-stg-runner";
        logs.jobs.set(`${s.job_id}:1`, { group, attempts: ["runner/default/a1", undefined] });
        logs.jobs.set("od-job-g1:1", { group, attempts: ["runner/default/b1"] });
        logs.streams.set(`${group}/runner/default/a1`, [
            { timestamp: Date.UTC(2026, 10, 27, 0, 0, 1), message: '{"level":"info","message":"claimed 5 items"}' },
            { timestamp: Date.UTC(2026, 10, 27, 0, 0, 2), message: "sent to info@example.co.jp" },
            { timestamp: Date.UTC(2026, 10, 27, 0, 0, 3), message: "SIGTERM: Spot reclaim" },
        ]);
        logs.streams.set(`${group}/runner/default/b1`, [
            { timestamp: Date.UTC(2026, 10, 27, 0, 5, 0), message: "call 03-1234-5678 back" },
        ]);
        await fsCmd("logs", s.execution_id, "--index", "2");
        assert.deepEqual(out, [
            `== ${s.job_id}:1 attempt 1 (runner/default/a1)`,
            '2026-11-27T00:00:01.000Z  {"level":"info","message":"claimed 5 items"}',
            "2026-11-27T00:00:02.000Z  sent to [email]",
            "2026-11-27T00:00:03.000Z  SIGTERM: Spot reclaim",
            "== od-job-g1:1 attempt 1 (runner/default/b1)",
            "2026-11-27T00:05:00.000Z  call [phone] back",
        ]);
        assert.ok(logs.authorizations.every((a) => a.includes(`Credential=${OPERATOR.accessKeyId}/`)));
        assert.ok(logs.authorizations.some((a) => a.includes("/us-east-1/logs/aws4_request")));
        await assert.rejects(fsCmd("logs", s.execution_id), /is an array job of 2; add --index N/);
    });

    it("refuses bad input naming the option, the value and the fix", async () => {
        await assert.rejects(runFs(["list"], deps()), /--stack is required \(stg or prd\)/);
        await assert.rejects(fsCmd("frobnicate"), /unknown command "frobnicate"/);
        await assert.rejects(fsCmd("list", "--colour"), /unknown option --colour/);
        await assert.rejects(
            fsCmd("submit", "--targeting", "X", "--config", configFile, "--run-total", "0"),
            /--run-total is "0"; give a whole number from 1 to 10000/,
        );
    });

    it("runs as npm run fs: stack outputs from the pulumi CLI, credentials from the environment", async () => {
        const bin = fs.mkdtempSync(path.join(os.tmpdir(), "fs-bin-"));
        fs.writeFileSync(
            path.join(bin, "pulumi"),
            `#!/bin/sh\n[ "$*" = "stack output --json --stack stg" ] || exit 9\n` +
                `echo '${JSON.stringify({ formSender: { apiBaseUrl: api.baseUrl, region: "us-east-1" } })}'\n`,
            { mode: 0o755 },
        );
        const child = spawn(
            process.execPath,
            ["-r", "ts-node/register/transpile-only", path.join(ROOT, "scripts", "fs.ts"), "list", "--stack", "stg"],
            {
                cwd: ROOT,
                env: {
                    ...process.env,
                    PATH: `${bin}:${process.env.PATH}`,
                    AWS_ACCESS_KEY_ID: OPERATOR.accessKeyId,
                    AWS_SECRET_ACCESS_KEY: OPERATOR.secretAccessKey,
                    AWS_PROFILE: "",
                },
            },
        );
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d: Buffer) => (stdout += d.toString("utf8")));
        child.stderr.on("data", (d: Buffer) => (stderr += d.toString("utf8")));
        const code = await new Promise<number | null>((r) => child.on("exit", r));
        assert.equal(code, 0, stderr);
        assert.match(stdout, /^EXECUTION\s+TARGETING\s+STATUS/);
        assert.match(stdout, /\d+ execution\(s\) with status pending,submitted,running\n$/);
    });
});
