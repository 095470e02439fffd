/**
 * The dispatcher answers each kind of Supabase failure with the status the API client can act on, and
 * every error body says whether a retry can help. The failures are real answers of the PostgREST stand-in
 * (pinned to PostgREST v14.12 by test/contracts/postgrest.test.ts), reached through the Lambdas' own
 * PostgREST client.
 */
import { strict as assert } from "assert";
import * as runnerRule from "../../containers/runner/src/rpcFailure";
import { ApiEvent, ApiResult, makeDispatcher, RpcClient, SendClient } from "../../functions/formSender/dispatcher";
import * as lambdaRule from "../../functions/formSender/rpcFailure";
import { supabaseRpc } from "../../functions/formSender/runtime";
import { LocalSupabase, startSupabase } from "../support/supabase";

interface ErrorBody {
    error: { code: string; message: string; details: unknown; retryable: boolean };
}

/** Batch and S3 are not reached by these routes' failures; any call to them fails the test. */
const unreachable: SendClient = { send: () => Promise.reject(new Error("not expected in this test")) };
const batchOk: SendClient = { send: () => Promise.resolve({}) };

const cancelEvent = (id: string): ApiEvent => ({
    httpMethod: "POST",
    path: `/form-sender/executions/${id}/cancel`,
    resource: "/form-sender/executions/{id}/cancel",
    pathParameters: { id },
    body: null,
    requestContext: { requestId: "req-rpc-failure" },
});
const listEvent: ApiEvent = {
    httpMethod: "GET",
    path: "/form-sender/executions",
    resource: "/form-sender/executions",
    queryStringParameters: { targeting_id: "T-RPC" },
    body: null,
};

describe("dispatcher: answers each Supabase failure with what the client can do about it", function () {
    this.timeout(120000);
    let sb: LocalSupabase;
    const logs: string[] = [];

    before(async () => {
        sb = await startSupabase();
    });
    after(async () => sb?.stop());

    /** A dispatcher whose database client runs `afterGet` right after get_job_execution answers. */
    const dispatcher = (opts: { key?: string; afterGet?: (id: string) => Promise<void> } = {}) => {
        const real = supabaseRpc(sb.url, opts.key ?? sb.serviceRoleKey);
        const db: RpcClient = {
            rpc: async (fn, args) => {
                const res = await real.rpc(fn, args);
                if (fn === "get_job_execution" && opts.afterGet) await opts.afterGet(String(args?.p_execution_id));
                return res;
            },
        };
        return makeDispatcher({
            env: "stg",
            bucket: "fs-configs",
            queues: { spot: "s", spotThenOnDemand: "so", onDemand: "o" },
            jobDefinition: "jd",
            batch: batchOk,
            s3: unreachable,
            db: () => Promise.resolve(db),
            presignPut: () => Promise.reject(new Error("not expected in this test")),
            log: (level, message, fields) => logs.push(JSON.stringify({ level, message, ...fields })),
        });
    };
    const newExecution = async (): Promise<string> =>
        (
            await sb.db.query<{ id: string }>(
                "insert into job_executions (targeting_id, status, run_total) values ('T-RPC', 'running', 1) returning id",
            )
        ).rows[0].id;
    const error = (res: ApiResult) => (JSON.parse(res.body) as ErrorBody).error;

    it("a row that vanishes during a cancel (PostgREST 500 P0002) is 404 not_found, not a retryable outage", async () => {
        const id = await newExecution();
        const res = await dispatcher({
            afterGet: async (gone) => void (await sb.db.query("delete from job_executions where id = $1", [gone])),
        })(cancelEvent(id));
        assert.equal(res.statusCode, 404, res.body);
        assert.deepEqual([error(res).code, error(res).retryable], ["not_found", false]);
        assert.match(error(res).message, /not found/);
    });

    it("a job that finishes during a cancel (PostgREST 400 P0001) is 409 conflict", async () => {
        const id = await newExecution();
        const res = await dispatcher({
            afterGet: async (done) =>
                void (await sb.db.query("update job_executions set status = 'succeeded' where id = $1", [done])),
        })(cancelEvent(id));
        assert.equal(res.statusCode, 409, res.body);
        assert.deepEqual([error(res).code, error(res).retryable], ["conflict", false]);
        assert.match(error(res).message, /illegal status transition succeeded -> cancelled/);
    });

    it("a wrong service-role key (the gateway's 401) is 500 internal_error, not retryable", async () => {
        const res = await dispatcher({ key: "wrong-key" })(listEvent);
        assert.equal(res.statusCode, 500, res.body);
        assert.deepEqual([error(res).code, error(res).retryable], ["internal_error", false]);
    });

    it("an unreachable database (PostgREST 503 PGRST000) is 503 database_unavailable, retryable", async () => {
        sb.rpc.unavailable = true;
        try {
            const res = await dispatcher()(listEvent);
            assert.equal(res.statusCode, 503, res.body);
            assert.deepEqual([error(res).code, error(res).retryable], ["database_unavailable", true]);
        } finally {
            sb.rpc.unavailable = false;
        }
    });

    it("a request error says a retry cannot help", async () => {
        const res = await dispatcher()({ ...listEvent, queryStringParameters: { status: "done" } });
        assert.equal(res.statusCode, 400, res.body);
        assert.equal(error(res).retryable, false);
    });

    it("a bug in a database function (PostgREST 400 42703) is 500 internal_error, not retryable", async () => {
        // A later migration that breaks get_job_execution's body, in this suite's own database (so this runs last).
        await sb.db.query(`create or replace function get_job_execution(p_execution_id uuid) returns jsonb
            language plpgsql stable as
            $$ begin return (select to_jsonb(e.no_such_column) from job_executions e where e.id = p_execution_id); end $$`);
        const res = await dispatcher()(cancelEvent(await newExecution()));
        assert.equal(res.statusCode, 500, res.body);
        assert.deepEqual([error(res).code, error(res).retryable], ["internal_error", false]);
        assert.ok(
            logs.some((l) => l.includes("no_such_column")),
            "the cause is logged",
        );
    });

    it("the Lambdas and the runner share one retry rule", () => {
        const codes = [
            undefined,
            "PGRST000",
            "PGRST003",
            "P0001",
            "P0002",
            "23505",
            "40001",
            "40P01",
            "57014",
            "42703",
        ];
        for (const status of [0, 200, 300, 400, 401, 403, 404, 405, 409, 429, 500, 502, 503, 504, 520])
            for (const code of codes)
                assert.equal(
                    lambdaRule.isRetryableRpcFailure(status, code),
                    runnerRule.isRetryableRpcFailure(status, code),
                    `${status} ${code}`,
                );
    });
});
