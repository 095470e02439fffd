/**
 * Paging of GET /form-sender/executions (supabase/migrations/20261128000000_form_sender_execution_paging.sql and
 * the dispatcher's `list`): every execution is reachable page by page, newest first, ties of equal created_at broken
 * by id, with no row skipped or repeated, also when executions are inserted between two page fetches. Against
 * embedded PostgreSQL with every migration applied, through the PostgREST-style RPC endpoint the Lambda calls.
 */
import { strict as assert } from "assert";
import { createClient } from "@supabase/supabase-js";
import {
    ApiEvent,
    ApiResult,
    JobExecutionRow,
    listCursor,
    makeDispatcher,
    RpcClient,
} from "../../functions/formSender/dispatcher";
import { makeLogger } from "../../functions/formSender/log";
import { supabaseRpc } from "../../functions/formSender/runtime";
import { LocalSupabase, startSupabase } from "../support/supabase";

/** A page as the dispatcher answers it. */
interface ListAnswer {
    executions: { execution_id: string; created_at: string; status: string }[];
    next_cursor: string | null;
}

/** The dispatcher's error answer for a bad query. */
interface ErrorAnswer {
    error: { code: string; message: string; details: { path: string; message: string }[]; retryable: boolean };
}

const unused = {
    send: () => Promise.reject(new Error("the list route calls no AWS service")),
};

