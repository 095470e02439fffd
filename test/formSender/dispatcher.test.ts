import { strict as assert } from "assert";
import { SubmitJobCommandInput } from "@aws-sdk/client-batch";
import { S3Client } from "@aws-sdk/client-s3";
import {
    ApiEvent,
    ApiResult,
    DispatcherOptions,
    JobExecutionRow,
    makeDispatcher,
    SendClient,
} from "../../functions/formSender/dispatcher";
import { makeLogger } from "../../functions/formSender/log";
import { S3Server, startS3Server } from "../support/s3Server";
import { LocalSupabase, startSupabase } from "../support/supabase";
import { supabaseRpc } from "../../functions/formSender/runtime";
import { describeCommand, SentCommand } from "../support/sdkStub";

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
const QUEUES = { spot: "stg-fs-spot", spotThenOnDemand: "stg-fs-spot-then-ondemand", onDemand: "stg-fs-ondemand" };

/** The Batch client stubbed at the SDK boundary: records each command's name and input. */
class BatchStub implements SendClient {
    sent: SentCommand[] = [];
    failures: Error[] = [];
    send(command: unknown): Promise<unknown> {
        const sent = describeCommand(command);
        this.sent.push(sent);
        const failure = this.failures.shift();
        if (failure) return Promise.reject(failure);
        if (sent.command === "SubmitJobCommand")
            return Promise.resolve({
                jobId: `job-${this.sent.length}`,
                jobName: (sent.input as SubmitJobCommandInput).jobName,
            });
        return Promise.resolve({});
    }
}

/** The dispatcher's answer to a submit. */
interface SubmitAnswer {
    execution_id: string;
    job_id: string;
    job_name: string;
    job_queue: string;
    array_size: number | null;
    duplicate: boolean;
}

/** The dispatcher's error answer; `details` depends on the error. */
interface ErrorAnswer<Details = unknown> {
    error: { code: string; message: string; details: Details };
}

/** Details of an error that happened after the execution was recorded. */
interface ExecutionDetails {
    execution_id: string;
    client_config_object: string;
}

/** The JSON body of an answer, as the shape the test expects. */
const answer = <T>(res: ApiResult): T => JSON.parse(res.body) as T;

/** A value as an object whose fields can be read and changed, or undefined when it is no object. */
const asRecord = (v: unknown): Record<string, unknown> | undefined =>
    typeof v === "object" && v !== null ? (v as Record<string, unknown>) : undefined;

const post = (path: string, body: unknown, resource = path): ApiEvent => ({
    httpMethod: "POST",
    path,
    resource,
    body: typeof body === "string" ? body : JSON.stringify(body),
    requestContext: { requestId: "req-1" },
});

