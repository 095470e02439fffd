/**
 * The runner retries only the Supabase failures a retry can fix. Each row is a real answer of the
 * PostgREST stand-in (test/contracts/postgrest.test.ts pins it to PostgREST v14.12) or of a proxy in front
 * of it, received through the runner's own supabase-js client (`makeRpc`).
 */
import { strict as assert } from "assert";
import * as http from "http";
import { AddressInfo } from "net";
import { isRetryableRpcFailure } from "../../containers/runner/src/rpcFailure";
import { makeRpc, QueueApi, RpcError } from "../../containers/runner/src/queue";
import { RpcServer, startRpcServer } from "../support/rpcServer";
import { LocalSupabase, startSupabase } from "../support/supabase";

const FIXTURES = `
create function rpc_failure_raise(p_code text) returns void language plpgsql as
  $$ begin raise exception 'raised %', p_code using errcode = p_code; end $$;
create function rpc_failure_bug() returns jsonb language plpgsql as
  $$ begin return (select to_jsonb(x.no_such_column) from job_executions x limit 1); end $$;
create function rpc_failure_sleep(p_seconds float) returns void language sql as $$ select pg_sleep(p_seconds) $$;
`;

/** Who answers: the stand-in, a variant of it, a proxy in front of it, or nobody. */
type Endpoint = "normal" | "timeout100ms" | "unavailable" | "deadDatabase" | "proxy502html" | "proxy500html" | "closed";

interface Row {
    readonly name: string;
    readonly endpoint: Endpoint;
    readonly fn: string;
    readonly args: Record<string, unknown>;
    readonly key?: "service" | "wrong";
    /** What the runner sees: HTTP status (0: no answer) and PostgREST code. */
    readonly status: number;
    readonly code: string | undefined;
    readonly retry: boolean;
}

const MISSING = { p_item_id: 999999, p_worker_id: "w", p_status: "sent" };

const ROWS: readonly Row[] = [
    // Permanent: calling again gives the same answer.
    {
        name: "a missing queue item (P0002)",
        endpoint: "normal",
        fn: "record_send_result",
        args: MISSING,
        status: 500,
        code: "P0002",
        retry: false,
    },
    {
        name: "a refusal RAISEd by a function (P0001)",
        endpoint: "normal",
        fn: "claim_send_queue_items",
        args: { p_targeting_id: "t", p_shard_id: 3, p_total_shards: 2, p_worker_id: "w" },
        status: 400,
        code: "P0001",
        retry: false,
    },
    {
        name: "a bug in a function body (42703)",
        endpoint: "normal",
        fn: "rpc_failure_bug",
        args: {},
        status: 400,
        code: "42703",
        retry: false,
    },
    {
        name: "a function that does not exist with these keys (PGRST202)",
        endpoint: "normal",
        fn: "record_send_result",
        args: { p_item_id: 1 },
        status: 404,
        code: "PGRST202",
        retry: false,
    },
    {
        name: "a wrong API key (the gateway's 401, no code)",
        endpoint: "normal",
        fn: "get_job_execution",
        args: { p_execution_id: "00000000-0000-4000-8000-000000000000" },
        key: "wrong",
        status: 401,
        code: undefined,
        retry: false,
    },
    {
        name: "a statement timeout (57014)",
        endpoint: "timeout100ms",
        fn: "rpc_failure_sleep",
        args: { p_seconds: 2 },
        status: 500,
        code: "57014",
        retry: false,
    },
    {
        name: "an internal error (XX000)",
        endpoint: "normal",
        fn: "rpc_failure_raise",
        args: { p_code: "XX000" },
        status: 500,
        code: "XX000",
        retry: false,
    },
    // Transient: the database, the pool, the network or a race.
    {
        name: "PostgREST cannot reach the database (PGRST000)",
        endpoint: "unavailable",
        fn: "record_send_result",
        args: MISSING,
        status: 503,
        code: "PGRST000",
        retry: true,
    },
    {
        name: "the database refuses connections (PGRST000)",
        endpoint: "deadDatabase",
        fn: "record_send_result",
        args: MISSING,
        status: 503,
        code: "PGRST000",
        retry: true,
    },
    {
        name: "too many connections (53300)",
        endpoint: "normal",
        fn: "rpc_failure_raise",
        args: { p_code: "53300" },
        status: 503,
        code: "53300",
        retry: true,
    },
    {
        name: "a deadlock (40P01)",
        endpoint: "normal",
        fn: "rpc_failure_raise",
        args: { p_code: "40P01" },
        status: 500,
        code: "40P01",
        retry: true,
    },
    {
        name: "a serialization failure (40001)",
        endpoint: "normal",
        fn: "rpc_failure_raise",
        args: { p_code: "40001" },
        status: 500,
        code: "40001",
        retry: true,
    },
    {
        name: "a proxy's HTML 502",
        endpoint: "proxy502html",
        fn: "record_send_result",
        args: MISSING,
        status: 502,
        code: undefined,
        retry: true,
    },
    {
        name: "a proxy's HTML 500 (no PostgREST code)",
        endpoint: "proxy500html",
        fn: "record_send_result",
        args: MISSING,
        status: 500,
        code: undefined,
        retry: true,
    },
    {
        name: "nothing listening (no answer)",
        endpoint: "closed",
        fn: "record_send_result",
        args: MISSING,
        status: 0,
        code: undefined,
        retry: true,
    },
];

