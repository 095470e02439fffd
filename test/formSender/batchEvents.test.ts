import { strict as assert } from "assert";
import { SubmitJobCommandInput } from "@aws-sdk/client-batch";
import { S3Client } from "@aws-sdk/client-s3";
import { BatchEvent, BatchJobDetail, makeBatchEventsHandler } from "../../functions/formSender/batchEvents";
import { makeLogger } from "../../functions/formSender/log";
import { S3Server, startS3Server } from "../support/s3Server";
import { LocalSupabase, startSupabase } from "../support/supabase";
import { supabaseRpc } from "../../functions/formSender/runtime";
import { JobExecutionRow, SendClient } from "../../functions/formSender/dispatcher";
import { describeCommand, SentCommand } from "../support/sdkStub";

const ON_DEMAND = "arn:aws:batch:us-east-1:123456789012:job-queue/stg-fs-ondemand";
const SPOT = "arn:aws:batch:us-east-1:123456789012:job-queue/stg-fs-spot";

class BatchStub implements SendClient {
    sent: SentCommand[] = [];
    send(command: unknown): Promise<unknown> {
        const sent = describeCommand(command);
        this.sent.push(sent);
        return Promise.resolve(
            sent.command === "SubmitJobCommand"
                ? { jobId: `od-${this.sent.length}`, jobName: (sent.input as SubmitJobCommandInput).jobName }
                : {},
        );
    }
}

/** A `job_execution_attempts` row as the test selects it. */
interface AttemptRow {
    run_index: number;
    attempt: number;
    status: string;
    exit_code: number | null;
    status_reason: string | null;
}

