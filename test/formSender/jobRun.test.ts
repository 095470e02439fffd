/**
 * What a job actually ran with, recorded through the PostgREST stand-in over embedded PostgreSQL: batch-events
 * reports each container's queue, vCPU, memory and workers from the job state change; the runner reports the
 * instance type and its memory limit at start and its peak memory (with memory_warning) at the end; record_job_run
 * (supabase/migrations/20261127000200_form_sender_job_run.sql) merges them on the attempt and on the execution.
 */
import { strict as assert } from "assert";
import { BatchEvent, makeBatchEventsHandler, ranWith } from "../../functions/formSender/batchEvents";
import { JobExecutionRow, RpcClient } from "../../functions/formSender/dispatcher";
import { supabaseRpc } from "../../functions/formSender/runtime";
import { hostFacts, memoryReport, ReadSystemFile } from "../../containers/runner/src/job";
import { QueueApi, RpcError } from "../../containers/runner/src/queue";
import { ranText } from "../../scripts/lib/fs/commands";
import { LocalSupabase, startSupabase } from "../support/supabase";

const files =
    (map: Record<string, string>): ReadSystemFile =>
    (p) =>
        map[p];

describe("what a job ran with (record_job_run)", function () {
    this.timeout(120000);
    let sb: LocalSupabase;
    let db: RpcClient;
    before(async () => {
        sb = await startSupabase();
        db = supabaseRpc(sb.url, sb.serviceRoleKey);
    });
    after(async () => sb && (await sb.stop()));

    const newExecution = async (targeting: string) => {
        const { data, error } = await db.rpc("create_job_execution", {
            p_targeting_id: targeting,
            p_run_total: 2,
            p_shards: 1,
            p_test_mode: false,
            p_idempotency_key: null,
            p_metadata: { batch: { queue: "fs-stg-spot", workers_per_workflow: 4, vcpus: 2, memory_mib: 3840 } },
        });
        assert.equal(error, null);
        return (data as JobExecutionRow).id;
    };
    const execution = async (id: string) =>
        (await sb.db.query<JobExecutionRow>("select * from job_executions where id = $1", [id])).rows[0];
    const attemptMeta = async (id: string, runIndex: number) =>
        (
            await sb.db.query<{ metadata: { ran?: Record<string, unknown> } }>(
                "select metadata from job_execution_attempts where execution_id = $1 and run_index = $2",
                [id, runIndex],
            )
        ).rows[0]?.metadata;

    it("reads the queue, the effective vCPU / memory and the workers from a job state change", () => {
        assert.deepEqual(
            ranWith({
                jobId: "j:0",
                jobName: "n",
                jobQueue: "arn:aws:batch:us-east-1:123456789012:job-queue/fs-stg-spot",
                status: "RUNNING",
                container: {
                    environment: [{ name: "FORM_SENDER_WORKERS", value: "4" }],
                    resourceRequirements: [
                        { type: "VCPU", value: "2" },
                        { type: "MEMORY", value: "3840" },
                    ],
                },
            }),
            { queue: "fs-stg-spot", vcpus: 2, memory_mib: 3840, workers: 4 },
        );
    });

    it("reads the instance type and the cgroup's limit and peak; warns at 90 % of the limit", () => {
        const host = files({
            "/sys/devices/virtual/dmi/id/product_name": "c6a.xlarge",
            "/sys/fs/cgroup/memory.max": String(3840 * 1024 * 1024),
            "/sys/fs/cgroup/memory.peak": String(3500 * 1024 * 1024),
        });
        assert.deepEqual(hostFacts(host), { instance_type: "c6a.xlarge", memory_limit_mib: 3840 });
        assert.deepEqual(memoryReport(host, 3840), {
            peak_memory_mib: 3500,
            memory_share: 0.911,
            memory_warning: true,
        });
        assert.equal(memoryReport(host, 7680)?.memory_warning, false);
        // cgroup v1, no limit, and a machine that is no EC2 instance.
        const v1 = files({
            "/sys/devices/virtual/dmi/id/product_name": "Standard PC (Q35 + ICH9, 2009)",
            "/sys/fs/cgroup/memory/memory.limit_in_bytes": "9223372036854771712",
            "/sys/fs/cgroup/memory/memory.max_usage_in_bytes": String(1024 * 1024 * 1024),
        });
        assert.deepEqual(hostFacts(v1), { instance_type: null, memory_limit_mib: null });
        assert.deepEqual(memoryReport(v1, null), { peak_memory_mib: 1024, memory_share: null, memory_warning: false });
        assert.equal(memoryReport(files({}), 3840), undefined);
    });

    it("merges batch-events' and the runners' reports on the attempts and the execution", async () => {
        const id = await newExecution("R1");
        const none = { send: () => Promise.resolve({}) };
        const events = makeBatchEventsHandler({
            bucket: "b",
            onDemandQueue: "fs-stg-ondemand",
            batch: none,
            s3: none,
            db: () => Promise.resolve(db),
            log: () => undefined,
        });
        const running = (index: number): BatchEvent => ({
            "detail-type": "Batch Job State Change",
            source: "aws.batch",
            time: "2026-11-27T12:00:00Z",
            detail: {
                jobId: `job-r1:${index}`,
                jobName: "n",
                jobQueue: "arn:aws:batch:us-east-1:123456789012:job-queue/fs-stg-spot",
                status: "RUNNING",
                arrayProperties: { index },
                container: {
                    environment: [
                        { name: "FORM_SENDER_EXECUTION_ID", value: id },
                        { name: "FORM_SENDER_WORKERS", value: "4" },
                    ],
                    resourceRequirements: [
                        { type: "VCPU", value: "2" },
                        { type: "MEMORY", value: "3840" },
                    ],
                },
            },
        });
        await events(running(0));
        await events(running(1));
        // The runners of both children, as job.ts reports at start and at the end.
        const runner = (runIndex: number) =>
            new QueueApi(
                async (fn, args) => {
                    const { data, error, status } = await db.rpc(fn, args);
                    if (error) throw new RpcError(fn, error.message, status ?? 0, error.code);
                    return data;
                },
                { executionId: id, runIndex, attempt: 1, workerId: `job-r1:${runIndex - 1}#1` },
            );
        await runner(1).recordRun({ instance_type: "c6a.xlarge", memory_limit_mib: 3840, workers: 4 });
        await runner(2).recordRun({ instance_type: "m6a.xlarge", memory_limit_mib: 3840, workers: 4 });
        await runner(1).recordRun({ peak_memory_mib: 1200, memory_share: 0.313, memory_warning: false });
        await runner(2).recordRun({ peak_memory_mib: 3600, memory_share: 0.938, memory_warning: true });

        const ran = (await execution(id)).metadata?.batch?.ran;
        assert.deepEqual(ran, {
            queue: "fs-stg-spot",
            vcpus: 2,
            memory_mib: 3840,
            workers: 4,
            memory_limit_mib: 3840,
            memory_share: 0.938,
            instance_types: ["c6a.xlarge", "m6a.xlarge"],
            peak_memory_mib: 3600,
            memory_warning: true,
        });
        // The submit's own settings stay beside what ran.
        assert.equal((await execution(id)).metadata?.batch?.workers_per_workflow, 4);
        assert.deepEqual((await attemptMeta(id, 1))?.ran, {
            queue: "fs-stg-spot",
            vcpus: 2,
            memory_mib: 3840,
            workers: 4,
            instance_type: "c6a.xlarge",
            memory_limit_mib: 3840,
            peak_memory_mib: 1200,
            memory_share: 0.313,
            memory_warning: false,
        });
        // A later report without a warning does not clear it; the highest peak stays.
        await runner(1).recordRun({ peak_memory_mib: 900, memory_warning: false });
        const again = (await execution(id)).metadata?.batch?.ran as Record<string, unknown>;
        assert.deepEqual([again.peak_memory_mib, again.memory_warning], [3600, true]);
    });

    it("npm run fs -- show prints what the job ran with and the memory warning", () => {
        assert.equal(ranText(undefined), "");
        assert.equal(ranText({}), "");
        assert.equal(
            ranText({
                instance_types: ["c6a.xlarge", "m6a.xlarge"],
                vcpus: 2,
                memory_mib: 3840,
                workers: 4,
                peak_memory_mib: 3600,
                memory_warning: true,
            }),
            "; ran on c6a.xlarge/m6a.xlarge, 2 vCPU / 3840 MiB, 4 workers, peak 3600 MiB, MEMORY WARNING: a job came " +
                "within 10 % of its memory; lower the workers or add memory",
        );
    });

    it("answers null for an unknown execution and refuses a report that is not an object", async () => {
        const unknown = await db.rpc("record_job_run", {
            p_execution_id: "00000000-0000-0000-0000-000000000000",
            p_run_index: 1,
            p_attempt: 1,
            p_ran: { workers: 1 },
        });
        assert.deepEqual([unknown.error, unknown.data], [null, null]);
        const id = await newExecution("R2");
        const bad = await db.rpc("record_job_run", { p_execution_id: id, p_run_index: 1, p_attempt: 1, p_ran: [1] });
        assert.match(bad.error?.message ?? "", /p_ran must be a JSON object, got array/);
    });
});
