import { strict as assert } from "assert";
import { createClient } from "@supabase/supabase-js";
import { FILL_STATUSES } from "../../containers/runner/src/types";
import { JobExecutionRow, RpcClient } from "../../functions/formSender/dispatcher";
import { applyMigrations, LocalSupabase, startSupabase } from "../support/supabase";

/** A `job_execution_attempts` row as start_job_attempt / finish_job_attempt return it. */
interface AttemptRow {
    status: string;
    exit_code: number | null;
}

/** A row of claim_send_queue_items (`returns table (id bigint, ..., attempts integer, ...)`). */
interface ClaimedItem {
    id: number;
    form_url: string;
    attempts: number;
}

describe("Supabase schema and RPCs", function () {
    this.timeout(120000);
    let sb: LocalSupabase;
    let client: RpcClient;
    /** Calls `fn` through PostgREST; `T` is the function's declared return shape. */
    const rpc = async <T = unknown>(fn: string, args: Record<string, unknown>): Promise<T> => {
        const result = await client.rpc(fn, args);
        if (result.error) throw Object.assign(new Error(result.error.message), { code: result.error.code });
        return result.data as T;
    };

    before(async () => {
        sb = await startSupabase();
        client = createClient(sb.url, sb.serviceRoleKey, { auth: { persistSession: false } });
    });
    after(async () => sb && (await sb.stop()));

    async function seedQueue(targeting: string, n: number): Promise<number[]> {
        const ids: number[] = [];
        for (let i = 0; i < n; i++) {
            const c = await sb.db.query<{ id: string }>(
                "insert into companies (name, form_url) values ($1, $2) returning id",
                [`会社${targeting}-${i}`, `https://example.com/${i}/contact`],
            );
            const q = await sb.db.query<{ id: string }>(
                "insert into send_queue (targeting_id, company_id) values ($1, $2) returning id",
                [targeting, c.rows[0].id],
            );
            ids.push(Number(q.rows[0].id));
        }
        return ids;
    }

    it("applies the migrations a second time without error", async () => {
        assert.deepEqual(await applyMigrations(sb.db), [
            "20261120000000_form_sender_tables.sql",
            "20261120000100_form_sender_functions.sql",
            "20261127000000_form_sender_execution_detail.sql",
            "20261127000100_form_sender_skipped_undecided.sql",
            "20261127000200_form_sender_job_run.sql",
            "20261127000300_form_sender_runner_role.sql",
            "20261128000000_form_sender_execution_paging.sql",
            "20261128000100_form_sender_sequence_grants.sql",
        ]);
    });

    it("records every outcome the runner reports, and only those", async () => {
        const ids = await seedQueue("T-statuses", FILL_STATUSES.length + 1);
        const claimed = await rpc<ClaimedItem[]>("claim_send_queue_items", {
            p_targeting_id: "T-statuses",
            p_shard_id: 1,
            p_total_shards: 1,
            p_worker_id: "w",
            p_limit: ids.length,
            p_lease_seconds: 60,
        });
        assert.equal(claimed.length, ids.length);
        for (const [i, status] of FILL_STATUSES.entries()) {
            assert.deepEqual(
                await rpc("record_send_result", { p_item_id: claimed[i].id, p_worker_id: "w", p_status: status }),
                { recorded: true, status: status === "failed" ? "failed" : "done" },
                status,
            );
        }
        await assert.rejects(
            rpc("record_send_result", { p_item_id: claimed[ids.length - 1].id, p_worker_id: "w", p_status: "maybe" }),
            /submissions_status_values/,
        );
    });

    it("turns row-level security on and grants anon/authenticated nothing", async () => {
        const rls = await sb.db.query<{ relname: string; relrowsecurity: boolean }>(
            "select relname, relrowsecurity from pg_class where relname in ('companies','job_executions','job_execution_attempts','send_queue','submissions') order by relname",
        );
        assert.equal(rls.rowCount, 5);
        for (const r of rls.rows) assert.equal(r.relrowsecurity, true, r.relname);
        const grants = await sb.db.query(
            "select grantee, table_name from information_schema.role_table_grants where grantee in ('anon','authenticated')",
        );
        assert.deepEqual(grants.rows, []);
        const anon = createClient(sb.url, sb.anonKey, { auth: { persistSession: false } });
        // 42501 as the anon role is 401, as another role 403 (PostgREST Error.hs@v14.12 pgErrorStatus).
        const { error, status } = await anon.rpc("create_job_execution", { p_targeting_id: "t", p_run_total: 1 });
        assert.deepEqual([status, error?.code], [401, "42501"]);
    });

    it("creates an execution once per idempotency key, even under 20 concurrent calls", async () => {
        const results = await Promise.all(
            Array.from({ length: 20 }, () =>
                rpc<JobExecutionRow>("create_job_execution", {
                    p_targeting_id: "T1",
                    p_run_total: 4,
                    p_shards: 2,
                    p_idempotency_key: "idem-1",
                }),
            ),
        );
        assert.equal(new Set(results.map((r) => r.id)).size, 1);
        assert.equal(results.filter((r) => r.duplicate === false).length, 1);
        assert.equal(results[0].status, "pending");
    });

    it("allows only legal status transitions", async () => {
        const e = await rpc<JobExecutionRow>("create_job_execution", { p_targeting_id: "T2", p_run_total: 1 });
        const submitted = await rpc<JobExecutionRow>("mark_job_submitted", {
            p_execution_id: e.id,
            p_job_id: "job-1",
            p_job_name: "stg-fs-T2",
            p_job_queue: "spot",
            p_array_size: null,
        });
        assert.equal(submitted.status, "submitted");
        // Repeating the same submission is harmless.
        assert.equal(
            (
                await rpc<JobExecutionRow>("mark_job_submitted", {
                    p_execution_id: e.id,
                    p_job_id: "job-1",
                    p_job_name: "stg-fs-T2",
                    p_job_queue: "spot",
                    p_array_size: null,
                })
            ).status,
            "submitted",
        );
        assert.equal(
            (await rpc<JobExecutionRow>("update_job_execution_status", { p_execution_id: e.id, p_status: "running" }))
                .status,
            "running",
        );
        const done = await rpc<JobExecutionRow>("update_job_execution_status", {
            p_execution_id: e.id,
            p_status: "succeeded",
        });
        assert.ok(done.finished_at);
        await assert.rejects(
            rpc("update_job_execution_status", { p_execution_id: e.id, p_status: "running" }),
            /illegal status transition succeeded -> running/,
        );
        await assert.rejects(
            rpc("update_job_execution_status", {
                p_execution_id: "00000000-0000-0000-0000-000000000000",
                p_status: "failed",
            }),
            /not found/,
        );
    });

    it("lists executions by targeting and status", async () => {
        const rows = await rpc<JobExecutionRow[]>("list_job_executions", {
            p_targeting_id: "T2",
            p_status: "succeeded",
        });
        assert.equal(rows.length, 1);
        assert.equal(rows[0].job_id, "job-1");
        assert.deepEqual(await rpc("list_job_executions", { p_targeting_id: "nobody" }), []);
    });

    it("records attempts and marks a failed attempt exactly once", async () => {
        const e = await rpc<JobExecutionRow>("create_job_execution", { p_targeting_id: "T3", p_run_total: 2 });
        await rpc("mark_job_submitted", {
            p_execution_id: e.id,
            p_job_id: "job-3",
            p_job_name: "n",
            p_job_queue: "spot",
            p_array_size: 2,
        });
        const a = await rpc<AttemptRow>("start_job_attempt", {
            p_execution_id: e.id,
            p_run_index: 2,
            p_attempt: 1,
            p_job_id: "job-3:1",
            p_metadata: { shard: 2 },
        });
        assert.equal(a.status, "running");
        assert.equal((await rpc<JobExecutionRow>("get_job_execution", { p_execution_id: e.id })).status, "running");
        const marks = await Promise.all(
            Array.from({ length: 5 }, () =>
                rpc<boolean>("mark_job_failed_once", {
                    p_execution_id: e.id,
                    p_run_index: 2,
                    p_attempt: 1,
                    p_reason: "SIGTERM",
                }),
            ),
        );
        assert.deepEqual(marks.sort(), [false, false, false, false, true]);
        assert.equal(
            await rpc("mark_job_failed_once", {
                p_execution_id: e.id,
                p_run_index: 2,
                p_attempt: 2,
                p_reason: "SIGTERM",
            }),
            true,
        );
        const fin = await rpc<AttemptRow>("finish_job_attempt", {
            p_execution_id: e.id,
            p_run_index: 1,
            p_attempt: 1,
            p_status: "succeeded",
            p_status_reason: null,
            p_exit_code: 0,
        });
        assert.deepEqual([fin.status, fin.exit_code], ["succeeded", 0]);
    });

    it("never hands the same queue item to two of 8 concurrent claimers", async () => {
        const ids = await seedQueue("T4", 60);
        const claimed: number[] = [];
        await Promise.all(
            Array.from({ length: 8 }, async (_, w) => {
                for (;;) {
                    const items = await rpc<ClaimedItem[]>("claim_send_queue_items", {
                        p_targeting_id: "T4",
                        p_shard_id: 1,
                        p_total_shards: 1,
                        p_worker_id: `w${w}`,
                        p_limit: 3,
                        p_lease_seconds: 60,
                    });
                    if (items.length === 0) return;
                    for (const it of items) {
                        claimed.push(Number(it.id));
                        assert.match(it.form_url, /^https:\/\/example\.com\//);
                        await rpc("record_send_result", {
                            p_item_id: it.id,
                            p_worker_id: `w${w}`,
                            p_status: "sent",
                            p_detail: null,
                            p_execution_id: null,
                            p_run_index: 1,
                            p_attempt: 1,
                        });
                    }
                }
            }),
        );
        assert.equal(claimed.length, ids.length);
        assert.deepEqual(
            [...new Set(claimed)].sort((a, b) => a - b),
            ids,
        );
        const subs = await sb.db.query<{ n: number }>(
            "select count(*)::int as n from submissions s join send_queue q on q.id = s.queue_item_id where q.targeting_id = 'T4'",
        );
        assert.equal(subs.rows[0].n, 60);
    });

    it("splits the queue by shard, and only the lease holder records a result, once", async () => {
        const ids = await seedQueue("T5", 10);
        const s1 = await rpc<ClaimedItem[]>("claim_send_queue_items", {
            p_targeting_id: "T5",
            p_shard_id: 1,
            p_total_shards: 2,
            p_worker_id: "a",
            p_limit: 100,
            p_lease_seconds: 60,
        });
        const s2 = await rpc<ClaimedItem[]>("claim_send_queue_items", {
            p_targeting_id: "T5",
            p_shard_id: 2,
            p_total_shards: 2,
            p_worker_id: "b",
            p_limit: 100,
            p_lease_seconds: 60,
        });
        assert.deepEqual(
            [...s1, ...s2].map((i) => Number(i.id)).sort((a, b) => a - b),
            ids,
        );
        assert.ok(s1.every((i) => Number(i.id) % 2 === 0) && s2.every((i) => Number(i.id) % 2 === 1));
        await assert.rejects(
            rpc("record_send_result", { p_item_id: s1[0].id, p_worker_id: "b", p_status: "sent" }),
            /is not leased by b/,
        );
        assert.deepEqual(await rpc("record_send_result", { p_item_id: s1[0].id, p_worker_id: "a", p_status: "sent" }), {
            recorded: true,
            status: "done",
        });
        assert.deepEqual(await rpc("record_send_result", { p_item_id: s1[0].id, p_worker_id: "a", p_status: "sent" }), {
            recorded: false,
            status: "done",
        });
        await assert.rejects(
            rpc("claim_send_queue_items", { p_targeting_id: "T5", p_shard_id: 3, p_total_shards: 2, p_worker_id: "a" }),
            /shard 3 of 2 is out of range/,
        );
    });

    it("releases leases back to pending and reclaims expired ones", async () => {
        await seedQueue("T6", 4);
        const got = await rpc<ClaimedItem[]>("claim_send_queue_items", {
            p_targeting_id: "T6",
            p_shard_id: 1,
            p_total_shards: 1,
            p_worker_id: "x",
            p_limit: 4,
            p_lease_seconds: 60,
        });
        assert.equal(got.length, 4);
        assert.equal(
            await rpc("release_send_queue_leases", { p_worker_id: "x", p_item_ids: [got[0].id, got[1].id] }),
            2,
        );
        assert.equal(await rpc("release_send_queue_leases", { p_worker_id: "x" }), 2);
        const again = await rpc<ClaimedItem[]>("claim_send_queue_items", {
            p_targeting_id: "T6",
            p_shard_id: 1,
            p_total_shards: 1,
            p_worker_id: "y",
            p_limit: 4,
            p_lease_seconds: 0,
        });
        assert.equal(again.length, 4);
        assert.ok(again.every((i) => i.attempts === 2));
        // A zero-second lease has expired: another worker may take the items over.
        const stolen = await rpc<ClaimedItem[]>("claim_send_queue_items", {
            p_targeting_id: "T6",
            p_shard_id: 1,
            p_total_shards: 1,
            p_worker_id: "z",
            p_limit: 4,
            p_lease_seconds: 60,
        });
        assert.equal(stolen.length, 4);
    });

    it("answers PostgREST's 404 PGRST202 for an unknown function and the gateway's 401 for a wrong key", async () => {
        const unknown = await client.rpc("no_such_function", {});
        assert.deepEqual([unknown.status, unknown.error?.code], [404, "PGRST202"]);
        // Supabase's gateway refuses a wrong key before PostgREST sees it, with a body that has no `code`
        // (nuxt-modules/supabase#195, supabase-community/supabase-csharp#108); the test used to expect
        // PostgREST's PGRST301, which a Supabase project does not send for a wrong API key.
        const bad = createClient(sb.url, "wrong-key", { auth: { persistSession: false } });
        const refused = await bad.rpc("list_job_executions", {});
        assert.equal(refused.status, 401);
        assert.deepEqual(refused.error, {
            message: "Invalid API key",
            hint: "Double check your Supabase `anon` or `service_role` API key.",
        });
    });
});