describe("dispatcher", function () {
    this.timeout(120000);
    let sb: LocalSupabase;
    let s3: S3Server;
    let batch: BatchStub;
    let logs: string[];
    let handler: ReturnType<typeof makeDispatcher>;
    let options: DispatcherOptions;

    before(async () => {
        sb = await startSupabase();
        s3 = await startS3Server();
        // The dispatcher's role holds s3:ListBucket (ListClientConfigs), so a missing key is 404 NoSuchKey.
        s3.listableBuckets.add("fs-configs");
    });
    after(async () => {
        await sb?.stop();
        await s3?.close();
    });
    beforeEach(() => {
        batch = new BatchStub();
        logs = [];
        sb.rpc.unavailable = false;
        s3.failPutsWith = undefined;
        options = {
            env: "stg",
            bucket: "fs-configs",
            queues: QUEUES,
            jobDefinition: "arn:aws:batch:us-east-1:123456789012:job-definition/stg-fs-runner:3",
            defaults: { workers_per_workflow: 4 },
            batch,
            s3: new S3Client({
                region: "us-east-1",
                endpoint: s3.endpoint,
                forcePathStyle: true,
                credentials: { accessKeyId: "t", secretAccessKey: "t" },
            }),
            db: () => Promise.resolve(supabaseRpc(sb.url, sb.serviceRoleKey)),
            presignPut: (key) => Promise.resolve(`${s3.endpoint}/fs-configs/${key}?X-Amz-Signature=test`),
            log: makeLogger({
                component: "dispatcher",
                companyNames: ["株式会社テストコネクト"],
                write: (l) => logs.push(l),
            }),
            now: () => new Date("2026-11-23T01:02:03Z"),
            sleep: () => Promise.resolve(),
        };
        handler = makeDispatcher(options);
    });
    const executionRow = async (id: string) =>
        (await sb.db.query<JobExecutionRow>("select * from job_executions where id = $1", [id])).rows[0];

    it("submits an array job with the exact request and records it", async () => {
        const res = await handler(
            post("/form-sender/submit", {
                targeting_id: "T100",
                client_config: CONFIG,
                execution: { run_total: 3, shards: 2 },
                test_mode: true,
                send_end_time: "18:00",
                batch: { max_attempts: 5 },
            }),
        );
        assert.equal(res.statusCode, 200, res.body);
        const out = answer<SubmitAnswer>(res);
        assert.equal(out.duplicate, false);
        assert.deepEqual(
            [out.job_id, out.job_name, out.job_queue, out.array_size],
            ["job-1", "stg-fs-T100-20261123010203", QUEUES.spot, 3],
        );
        assert.deepEqual(
            batch.sent.map((s) => s.command),
            ["SubmitJobCommand"],
        );
        const key = `client-config/stg/T100/${out.execution_id}.json`;
        assert.deepEqual(batch.sent[0].input, {
            jobName: "stg-fs-T100-20261123010203",
            jobQueue: QUEUES.spot,
            jobDefinition: "arn:aws:batch:us-east-1:123456789012:job-definition/stg-fs-runner:3",
            arrayProperties: { size: 3 },
            retryStrategy: {
                attempts: 5,
                evaluateOnExit: [
                    { onStatusReason: "Host EC2*", action: "RETRY" },
                    { onReason: "CannotPullContainerError:*", action: "RETRY" },
                    { onReason: "*", action: "EXIT" },
                ],
            },
            containerOverrides: {
                environment: [
                    { name: "FORM_SENDER_CLIENT_CONFIG_URL", value: `s3://fs-configs/${key}` },
                    { name: "FORM_SENDER_EXECUTION_ID", value: out.execution_id },
                    { name: "FORM_SENDER_TARGETING_ID", value: "T100" },
                    { name: "FORM_SENDER_RUN_TOTAL", value: "3" },
                    { name: "FORM_SENDER_TOTAL_SHARDS", value: "2" },
                    { name: "FORM_SENDER_TABLE_MODE", value: "default" },
                    { name: "FORM_SENDER_TEST_MODE", value: "true" },
                    { name: "FORM_SENDER_SESSION_MAX_HOURS", value: "8" },
                    { name: "FORM_SENDER_WORKERS", value: "4" },
                    { name: "FORM_SENDER_JOB_VCPUS", value: "4" },
                    { name: "FORM_SENDER_JOB_MEMORY_MIB", value: "7680" },
                    { name: "FORM_SENDER_SEND_END_TIME", value: "18:00" },
                    // Off by default (seed 003 §7): the targeting or the stack must allow it.
                    { name: "FORM_SENDER_ALLOW_ON_DEMAND_FALLBACK", value: "false" },
                ],
                resourceRequirements: [
                    { type: "VCPU", value: "4" },
                    { type: "MEMORY", value: "7680" },
                ],
            },
            tags: { "ops:execution-id": out.execution_id, "ops:targeting-id": "T100", "ops:env": "stg" },
            propagateTags: true,
        });
        assert.deepEqual(JSON.parse(s3.objects.get(`fs-configs/${key}`)!.body.toString()), CONFIG);
        const row = await executionRow(out.execution_id);
        assert.deepEqual(
            [row.status, row.job_id, row.job_queue, row.array_size],
            ["submitted", "job-1", QUEUES.spot, 3],
        );
        assert.ok(logs.every((l) => !l.includes("株式会社テストコネクト") && !l.includes("t.yamada@example.com")));
    });

    it("submits a plain job for run_total 1 and picks the queue from prefer_spot / fallback", async () => {
        const queueFor = async (batchOverrides: object) => {
            const res = await handler(
                post("/form-sender/submit", {
                    targeting_id: "T101",
                    client_config: CONFIG,
                    execution: { run_total: 1 },
                    batch: batchOverrides,
                }),
            );
            assert.equal(res.statusCode, 200, res.body);
            return batch.sent[batch.sent.length - 1].input as SubmitJobCommandInput;
        };
        const plain = await queueFor({});
        assert.equal(plain.arrayProperties, undefined);
        assert.equal(plain.jobQueue, QUEUES.spot, "no on-demand fallback unless asked for");
        assert.equal((await queueFor({ allow_on_demand_fallback: true })).jobQueue, QUEUES.spotThenOnDemand);
        assert.equal((await queueFor({ prefer_spot: false })).jobQueue, QUEUES.onDemand);
        assert.equal((await queueFor({ prefer_spot: true, allow_on_demand_fallback: false })).jobQueue, QUEUES.spot);
    });

    it("answers 400 listing every problem with its path, submitting nothing", async () => {
        const res = await handler(
            post("/form-sender/submit", {
                targeting_id: "bad id!",
                client_config: { ...CONFIG, client: { ...CONFIG.client, email: "x" } },
                execution: { run_total: 10001 },
                batch: { workers_per_workflow: 17, turbo: true },
            }),
        );
        assert.equal(res.statusCode, 400);
        const err = answer<ErrorAnswer<{ path: string }[]>>(res).error;
        assert.equal(err.code, "invalid_request");
        assert.deepEqual(err.details.map((d) => d.path).sort(), [
            "/batch/turbo",
            "/batch/workers_per_workflow",
            "/client_config/client/email",
            "/execution/run_total",
            "/targeting_id",
        ]);
        assert.equal(batch.sent.length, 0);
    });

    it("answers 400 for every one of 1,000 malformed bodies, never submitting or storing", async () => {
        let seed = 42;
        const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
        const junk = [
            null,
            -1,
            0,
            1.5,
            10001,
            "",
            "x".repeat(300),
            true,
            [],
            {},
            { a: 1 },
            "18:60",
            "<script>",
            "client-config/../x.json",
        ];
        const pick = <T>(xs: T[]) => xs[Math.floor(rnd() * xs.length)];
        const fields = [
            "targeting_id",
            "client_config",
            "client_config_object",
            "execution",
            "tables",
            "test_mode",
            "session_max_hours",
            "send_end_time",
            "batch",
            "idempotency_key",
            "extra",
        ];
        const objectsBefore = s3.objects.size;
        const count = async () =>
            (await sb.db.query<{ n: number }>("select count(*)::int n from job_executions")).rows[0].n;
        const rowsBefore = await count();
        for (let i = 0; i < 1000; i++) {
            // Deliberately loose: the fuzzer may put any JSON value anywhere.
            const body: Record<string, unknown> = {
                targeting_id: "T1",
                client_config: JSON.parse(JSON.stringify(CONFIG)),
                execution: { run_total: 2 },
            };
            const mutations = 1 + Math.floor(rnd() * 3);
            for (let m = 0; m < mutations; m++) {
                const f = pick(fields);
                const r = rnd();
                const client = f === "client_config" ? asRecord(asRecord(body.client_config)?.client) : undefined;
                if (r < 0.3) delete body[f];
                else if (r < 0.6) body[f] = pick(junk);
                else if (client) client[pick(["email", "phone", "company_name", "nope"])] = pick(junk);
                else if (f === "execution") body.execution = { run_total: pick(junk), shards: pick(junk) };
                else body[f] = pick(junk);
            }
            // Random noise may leave a valid body, so every body also gets one certain defect.
            const defects: ((b: Record<string, unknown>) => void)[] = [
                (b) => (b.execution = { run_total: pick([0, 10001, -3, 2.5, "3"]) }),
                (b) => (b[`unknown_${i}`] = 1),
                (b) => delete b.targeting_id,
                (b) => (b.test_mode = pick(["yes", 1, null])),
                (b) => (b.client_config_object = "client-config/x.json"), // together with client_config
                (b) => (b.batch = { max_attempts: pick([0, 11, "3"]) }),
                (b) => (b.send_end_time = pick(["24:00", "9:00", "18:60"])),
            ];
            if (!body.client_config) body.client_config = JSON.parse(JSON.stringify(CONFIG));
            pick(defects)(body);
            const raw = rnd() < 0.05 ? JSON.stringify(body).slice(0, -1) : JSON.stringify(body);
            const res = await handler(post("/form-sender/submit", raw));
            assert.equal(res.statusCode, 400, `body ${raw} → ${res.statusCode} ${res.body}`);
        }
        assert.equal(batch.sent.length, 0);
        assert.equal(s3.objects.size, objectsBefore);
        assert.equal(await count(), rowsBefore);
    });

    it("submits one job for 50 concurrent submits with one idempotency key", async () => {
        const body = {
            targeting_id: "T102",
            client_config: CONFIG,
            execution: { run_total: 2 },
            idempotency_key: "gas-run-2026-11-23-T102",
        };
        const results = await Promise.all(Array.from({ length: 50 }, () => handler(post("/form-sender/submit", body))));
        assert.ok(
            results.every((r) => r.statusCode === 200),
            results.map((r) => r.body).join("\n"),
        );
        const ids = new Set(results.map((r) => answer<SubmitAnswer>(r).execution_id));
        assert.equal(ids.size, 1);
        assert.equal(batch.sent.filter((s) => s.command === "SubmitJobCommand").length, 1);
        assert.equal(results.filter((r) => answer<SubmitAnswer>(r).duplicate === false).length, 1);
    });

    it("answers 503 and submits nothing when the database is unavailable", async () => {
        sb.rpc.unavailable = true;
        const before = s3.objects.size;
        const res = await handler(
            post("/form-sender/submit", { targeting_id: "T103", client_config: CONFIG, execution: { run_total: 1 } }),
        );
        assert.equal(res.statusCode, 503);
        assert.equal(answer<ErrorAnswer>(res).error.code, "database_unavailable");
        assert.equal(batch.sent.length, 0);
        assert.equal(s3.objects.size, before);
    });

    it("retries a throttled SubmitJob, then answers 502 with the execution failed and the config kept", async () => {
        const throttle = () =>
            Object.assign(new Error("Too Many Requests"), {
                name: "TooManyRequestsException",
                $metadata: { httpStatusCode: 429 },
            });
        batch.failures = [throttle(), throttle(), throttle(), throttle()];
        const res = await handler(
            post("/form-sender/submit", { targeting_id: "T104", client_config: CONFIG, execution: { run_total: 1 } }),
        );
        assert.equal(res.statusCode, 502);
        assert.equal(batch.sent.length, 4);
        const details = answer<ErrorAnswer<ExecutionDetails>>(res).error.details;
        const row = await executionRow(details.execution_id);
        assert.equal(row.status, "failed");
        assert.match(row.error ?? "", /TooManyRequestsException/);
        assert.ok(s3.objects.has(`fs-configs/${details.client_config_object}`));
    });

    it("succeeds when SubmitJob is throttled twice and then accepts", async () => {
        const throttle = () => Object.assign(new Error("slow down"), { name: "TooManyRequestsException" });
        batch.failures = [throttle(), throttle()];
        const res = await handler(
            post("/form-sender/submit", { targeting_id: "T105", client_config: CONFIG, execution: { run_total: 1 } }),
        );
        assert.equal(res.statusCode, 200, res.body);
        assert.equal(batch.sent.length, 3);
    });

    it("marks the execution failed and submits nothing when the config cannot be stored", async () => {
        s3.failPutsWith = 500;
        const res = await handler(
            post("/form-sender/submit", { targeting_id: "T106", client_config: CONFIG, execution: { run_total: 1 } }),
        );
        assert.equal(res.statusCode, 502);
        assert.equal(batch.sent.length, 0);
        assert.equal(
            (await executionRow(answer<ErrorAnswer<ExecutionDetails>>(res).error.details.execution_id)).status,
            "failed",
        );
    });

    it("answers 200 when marking submitted fails after SubmitJob, leaving the repair to batch-events", async () => {
        const realSend = batch.send.bind(batch);
        batch.send = async (cmd: unknown) => {
            const out = await realSend(cmd);
            sb.rpc.unavailable = true; // the database goes away right after Batch accepted the job
            return out;
        };
        const res = await handler(
            post("/form-sender/submit", { targeting_id: "T107", client_config: CONFIG, execution: { run_total: 1 } }),
        );
        sb.rpc.unavailable = false;
        assert.equal(res.statusCode, 200, res.body);
        const row = await executionRow(answer<SubmitAnswer>(res).execution_id);
        assert.equal(row.status, "pending");
        assert.ok(logs.some((l) => l.includes("batch-events will repair it")));
    });

    it("accepts an uploaded client config only when it exists and is valid", async () => {
        const up = await handler(post("/form-sender/client-config-upload", { targeting_id: "T108" }));
        assert.equal(up.statusCode, 200);
        const { key, url } = answer<{ key: string; url: string }>(up);
        assert.match(key, /^client-config\/stg\/uploads\/T108\/[0-9a-f-]{36}\.json$/);
        const missing = await handler(
            post("/form-sender/submit", {
                targeting_id: "T108",
                client_config_object: key,
                execution: { run_total: 1 },
            }),
        );
        assert.equal(missing.statusCode, 400);
        assert.match(missing.body, /upload it first/);
        await fetch(url.replace("?X-Amz-Signature=test", ""), { method: "PUT", body: JSON.stringify(CONFIG) });
        const ok = await handler(
            post("/form-sender/submit", {
                targeting_id: "T108",
                client_config_object: key,
                execution: { run_total: 1 },
            }),
        );
        assert.equal(ok.statusCode, 200, ok.body);
        assert.equal(
            (batch.sent[0].input as SubmitJobCommandInput).containerOverrides?.environment?.[0].value,
            `s3://fs-configs/${key}`,
        );
    });

    it("lists executions and cancels: 200 with TerminateJob, 409 when finished, 404 when unknown", async () => {
        const sub = answer<SubmitAnswer>(
            await handler(
                post("/form-sender/submit", {
                    targeting_id: "T109",
                    client_config: CONFIG,
                    execution: { run_total: 2 },
                }),
            ),
        );
        const listed = await handler({
            httpMethod: "GET",
            path: "/form-sender/executions",
            resource: "/form-sender/executions",
            queryStringParameters: { targeting_id: "T109" },
            body: null,
        });
        assert.deepEqual(
            answer<{ executions: { execution_id: string; status: string; job_name: string }[] }>(listed).executions.map(
                (e) => [e.execution_id, e.status, e.job_name],
            ),
            [[sub.execution_id, "submitted", sub.job_name]],
        );
        const cancel = (id: string) =>
            handler({
                httpMethod: "POST",
                path: `/form-sender/executions/${id}/cancel`,
                resource: "/form-sender/executions/{id}/cancel",
                pathParameters: { id },
                body: null,
            });
        const res = await cancel(sub.execution_id);
        assert.equal(res.statusCode, 200, res.body);
        assert.equal(answer<{ status: string }>(res).status, "cancelled");
        assert.deepEqual(batch.sent[1], {
            command: "TerminateJobCommand",
            input: { jobId: sub.job_id, reason: "cancelled through the form-sender API (no request id)" },
        });
        assert.equal((await cancel(sub.execution_id)).statusCode, 409);
        assert.equal((await cancel("00000000-0000-4000-8000-000000000000")).statusCode, 404);
        const badStatus = await handler({
            httpMethod: "GET",
            path: "/form-sender/executions",
            resource: "/form-sender/executions",
            queryStringParameters: { status: "done" },
            body: null,
        });
        assert.equal(badStatus.statusCode, 400);
    });

    describe("job size and unsupported fields", () => {
        /** The stg instance types: all 4 vCPU / 8 GiB (7680 MiB usable). */
        const STG_TYPES = ["c6a.xlarge", "c5a.xlarge", "c6i.xlarge"];
        const submit = (h: ReturnType<typeof makeDispatcher>, extra: object) =>
            h(
                post("/form-sender/submit", {
                    targeting_id: "T300",
                    client_config: CONFIG,
                    execution: { run_total: 1 },
                    ...extra,
                }),
            );
        const problems = (res: ApiResult) =>
            answer<ErrorAnswer<{ path: string; message: string }[]>>(res).error.details;

        it("sends batch.vcpus / batch.memory_mib as resourceRequirements and records the size in metadata.batch", async () => {
            const h = makeDispatcher({ ...options, instanceTypes: STG_TYPES, jobSize: { vcpus: 4, memory_mib: 7680 } });
            const res = await submit(h, { batch: { vcpus: 2, memory_mib: 3840, workers_per_workflow: 2 } });
            assert.equal(res.statusCode, 200, res.body);
            const input = batch.sent[0].input as SubmitJobCommandInput;
            assert.deepEqual(input.containerOverrides?.resourceRequirements, [
                { type: "VCPU", value: "2" },
                { type: "MEMORY", value: "3840" },
            ]);
            const vars: Record<string, string | undefined> = Object.fromEntries(
                (input.containerOverrides?.environment ?? []).map((e) => [e.name ?? "", e.value]),
            );
            assert.deepEqual([vars.FORM_SENDER_JOB_VCPUS, vars.FORM_SENDER_JOB_MEMORY_MIB], ["2", "3840"]);
            const row = await executionRow(answer<SubmitAnswer>(res).execution_id);
            const recorded = row.metadata?.batch;
            assert.deepEqual(
                [recorded?.queue, recorded?.vcpus, recorded?.memory_mib, recorded?.workers_per_workflow],
                [QUEUES.spot, 2, 3840, 2],
            );
        });

        it("refuses 16 workers in 4 vCPU / 7680 MiB with a 400 naming the field, the value and the fix", async () => {
            const h = makeDispatcher({ ...options, instanceTypes: STG_TYPES });
            const res = await submit(h, { batch: { workers_per_workflow: 16 } });
            assert.equal(res.statusCode, 400, res.body);
            assert.deepEqual(problems(res), [
                {
                    path: "/batch/workers_per_workflow",
                    message:
                        "batch.workers_per_workflow 16 does not fit a job of 4 vCPU / 7680 MiB: 16 workers need 151 % " +
                        "of its CPU and 17 % of its memory, above the 75 % margin (0.38 vCPU and 80 MiB per worker, " +
                        'README "Runner density"). Use batch.workers_per_workflow 7 or fewer (a job for 16 workers ' +
                        "needs 9 vCPU / 7680 MiB; the largest the instance types c6a.xlarge, c5a.xlarge, c6i.xlarge " +
                        "hold is 4 vCPU / 7680 MiB, so larger instance types would have to be added to " +
                        "formSenderInstanceTypes first)",
                },
            ]);
            assert.equal(batch.sent.length, 0);
            // 7 workers are the most 4 vCPU hold within the margin.
            assert.equal((await submit(h, { batch: { workers_per_workflow: 7 } })).statusCode, 200);
            assert.equal((await submit(h, { batch: { workers_per_workflow: 8 } })).statusCode, 400);
        });

        it("names the size fix when a larger job fits the instance types", async () => {
            const h = makeDispatcher({ ...options, instanceTypes: ["c6a.xlarge", "m6a.xlarge"] });
            const res = await submit(h, { batch: { workers_per_workflow: 4, vcpus: 2 } });
            assert.equal(res.statusCode, 400, res.body);
            assert.match(
                problems(res)[0].message,
                /^batch\.workers_per_workflow 4 does not fit a job of 2 vCPU \/ 7680 MiB: .* Use batch\.workers_per_workflow 3 or fewer, or give the job batch\.vcpus 3 and memory_mib \(stack default formSenderJobMemoryMib\) 7680$/,
            );
        });

        it("refuses a job size none of the instance types holds", async () => {
            const h = makeDispatcher({ ...options, instanceTypes: STG_TYPES });
            const res = await submit(h, { batch: { vcpus: 8 } });
            assert.equal(res.statusCode, 400, res.body);
            assert.deepEqual(problems(res), [
                {
                    path: "/batch/vcpus",
                    message:
                        "a job of batch.vcpus 8 and memory_mib (stack default formSenderJobMemoryMib) 7680 fits none of " +
                        "the compute environments' instance types (c6a.xlarge, c5a.xlarge, c6i.xlarge; the largest job " +
                        "they hold is 4 vCPU / 7680 MiB), so Batch would never place it. Ask for at most that, or add " +
                        "larger instance types to formSenderInstanceTypes",
                },
            ]);
            assert.equal((await submit(h, { batch: { memory_mib: 7681 } })).statusCode, 400);
            assert.equal(batch.sent.length, 0);
        });

        it("refuses max_parallelism, instance_count, machine_type and use_extra_table true, naming each with its fix", async () => {
            const res = await submit(handler, {
                batch: { max_parallelism: 100, instance_count: 2, machine_type: "e2-standard-2" },
                tables: { use_extra_table: true },
            });
            assert.equal(res.statusCode, 400, res.body);
            const got = problems(res);
            assert.deepEqual(got.map((p) => p.path).sort(), [
                "/batch/instance_count",
                "/batch/machine_type",
                "/batch/max_parallelism",
                "/tables/use_extra_table",
            ]);
            const byPath = Object.fromEntries(got.map((p) => [p.path, p.message]));
            assert.match(
                byPath["/batch/max_parallelism"],
                /^100 is not supported: AWS Batch has no per-job cap.*formSenderMaxVcpus/,
            );
            assert.match(byPath["/batch/instance_count"], /^2 is not supported: .*execution\.run_total/);
            assert.match(
                byPath["/batch/machine_type"],
                /^"e2-standard-2" is not supported: .*batch\.vcpus and batch\.memory_mib/,
            );
            assert.match(byPath["/tables/use_extra_table"], /^true is not supported: .*send_queue/);
            assert.equal(batch.sent.length, 0);
            // false asks for nothing the runner lacks.
            assert.equal((await submit(handler, { tables: { use_extra_table: false } })).statusCode, 200);
        });
    });
});