describe("execution paging (list_job_executions_page, GET /form-sender/executions)", function () {
    this.timeout(120000);
    let sb: LocalSupabase;
    let client: RpcClient;
    let handler: (event: ApiEvent) => Promise<ApiResult>;

    before(async () => {
        sb = await startSupabase();
        client = createClient(sb.url, sb.serviceRoleKey, { auth: { persistSession: false } });
        handler = makeDispatcher({
            env: "stg",
            bucket: "fs-configs",
            queues: { spot: "s", spotThenOnDemand: "st", onDemand: "o" },
            jobDefinition: "arn:aws:batch:us-east-1:123456789012:job-definition/stg-fs-runner:3",
            batch: unused,
            s3: unused,
            db: () => Promise.resolve(supabaseRpc(sb.url, sb.serviceRoleKey)),
            presignPut: () => Promise.reject(new Error("unused")),
            log: makeLogger({ component: "dispatcher", write: () => undefined }),
        });
    });
    after(async () => sb && (await sb.stop()));

    /**
     * Inserts `n` executions of `targeting`, `perStamp` of them sharing each created_at (from `start`, one second
     * apart going back), statuses cycling through `statuses`. Returns nothing; tests read the order from the table.
     */
    async function seed(targeting: string, n: number, perStamp: number, statuses = ["running"], start = Date.now()) {
        await sb.db.query(
            `insert into job_executions (targeting_id, status, created_at)
             select $1, ($4::text[])[1 + (i % cardinality($4::text[]))],
                    to_timestamp($3::double precision / 1000) - ((i / $2) * interval '1 second')
             from generate_series(0, $5 - 1) i`,
            [targeting, perStamp, start, statuses, n],
        );
    }

    /** Every id of `targeting` (optionally of these statuses) in the order the pages must give them. */
    async function expectedIds(targeting: string, statuses?: string[]): Promise<string[]> {
        const r = await sb.db.query<{ id: string }>(
            `select id from job_executions where targeting_id = $1 and ($2::text[] is null or status = any ($2))
             order by created_at desc, id desc`,
            [targeting, statuses ?? null],
        );
        return r.rows.map((x) => x.id);
    }

    const page = async (args: Record<string, unknown>): Promise<JobExecutionRow[]> => {
        const r = await client.rpc("list_job_executions_page", args);
        if (r.error) throw Object.assign(new Error(r.error.message), { code: r.error.code });
        return r.data as JobExecutionRow[];
    };

    const get = (query: Record<string, string>): Promise<ApiResult> =>
        handler({
            httpMethod: "GET",
            path: "/form-sender/executions",
            resource: "/form-sender/executions",
            queryStringParameters: query,
            body: null,
        });

    describe("list_job_executions_page", () => {
        it("pages 250 executions with ten per created_at in order, none skipped or repeated", async () => {
            await seed("TP-sql", 250, 10, ["running", "succeeded"]);
            await seed("TP-other", 30, 3);
            const seen: string[] = [];
            let before: JobExecutionRow | undefined;
            for (let i = 0; i < 10; i++) {
                const rows = await page({
                    p_targeting_id: "TP-sql",
                    p_limit: 100,
                    p_before_created_at: before?.created_at ?? null,
                    p_before_id: before?.id ?? null,
                });
                seen.push(...rows.map((r) => r.id));
                if (rows.length < 100) break;
                before = rows[rows.length - 1];
            }
            assert.equal(seen.length, 250);
            assert.equal(new Set(seen).size, 250);
            assert.deepEqual(seen, await expectedIds("TP-sql"));
        });

        it("filters by status across pages", async () => {
            const seen: string[] = [];
            let before: JobExecutionRow | undefined;
            do {
                const rows = await page({
                    p_targeting_id: "TP-sql",
                    p_statuses: ["succeeded"],
                    p_limit: 40,
                    p_before_created_at: before?.created_at ?? null,
                    p_before_id: before?.id ?? null,
                });
                assert.ok(rows.every((r) => r.status === "succeeded"));
                seen.push(...rows.map((r) => r.id));
                before = rows.length === 40 ? rows[rows.length - 1] : undefined;
            } while (before);
            assert.deepEqual(seen, await expectedIds("TP-sql", ["succeeded"]));
            assert.equal(seen.length, 125);
        });

        it("skips and repeats nothing when executions are inserted between two page fetches", async () => {
            await seed("TP-live", 120, 4);
            const before = await expectedIds("TP-live");
            const first = await page({ p_targeting_id: "TP-live", p_limit: 50 });
            const cursor = first[first.length - 1];
            // Newer rows, and rows at exactly the cursor's created_at with ids on either side of it.
            await seed("TP-live", 5, 5, ["pending"], Date.now() + 60000);
            await sb.db.query(
                `insert into job_executions (id, targeting_id, status, created_at)
                 values ('00000000-0000-4000-8000-000000000000', 'TP-live', 'pending', $1),
                        ('ffffffff-ffff-4fff-bfff-ffffffffffff', 'TP-live', 'pending', $1)`,
                [cursor.created_at],
            );
            const rest: string[] = [];
            let after = cursor;
            for (;;) {
                const rows = await page({
                    p_targeting_id: "TP-live",
                    p_limit: 50,
                    p_before_created_at: after.created_at,
                    p_before_id: after.id,
                });
                rest.push(...rows.map((r) => r.id));
                if (rows.length < 50) break;
                after = rows[rows.length - 1];
            }
            const seen = [...first.map((r) => r.id), ...rest];
            assert.equal(new Set(seen).size, seen.length, "a row was repeated");
            // Every row that existed before the first fetch was seen, in order.
            assert.deepEqual(
                seen.filter((id) => before.includes(id)),
                before,
            );
            // The row inserted behind the cursor (same created_at, smaller id) is reached; the one in front is not
            // (it sorts before the cursor, like a newer row).
            assert.ok(rest.includes("00000000-0000-4000-8000-000000000000"));
            assert.ok(!seen.includes("ffffffff-ffff-4fff-bfff-ffffffffffff"));
        });

        it("keeps microseconds: two executions within one millisecond on pages of one", async () => {
            await sb.db.query(
                `insert into job_executions (targeting_id, status, created_at)
                 values ('TP-us', 'running', '2026-11-27 10:00:00.123401+00'),
                        ('TP-us', 'running', '2026-11-27 10:00:00.123402+00'),
                        ('TP-us', 'running', '2026-11-27 10:00:00.123403+00')`,
            );
            const seen: string[] = [];
            let before: JobExecutionRow | undefined;
            for (let i = 0; i < 5; i++) {
                const rows = await page({
                    p_targeting_id: "TP-us",
                    p_limit: 1,
                    p_before_created_at: before?.created_at ?? null,
                    p_before_id: before?.id ?? null,
                });
                if (!rows.length) break;
                seen.push(rows[0].id);
                before = rows[0];
            }
            assert.deepEqual(seen, await expectedIds("TP-us"));
            assert.equal(seen.length, 3);
        });

        it("refuses p_before_id without p_before_created_at (22023)", async () => {
            await assert.rejects(
                page({ p_targeting_id: "TP-sql", p_before_id: "00000000-0000-4000-8000-000000000000" }),
                (e: Error & { code?: string }) => e.code === "22023" && /needs p_before_created_at/.test(e.message),
            );
        });

        it("is executable by service_role only, not by anon, authenticated, PUBLIC or the runner's fs_runner", async () => {
            const fn = "list_job_executions_page(text,text[],integer,timestamptz,uuid)";
            const r = await sb.db.query<{ role: string; can: boolean }>(
                `select r as role, has_function_privilege(r, $1, 'execute') as can
                 from unnest(array['service_role', 'anon', 'authenticated', 'fs_runner']) r`,
                [fn],
            );
            assert.deepEqual(Object.fromEntries(r.rows.map((x) => [x.role, x.can])), {
                service_role: true,
                anon: false,
                authenticated: false,
                fs_runner: false,
            });
        });

        it("reads a page in index order without sorting the matching rows", async () => {
            const c = await sb.db.connect();
            try {
                await c.query("begin");
                await c.query("analyze job_executions");
                // With this few rows the planner would rather sort than walk an index. Disabling seq scans and sorts
                // only makes them expensive: a Sort still shows when no index gives the order (PostgreSQL docs,
                // "Planner Method Configuration"), so the plan says whether one does.
                await c.query("set local enable_seqscan = off");
                await c.query("set local enable_sort = off");
                for (const targeting of ["'TP-sql'", "null"]) {
                    const plan = await c.query<{ "QUERY PLAN": string }>(
                        `explain select * from job_executions e
                         where (${targeting}::text is null or e.targeting_id = ${targeting})
                           and e.status = any (array['pending', 'submitted', 'running'])
                           and (e.created_at, e.id) < (now(), '00000000-0000-4000-8000-000000000000'::uuid)
                         order by e.created_at desc, e.id desc limit 101`,
                    );
                    const text = plan.rows.map((r) => r["QUERY PLAN"]).join("\n");
                    assert.doesNotMatch(text, /Sort/, text);
                    assert.match(text, /Index Scan using job_executions_(targeting_)?created_id/, text);
                }
            } finally {
                await c.query("rollback");
                c.release();
            }
        });
    });

    describe("GET /form-sender/executions", () => {
        it("answers 100 by default with next_cursor, and follows it to the last page (next_cursor null)", async () => {
            await seed("TP-api", 230, 7, ["pending", "running"]);
            const seen: string[] = [];
            const sizes: number[] = [];
            let cursor: string | null = null;
            do {
                const res = await get({ targeting_id: "TP-api", ...(cursor ? { cursor } : {}) });
                assert.equal(res.statusCode, 200, res.body);
                const body = JSON.parse(res.body) as ListAnswer;
                assert.deepEqual(Object.keys(body), ["executions", "next_cursor"]);
                sizes.push(body.executions.length);
                seen.push(...body.executions.map((e) => e.execution_id));
                cursor = body.next_cursor;
            } while (cursor !== null && sizes.length < 10);
            assert.deepEqual(sizes, [100, 100, 30]);
            assert.deepEqual(seen, await expectedIds("TP-api"));
        });

        it("keeps each execution's shape", async () => {
            const body = JSON.parse((await get({ targeting_id: "TP-api", limit: "1" })).body) as ListAnswer;
            assert.deepEqual(Object.keys(body.executions[0]), [
                "execution_id",
                "targeting_id",
                "status",
                "job_id",
                "job_name",
                "job_queue",
                "array_size",
                "created_at",
                "submitted_at",
                "finished_at",
                "error",
                "unknown_items",
            ]);
        });

        it("answers next_cursor null when the last page is exactly full", async () => {
            await seed("TP-exact", 6, 2);
            const one = JSON.parse((await get({ targeting_id: "TP-exact", limit: "3" })).body) as ListAnswer;
            assert.equal(one.executions.length, 3);
            assert.equal(typeof one.next_cursor, "string");
            const two = JSON.parse(
                (await get({ targeting_id: "TP-exact", limit: "3", cursor: one.next_cursor! })).body,
            ) as ListAnswer;
            assert.equal(two.executions.length, 3);
            assert.equal(two.next_cursor, null);
            assert.deepEqual(
                [...one.executions, ...two.executions].map((e) => e.execution_id),
                await expectedIds("TP-exact"),
            );
        });

        it("pages the status filter with a limit", async () => {
            const seen: string[] = [];
            let cursor: string | null = null;
            let pages = 0;
            do {
                const res = await get({
                    targeting_id: "TP-api",
                    status: "pending",
                    limit: "50",
                    ...(cursor ? { cursor } : {}),
                });
                const body = JSON.parse(res.body) as ListAnswer;
                assert.ok(body.executions.every((e) => e.status === "pending"));
                seen.push(...body.executions.map((e) => e.execution_id));
                cursor = body.next_cursor;
                pages++;
            } while (cursor !== null && pages < 10);
            assert.equal(pages, 3);
            assert.deepEqual(seen, await expectedIds("TP-api", ["pending"]));
        });

        const badLimit = (value: string) => ({
            error: {
                code: "invalid_request",
                message: "invalid query",
                details: [
                    {
                        path: "limit",
                        message:
                            `${JSON.stringify(value)} is not a page size; use a whole number from 1 to 100, ` +
                            "or leave limit out for 100",
                    },
                ],
                retryable: false,
            },
        });
        for (const value of ["0", "101", "-1", "1.5", "abc", "", "1e2", "00000"]) {
            it(`refuses limit=${JSON.stringify(value)} with a 400 naming limit, the value and the fix`, async () => {
                const res = await get({ limit: value });
                assert.equal(res.statusCode, 400, res.body);
                assert.deepEqual(JSON.parse(res.body), badLimit(value));
            });
        }

        const id = "3f1c2a4b-5d6e-4f70-8a9b-0c1d2e3f4a5b";
        const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64url");
        const badCursors: [string, string][] = [
            ["not base64url", "not a cursor!"],
            ["base64url of other text", b64("hello")],
            ["a bad id", b64("2026-11-27T10:00:00.123456+00:00|not-a-uuid")],
            ["a bad time", b64(`yesterday|${id}`)],
            ["an impossible date", b64(`2026-13-45T10:00:00+00:00|${id}`)],
            ["a third part", b64(`2026-11-27T10:00:00+00:00|${id}|x`)],
            ["a non-canonical encoding", `${b64(`2026-11-27T10:00:00+00:00|${id}`)}=`],
            ["an empty value", ""],
        ];
        for (const [what, value] of badCursors) {
            it(`refuses a cursor with ${what} with a 400 naming cursor and the fix`, async () => {
                const res = await get({ cursor: value });
                assert.equal(res.statusCode, 400, res.body);
                const body = JSON.parse(res.body) as ErrorAnswer;
                assert.equal(body.error.code, "invalid_request");
                assert.equal(body.error.retryable, false);
                assert.deepEqual(body.error.details, [
                    {
                        path: "cursor",
                        message:
                            `${JSON.stringify(value)} is not a cursor this API returned; pass next_cursor of the ` +
                            "previous answer unchanged, or leave cursor out for the first page",
                    },
                ]);
            });
        }

        it("accepts a cursor it made from a row, starting strictly after that row", async () => {
            const all = await expectedIds("TP-exact");
            const row = (
                await sb.db.query<{ created_at: string; id: string }>(
                    `select to_json(created_at) #>> '{}' as created_at, id from job_executions where id = $1`,
                    [all[1]],
                )
            ).rows[0];
            const res = await get({ targeting_id: "TP-exact", cursor: listCursor(row) });
            assert.equal(res.statusCode, 200, res.body);
            assert.deepEqual(
                (JSON.parse(res.body) as ListAnswer).executions.map((e) => e.execution_id),
                all.slice(2),
            );
        });
    });
});
