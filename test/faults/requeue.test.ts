/**
 * Unknown send outcomes end to end on the real schema: an item with a send intent is never claimed
 * or released again, batch-events' RPC ends it unknown (counted on the execution and attempt), and
 * only the operator command `npm run requeue-unknown` (scripts/requeue-unknown.ts) puts it back.
 */
import { strict as assert } from "assert";
import { createClient } from "@supabase/supabase-js";
import { parseArgs, requeueUnknown, UsageError, type Rpc } from "../../scripts/requeue-unknown";
import { startSupabase, type LocalSupabase } from "../support/supabase";

describe("unknown send outcomes and npm run requeue-unknown", function () {
    this.timeout(120_000);
    let sb: LocalSupabase;
    let rpc: Rpc;

    before(async () => {
        sb = await startSupabase();
        const client = createClient(sb.url, sb.serviceRoleKey, { auth: { persistSession: false } });
        rpc = async (fn, args) => {
            const res = await client.rpc(fn, args);
            if (res.error) throw Object.assign(new Error(`${fn}: ${res.error.message}`), { code: res.error.code });
            return res.data as unknown;
        };
    });
    after(async () => sb && (await sb.stop()));

    it("keeps an intent item out of claims and releases, ends it unknown once, and requeues it only on request", async () => {
        const ids: number[] = [];
        for (const i of [1, 2]) {
            const c = await sb.db.query<{ id: string }>(
                "insert into companies (name, form_url) values ($1, 'https://example.com/') returning id",
                [`会社R${i}`],
            );
            const q = await sb.db.query<{ id: string }>(
                "insert into send_queue (targeting_id, company_id) values ('R1', $1) returning id",
                [c.rows[0].id],
            );
            ids.push(Number(q.rows[0].id));
        }
        const exec = (await sb.db.query<{ e: { id: string } }>("select create_job_execution('R1', 1) as e")).rows[0].e
            .id;
        await rpc("start_job_attempt", { p_execution_id: exec, p_run_index: 1, p_attempt: 1 });
        const claim = (worker: string, lease = 600) =>
            rpc("claim_send_queue_items", {
                p_targeting_id: "R1",
                p_shard_id: 1,
                p_total_shards: 1,
                p_worker_id: worker,
                p_limit: 2,
                p_lease_seconds: lease,
            }) as Promise<Array<{ id: number }>>;
        assert.deepEqual(
            (await claim("job#1")).map((r) => Number(r.id)),
            ids,
        );
        const intent = { p_worker_id: "job#1", p_execution_id: exec, p_run_index: 1, p_attempt: 1 };
        assert.deepEqual(
            ((await rpc("record_send_intent", { p_item_id: ids[0], ...intent })) as { recorded: boolean }).recorded,
            true,
        );
        // Another worker may not record an intent on this item: it must not click.
        await assert.rejects(rpc("record_send_intent", { p_item_id: ids[0], ...intent, p_worker_id: "job#2" }), {
            code: "P0001",
        });
        // The release at the end of a job leaves the intent item alone; the other goes back.
        assert.equal(await rpc("release_send_queue_leases", { p_worker_id: "job#1", p_item_ids: null }), 1);
        // Even with its lease expired, the intent item is never claimed again: the sweep ends it unknown.
        await sb.db.query("update send_queue set lease_expires_at = now() - interval '1 s' where id = $1", [ids[0]]);
        assert.deepEqual(
            (await claim("job#2")).map((r) => Number(r.id)),
            [ids[1]],
        );
        assert.equal(await rpc("mark_send_intents_unknown", { p_worker_id: "job#1", p_reason: "gone" }), 0);
        const state = await sb.db.query<{ status: string; outcome_reason: string }>(
            "select status, outcome_reason from send_queue where id = $1",
            [ids[0]],
        );
        assert.equal(state.rows[0].status, "unknown");
        assert.match(state.rows[0].outcome_reason, /lease of job#1 expired after its send intent/);
        const counts = await sb.db.query(
            "select e.unknown_items as e, a.unknown_items as a from job_executions e join job_execution_attempts a on a.execution_id = e.id where e.id = $1",
            [exec],
        );
        assert.deepEqual(counts.rows, [{ e: 1, a: 1 }]);

        // The operator command: listing changes nothing; requeue needs a name and names bad input.
        const listed = await requeueUnknown(parseArgs(["--targeting", "R1"]), rpc);
        assert.match(listed[0], /^1 item\(s\) of targeting R1 with an unknown outcome:/);
        assert.match(listed.join("\n"), new RegExp(`item ${ids[0]} {2}会社R1`));
        assert.throws(() => parseArgs(["--targeting", "R1", "--all"]), /--checked-by "<your name>" is required/);
        assert.throws(() => parseArgs(["--targeting", "R 1"]), /--targeting must be a targeting id.*got "R 1"/);
        assert.throws(() => parseArgs(["--targeting", "R1", "--items", "x"]), UsageError);
        await assert.rejects(
            requeueUnknown(parseArgs(["--targeting", "R1", "--items", String(ids[1]), "--checked-by", "ops"]), rpc),
            new RegExp(`--items ${ids[1]}: not unknown items of targeting R1`),
        );
        const done = await requeueUnknown(
            parseArgs(["--targeting", "R1", "--items", String(ids[0]), "--checked-by", "山田", "--note", "電話で確認"]),
            rpc,
        );
        assert.equal(done.at(-1), `requeued 1 item(s) to pending: ${ids[0]}`);
        const after = await sb.db.query(
            "select q.status, q.send_intent_at, q.requeued_by, q.requeue_count, e.unknown_items from send_queue q, job_executions e where q.id = $1 and e.id = $2",
            [ids[0], exec],
        );
        assert.deepEqual(after.rows, [
            { status: "pending", send_intent_at: null, requeued_by: "山田", requeue_count: 1, unknown_items: 0 },
        ]);
    });
});
