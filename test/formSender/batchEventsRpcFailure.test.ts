/**
 * batch-events tells a failure a retry can fix from one it cannot, from the PostgREST stand-in's real
 * answers (pinned to PostgREST v14.12 by test/contracts/postgrest.test.ts): an execution that vanished
 * mid-event is ignored with the reason, an outage is thrown (EventBridge retries it, then the DLQ keeps it).
 */
import { strict as assert } from "assert";
import { BatchEvent, makeBatchEventsHandler, RpcFailure } from "../../functions/formSender/batchEvents";
import { RpcClient, SendClient } from "../../functions/formSender/dispatcher";
import { makeLogger } from "../../functions/formSender/log";
import { supabaseRpc } from "../../functions/formSender/runtime";
import { LocalSupabase, startSupabase } from "../support/supabase";

const noAws: SendClient = { send: () => Promise.reject(new Error("not expected in this test")) };

const succeeded = (executionId: string): BatchEvent => ({
    "detail-type": "Batch Job State Change",
    source: "aws.batch",
    time: "2026-11-27T02:00:00Z",
    detail: {
        jobId: "job-vanish",
        jobName: "stg-fs-T",
        jobQueue: "stg-fs-spot",
        jobDefinition: "arn:aws:batch:us-east-1:123456789012:job-definition/stg-fs-runner:3",
        // An array parent: no attempts of its own, so the first write is the execution's status.
        status: "SUCCEEDED",
        arrayProperties: { size: 2 },
        container: { environment: [{ name: "FORM_SENDER_EXECUTION_ID", value: executionId }] },
    },
});

describe("batch-events: retries only what a retry can fix", function () {
    this.timeout(120000);
    let sb: LocalSupabase;
    before(async () => {
        sb = await startSupabase();
    });
    after(async () => sb?.stop());

    const handler = (afterGet?: (id: string) => Promise<void>) => {
        const real = supabaseRpc(sb.url, sb.serviceRoleKey);
        const db: RpcClient = {
            rpc: async (fn, args) => {
                const res = await real.rpc(fn, args);
                if (fn === "get_job_execution" && afterGet) await afterGet(String(args?.p_execution_id));
                return res;
            },
        };
        return makeBatchEventsHandler({
            bucket: "fs-configs",
            onDemandQueue: "stg-fs-ondemand",
            batch: noAws,
            s3: noAws,
            db: () => Promise.resolve(db),
            log: makeLogger({ component: "batch-events", write: () => undefined }),
        });
    };
    const newExecution = async (): Promise<string> =>
        (
            await sb.db.query<{ id: string }>(
                "insert into job_executions (targeting_id, status, run_total, job_id) " +
                    "values ('T-EV', 'submitted', 1, 'job-vanish') returning id",
            )
        ).rows[0].id;

    it("ignores, with the reason, an execution that vanished mid-event (PostgREST 500 P0002)", async () => {
        const id = await newExecution();
        const outcome = await handler(async (gone) => {
            await sb.db.query("delete from job_executions where id = $1", [gone]);
        })(succeeded(id));
        assert.equal(outcome.action, "ignored");
        assert.match(
            outcome.action === "ignored" ? outcome.reason : "",
            /not found \(500 P0002; a retry cannot help\)/,
        );
    });

    it("throws an outage (PostgREST 503 PGRST000) saying a retry can help", async () => {
        const id = await newExecution();
        sb.rpc.unavailable = true;
        try {
            const err = await handler()(succeeded(id)).then(
                () => assert.fail("no error"),
                (e: unknown) => e,
            );
            assert.ok(err instanceof RpcFailure, String(err));
            assert.deepEqual([err.status, err.code, err.kind], [503, "PGRST000", "unavailable"]);
            assert.match(err.message, /a retry can help/);
        } finally {
            sb.rpc.unavailable = false;
        }
    });
});