/** A proxy that answers every request with an HTML error page, as a load balancer does. */
async function startHtmlProxy(status: number): Promise<{ url: string; close(): Promise<void> }> {
    const server = http.createServer((req, res) => {
        req.resume();
        res.writeHead(status, { "content-type": "text/html" });
        res.end(`<html><body><h1>${status}</h1>upstream unavailable</body></html>`);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    return {
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        close: () => {
            server.closeAllConnections();
            return new Promise<void>((r) => server.close(() => r()));
        },
    };
}

/** A loopback port nothing listens on (bound, then closed). */
async function closedUrl(): Promise<string> {
    const server = http.createServer();
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as AddressInfo).port;
    await new Promise<void>((r) => server.close(() => r()));
    return `http://127.0.0.1:${port}`;
}

describe("runner: retries only the Supabase failures a retry can fix", function () {
    this.timeout(120000);
    let sb: LocalSupabase;
    const urls = {} as Record<Endpoint, string>;
    const closers: (() => Promise<void>)[] = [];

    before(async () => {
        sb = await startSupabase();
        await sb.db.query(FIXTURES);
        const keys = { serviceRoleKey: sb.serviceRoleKey, anonKey: sb.anonKey };
        const stand = async (o: Partial<Parameters<typeof startRpcServer>[0]>): Promise<RpcServer> => {
            const s = await startRpcServer({ connectionString: sb.connectionString, ...keys, ...o });
            closers.push(() => s.close());
            return s;
        };
        urls.normal = sb.url;
        urls.timeout100ms = (await stand({ statementTimeoutMs: { service_role: 100 } })).url;
        const unavailable = await stand({});
        unavailable.unavailable = true;
        urls.unavailable = unavailable.url;
        urls.deadDatabase = (await stand({ connectionString: "postgres://nobody:nothing@127.0.0.1:1/none" })).url;
        for (const [name, status] of [
            ["proxy502html", 502],
            ["proxy500html", 500],
        ] as const) {
            const p = await startHtmlProxy(status);
            closers.push(() => p.close());
            urls[name] = p.url;
        }
        urls.closed = await closedUrl();
    });
    after(async () => {
        for (const close of closers) await close();
        await sb?.stop();
    });

    for (const row of ROWS) {
        it(`${row.retry ? "retries" : "does not retry"} ${row.name}: ${row.status} ${row.code ?? "(no code)"}`, async () => {
            let requests = 0;
            const counting: typeof fetch = (input, init) => {
                requests++;
                return fetch(input, init);
            };
            const key = row.key === "wrong" ? "wrong-key" : sb.serviceRoleKey;
            const call = makeRpc(urls[row.endpoint], key, counting);
            const queue = new QueueApi(
                (fn, args) => (fn === "get_job_execution" ? call(row.fn, row.args) : call(fn, args)),
                { executionId: "00000000-0000-4000-8000-000000000000", runIndex: 1, attempt: 1, workerId: "w" },
                { retryDeadlineMs: 1200 },
            );
            // getExecution goes through QueueApi's retry loop; the stub above sends this row's call instead.
            const err = await queue.getExecution().then(
                () => assert.fail("the call succeeded"),
                (e: unknown) => e,
            );
            assert.ok(err instanceof RpcError, String(err));
            assert.deepEqual([err.status, err.code, err.transient], [row.status, row.code, row.retry], err.message);
            assert.equal(isRetryableRpcFailure(err.status, err.code), row.retry);
            if (row.retry) assert.ok(requests > 1, `retried: ${requests} requests`);
            else assert.equal(requests, 1, "a permanent failure is not sent twice");
        });
    }
});