describe("batch-events", function () {
    this.timeout(120000);
    let sb: LocalSupabase;
    let s3: S3Server;
    let batch: BatchStub;
    let handler: ReturnType<typeof makeBatchEventsHandler>;
    /** Arranges state through the same RPCs production uses, directly over SQL. */
    const rpc = async <T>(fn: string, args: Record<string, unknown>): Promise<T> =>
        (
            await sb.db.query<{ v: T }>(
                `select ${fn}(${Object.keys(args)
                    .map((k, i) => `${k} => $${i + 1}`)
                    .join(", ")}) as v`,
                Object.values(args).map((v) => (v && typeof v === "object" ? JSON.stringify(v) : v)),
            )
        ).rows[0].v;

    before(async () => {
        sb = await startSupabase();
        s3 = await startS3Server();
    });
    after(async () => {
        await sb?.stop();
        await s3?.close();
    });
    /** The handler against the stand-ins, its log lines going to `write`. */
    const handlerWriting = (write: (line: string) => unknown) =>
        makeBatchEventsHandler({
            bucket: "fs-configs",
            onDemandQueue: ON_DEMAND,
            batch,
            s3: new S3Client({
                region: "us-east-1",
                endpoint: s3.endpoint,
                forcePathStyle: true,
                credentials: { accessKeyId: "t", secretAccessKey: "t" },
            }),
            db: () => Promise.resolve(supabaseRpc(sb.url, sb.serviceRoleKey)),
            log: makeLogger({ component: "batch-events", write: (line) => void write(line) }),
            now: () => new Date("2026-11-23T02:00:00Z"),
        });
    beforeEach(() => {
        batch = new BatchStub();
        handler = handlerWriting(() => undefined);
    });

    async function submittedExecution(
        targeting: string,
        opts: { runTotal?: number; fallback?: boolean; markSubmitted?: boolean } = {},
    ) {
        const e = await rpc<JobExecutionRow>("create_job_execution", {
            p_targeting_id: targeting,
            p_run_total: opts.runTotal ?? 2,
            p_shards: 1,
            p_test_mode: false,
            p_idempotency_key: null,
            p_metadata: { batch: { allow_on_demand_fallback: opts.fallback ?? true } },
        });
        const executionId: string = e.id;
        if (opts.markSubmitted ?? true)
            await rpc("mark_job_submitted", {
                p_execution_id: executionId,
                p_job_id: `job-${targeting}`,
                p_job_name: `stg-fs-${targeting}`,
                p_job_queue: SPOT,
                p_array_size: opts.runTotal ?? 2,
            });
        const key = `client-config/stg/${targeting}/${executionId}.json`;
        s3.objects.set(`fs-configs/${key}`, {
            body: Buffer.from("{}"),
            contentType: "application/json",
            etag: '"x"',
            lastModified: new Date(),
        });
        return { executionId, key };
    }
    const event = (
        executionId: string,
        key: string,
        d: Partial<BatchJobDetail> & Pick<BatchJobDetail, "jobId" | "status">,
    ): BatchEvent => ({
        "detail-type": "Batch Job State Change",
        source: "aws.batch",
        time: "2026-11-23T02:00:00Z",
        detail: {
            jobName: "stg-fs-T",
            jobQueue: SPOT,
            jobDefinition: "arn:aws:batch:us-east-1:123456789012:job-definition/stg-fs-runner:3",
            container: {
                environment: [
                    { name: "FORM_SENDER_EXECUTION_ID", value: executionId },
                    { name: "FORM_SENDER_CLIENT_CONFIG_URL", value: `s3://fs-configs/${key}` },
                    { name: "AWS_REGION", value: "us-east-1" },
                ],
            },
            ...d,
        },
    });
    const exec = async (id: string) =>
        (await sb.db.query<JobExecutionRow>("select * from job_executions where id = $1", [id])).rows[0];
    const attempts = async (id: string) =>
        (
            await sb.db.query<AttemptRow>(
                "select run_index, attempt, status, exit_code, status_reason from job_execution_attempts where execution_id = $1 order by run_index, attempt",
                [id],
            )
        ).rows;

    it("records child attempts, then success, and deletes the client config; duplicates change nothing", async () => {
        const { executionId, key } = await submittedExecution("E1");
        const child = event(executionId, key, {
            jobId: "job-E1:1",
            status: "SUCCEEDED",
            arrayProperties: { index: 1 },
            attempts: [
                {
                    container: { exitCode: 143, reason: "Host EC2 (instance i-1) terminated." },
                    statusReason: "Host EC2 (instance i-1) terminated.",
                },
                { container: { exitCode: 0 } },
            ],
        });
        await handler(child);
        await handler(child);
        assert.deepEqual(await attempts(executionId), [
            {
                run_index: 2,
                attempt: 1,
                status: "failed",
                exit_code: 143,
                status_reason: "Host EC2 (instance i-1) terminated.",
            },
            { run_index: 2, attempt: 2, status: "succeeded", exit_code: 0, status_reason: null },
        ]);
        const parent = event(executionId, key, { jobId: "job-E1", status: "SUCCEEDED", arrayProperties: { size: 2 } });
        assert.deepEqual(await handler(parent), { action: "recorded", executionId, status: "succeeded", attempts: 0 });
        assert.equal((await exec(executionId)).status, "succeeded");
        assert.equal(s3.objects.has(`fs-configs/${key}`), false);
        // A late RUNNING event for the parent does not move it backwards.
        assert.equal(
            (
                await handler(
                    event(executionId, key, { jobId: "job-E1", status: "RUNNING", arrayProperties: { size: 2 } }),
                )
            ).action,
            "ignored",
        );
        assert.equal((await exec(executionId)).status, "succeeded");
    });

    it("marks failure and keeps the client config", async () => {
        const { executionId, key } = await submittedExecution("E2");
        await handler(
            event(executionId, key, {
                jobId: "job-E2",
                status: "FAILED",
                statusReason: "Array Child Job failed",
                arrayProperties: { size: 2 },
            }),
        );
        const row = await exec(executionId);
        assert.deepEqual([row.status, row.error], ["failed", "Array Child Job failed"]);
        assert.equal(s3.objects.has(`fs-configs/${key}`), true);
    });

    it("repairs an execution left pending when mark-submitted was lost", async () => {
        const { executionId, key } = await submittedExecution("E3", { markSubmitted: false });
        await handler(
            event(executionId, key, {
                jobId: "job-E3",
                jobName: "stg-fs-E3",
                status: "RUNNING",
                arrayProperties: { size: 2 },
            }),
        );
        const row = await exec(executionId);
        assert.deepEqual([row.status, row.job_id, row.job_queue], ["running", "job-E3", SPOT]);
    });

    it("falls back to on-demand once when Spot capacity was unavailable", async () => {
        const { executionId, key } = await submittedExecution("E4");
        const cancelled = event(executionId, key, {
            jobId: "job-E4",
            jobName: "stg-fs-E4",
            status: "FAILED",
            arrayProperties: { size: 2 },
            statusReason: `Job cancelled by the job queue's time limit action: ${"CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY"}`,
            retryStrategy: { attempts: 3 },
            tags: { "ops:env": "stg" },
        });
        assert.deepEqual(await handler(cancelled), { action: "fallback", executionId, jobId: "od-1" });
        assert.deepEqual(batch.sent[0], {
            command: "SubmitJobCommand",
            input: {
                jobName: "stg-fs-E4-od",
                jobQueue: ON_DEMAND,
                jobDefinition: "arn:aws:batch:us-east-1:123456789012:job-definition/stg-fs-runner:3",
                arrayProperties: { size: 2 },
                retryStrategy: { attempts: 3 },
                containerOverrides: {
                    environment: [
                        { name: "FORM_SENDER_EXECUTION_ID", value: executionId },
                        { name: "FORM_SENDER_CLIENT_CONFIG_URL", value: `s3://fs-configs/${key}` },
                    ],
                },
                tags: { "ops:env": "stg", "ops:execution-id": executionId, "ops:fallback-from": "job-E4" },
                propagateTags: true,
            },
        });
        const row = await exec(executionId);
        assert.deepEqual([row.status, row.job_id, row.job_queue], ["submitted", "od-1", ON_DEMAND]);
        assert.deepEqual(row.metadata?.batch?.fallback, {
            from_queue: SPOT,
            to_queue: ON_DEMAND,
            at: "2026-11-23T02:00:00.000Z",
            reason: cancelled.detail.statusReason,
            from_job_id: "job-E4",
            to_job_id: "od-1",
        });
        // The same event again: the old job is superseded, nothing is resubmitted.
        assert.equal((await handler(cancelled)).action, "ignored");
        assert.equal(batch.sent.length, 1);
        // The on-demand job failing for capacity too ends the execution: no second fallback.
        await handler(
            event(executionId, key, {
                jobId: "od-1",
                jobQueue: ON_DEMAND,
                status: "FAILED",
                statusReason: "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY",
                arrayProperties: { size: 2 },
            }),
        );
        assert.equal((await exec(executionId)).status, "failed");
        assert.equal(batch.sent.length, 1);
    });

    it("falls back on demand with the Spot job's vCPU and memory, not the job definition's", async () => {
        const { executionId, key } = await submittedExecution("E4S");
        const base = event(executionId, key, { jobId: "job-E4S", status: "FAILED" });
        await handler({
            ...base,
            detail: {
                ...base.detail,
                statusReason: "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY",
                container: {
                    ...base.detail.container,
                    resourceRequirements: [
                        { type: "VCPU", value: "2" },
                        { type: "MEMORY", value: "3840" },
                        { type: "GPU", value: "0" },
                    ],
                },
            },
        });
        const resubmitted = batch.sent[0].input as { containerOverrides?: { resourceRequirements?: unknown } };
        assert.deepEqual(resubmitted.containerOverrides?.resourceRequirements, [
            { type: "VCPU", value: "2" },
            { type: "MEMORY", value: "3840" },
        ]);
    });

    it("does not fall back when the execution forbids on-demand", async () => {
        const { executionId, key } = await submittedExecution("E5", { fallback: false });
        await handler(
            event(executionId, key, {
                jobId: "job-E5",
                status: "FAILED",
                statusReason: "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY",
                arrayProperties: { size: 2 },
            }),
        );
        assert.equal(batch.sent.length, 0);
        assert.equal((await exec(executionId)).status, "failed");
    });

    it("names the kept client config's bucket and key in the execution-failed log line", async () => {
        const lines: string[] = [];
        const logged = handlerWriting((line) => lines.push(line));
        const { executionId, key } = await submittedExecution("E5K", { fallback: false });
        const reason = "Essential container in task exited";
        await logged(event(executionId, key, { jobId: "job-E5K", status: "FAILED", statusReason: reason }));
        const failed = lines
            .map((l) => JSON.parse(l) as Record<string, unknown>)
            .filter((l) => l.message === "execution failed");
        assert.deepEqual(failed, [
            {
                level: "warn",
                component: "batch-events",
                message: "execution failed",
                execution_id: executionId,
                job_id: "job-E5K",
                reason,
                client_config_bucket: "fs-configs",
                client_config_key: key,
            },
        ]);
        // Kept for a retry: the object the line names is still there.
        assert.ok(s3.objects.has(`fs-configs/${key}`));
    });

    // The queues cancel a job no compute environment can run after 600 s (components/formSender/compute.ts
    // misconfigurationLimits); the status reason's form is the one the AWS Batch user guide shows for a
    // jobStateTimeLimitActions cancel (job_stuck_in_runnable_capacity.html), with the MISCONFIGURATION reasons of
    // job_stuck_in_runnable_time_limit_actions.html.
    for (const [reason, says] of [
        [
            "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT",
            "no instance type of its compute environments can hold the job's 8 vCPU / 15360 MiB " +
                "(MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT). Fix: submit again with a smaller batch.vcpus / " +
                "batch.memory_mib, or add a larger type to formSenderInstanceTypes",
        ],
        [
            "MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE",
            "every compute environment's maxvCpus is below the job's 8 vCPU / 15360 MiB " +
                "(MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE; spot-watch may have lowered the Spot one). " +
                "Fix: submit again with a smaller batch.vcpus, or raise formSenderMaxVcpus / " +
                "formSenderOnDemandMaxVcpus",
        ],
    ]) {
        it(`records a job the queue cancelled for ${reason} as failed with the reason and the fix`, async () => {
            const { executionId, key } = await submittedExecution(`EM-${reason.length}`);
            const base = event(executionId, key, { jobId: `job-EM-${reason.length}`, status: "FAILED" });
            const out = await handler({
                ...base,
                detail: {
                    ...base.detail,
                    arrayProperties: { size: 2 },
                    isCancelled: true,
                    statusReason: `Canceled by JobStateTimeLimit action due to reason: ${reason}`,
                    container: {
                        ...base.detail.container,
                        resourceRequirements: [
                            { type: "VCPU", value: "8" },
                            { type: "MEMORY", value: "15360" },
                        ],
                    },
                },
            });
            assert.deepEqual(out, { action: "recorded", executionId, status: "failed", attempts: 0 });
            const row = await exec(executionId);
            assert.equal(row.status, "failed");
            assert.equal(row.error, `cancelled by the job queue after waiting RUNNABLE: ${says}`);
            // Not a capacity cancel: no on-demand resubmission, even though the execution allows fallback.
            assert.equal(batch.sent.length, 0);
            // Kept for a retry, as after any failure.
            assert.ok(s3.objects.has(`fs-configs/${key}`));
        });
    }

    it("ignores jobs that are not form-sender executions", async () => {
        const out = await handler({
            "detail-type": "Batch Job State Change",
            source: "aws.batch",
            time: "",
            detail: { jobId: "x", jobName: "other", jobQueue: SPOT, status: "FAILED" },
        });
        assert.deepEqual(out, { action: "ignored", reason: "not a form-sender job" });
    });
});
