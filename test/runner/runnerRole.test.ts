/**
 * The runner's own database credential (issue 19): the fs_runner role of
 * supabase/migrations/20261127000300_form_sender_runner_role.sql, reached with the JWT `npm run mint-runner-key`
 * mints. Through the PostgREST stand-in over embedded PostgreSQL with every migration applied: the runner's QueueApi
 * does a whole attempt with the runner key, and the same key is refused every other function, every table, and
 * everything once expired or signed with another secret. The role's privileges are also read from the catalog, so
 * a later migration that leaves a new function executable by PUBLIC (and so by fs_runner) fails here.
 */
import * as assert from "assert";
import * as crypto from "crypto";
import { Client } from "pg";
import { makeRpc, QueueApi, RpcError } from "../../containers/runner/src/queue";
import { parseSupabaseKey, SecretsError } from "../../containers/runner/src/secrets";
import { keysFromEnv, mintRunnerJwt, parseDays, runnerKey, UsageError } from "../../scripts/mintRunnerKey";
import { startRpcServer, type RpcServer } from "../support/rpcServer";
import { ANON_KEY, SERVICE_ROLE_KEY, startSupabase, type LocalSupabase } from "../support/supabase";

/** What the runner calls (containers/runner/src/queue.ts), nothing more. */
const RUNNER_FUNCTIONS = [
    "claim_send_queue_items",
    "finish_job_attempt",
    "get_job_execution",
    "mark_job_failed_once",
    "record_job_run",
    "record_send_intent",
    "record_send_result",
    "release_send_queue_leases",
    "start_job_attempt",
];
const TABLES = ["companies", "job_executions", "job_execution_attempts", "send_queue", "submissions"];
const JWT_SECRET = `test-jwt-secret-${crypto.randomBytes(16).toString("hex")}`;
const decode = (jwt: string) => JSON.parse(Buffer.from(jwt.split(".")[1], "base64url").toString("utf8")) as object;

describe("mint-runner-key", () => {
    it("mints an HS256 JWT for fs_runner that expires after --days (default 90)", () => {
        const now = Date.UTC(2026, 10, 27, 12, 0, 0);
        const { json, expires } = runnerKey(
            { SUPABASE_JWT_SECRET: "s3cret", SUPABASE_PUBLISHABLE_KEY: "sb_publishable_abc" },
            [],
            now,
        );
        const key = JSON.parse(json) as { apikey: string; access_token: string };
        assert.equal(key.apikey, "sb_publishable_abc");
        assert.deepEqual(decode(key.access_token), {
            role: "fs_runner",
            iat: now / 1000,
            exp: now / 1000 + 90 * 86400,
        });
        assert.equal(expires, "2027-02-25T12:00:00.000Z");
        const [h, p, s] = key.access_token.split(".");
        assert.deepEqual(JSON.parse(Buffer.from(h, "base64url").toString()), { alg: "HS256", typ: "JWT" });
        assert.equal(s, crypto.createHmac("sha256", "s3cret").update(`${h}.${p}`).digest("base64url"));
    });

    it("signs ES256 with an imported private key's JWK and its kid", () => {
        const { privateKey, publicKey } = crypto.generateKeyPairSync("ec", { namedCurve: "P-256" });
        const jwk = { ...privateKey.export({ format: "jwk" }), kid: "3a18cfe2-7226-43b0-bbb4-7c5242f2406e" };
        const token = mintRunnerJwt({ jwk }, 30, Date.UTC(2026, 0, 1));
        const [h, p, s] = token.split(".");
        assert.deepEqual(JSON.parse(Buffer.from(h, "base64url").toString()), {
            alg: "ES256",
            kid: "3a18cfe2-7226-43b0-bbb4-7c5242f2406e",
            typ: "JWT",
        });
        const ok = crypto.verify(
            "sha256",
            Buffer.from(`${h}.${p}`),
            { key: publicKey, dsaEncoding: "ieee-p1363" },
            Buffer.from(s, "base64url"),
        );
        assert.equal(ok, true);
    });

    it("refuses a bad --days, a secret key as apikey and a missing signing key, naming the fix", () => {
        assert.throws(
            () => parseDays(["--days", "400"]),
            /^UsageError: --days must be a whole number from 1 to 365, got "400"$/,
        );
        assert.throws(() => parseDays(["--days", "1.5"]), UsageError);
        assert.equal(parseDays(["--days", "7"]), 7);
        assert.throws(
            () => keysFromEnv({ SUPABASE_JWT_SECRET: "x", SUPABASE_PUBLISHABLE_KEY: "sb_secret_abc" }),
            /holds a secret key \(sb_secret_…\); use the publishable key/,
        );
        assert.throws(() => keysFromEnv({ SUPABASE_PUBLISHABLE_KEY: "sb_publishable_abc" }), /set SUPABASE_JWT_SECRET/);
        assert.throws(
            () => keysFromEnv({ SUPABASE_JWT_SECRET: "x" }),
            /SUPABASE_PUBLISHABLE_KEY \(or SUPABASE_ANON_KEY\) is not set/,
        );
    });

    it("the runner reads a runner key or a plain key, and names what is wrong without the value", () => {
        assert.deepEqual(parseSupabaseKey("plain-service-key"), { apikey: "plain-service-key" });
        assert.deepEqual(parseSupabaseKey('{"apikey":"a","access_token":"t"}'), { apikey: "a", accessToken: "t" });
        assert.throws(
            () => parseSupabaseKey('{"apikey":"a-secret-value"}'),
            (e: Error) =>
                e instanceof SecretsError &&
                /access_token is missing/.test(e.message) &&
                !e.message.includes("a-secret-value"),
        );
        assert.throws(() => parseSupabaseKey("{not json"), /starts with \{ but is not JSON/);
    });
});

describe("fs_runner through the PostgREST stand-in", function () {
    this.timeout(120_000);
    let sb: LocalSupabase;
    let rpc: RpcServer;
    let key: string;
    before(async () => {
        sb = await startSupabase();
        rpc = await startRpcServer({
            connectionString: sb.connectionString,
            serviceRoleKey: SERVICE_ROLE_KEY,
            anonKey: ANON_KEY,
            jwtSecret: JWT_SECRET,
        });
        key = runnerKey({ SUPABASE_JWT_SECRET: JWT_SECRET, SUPABASE_PUBLISHABLE_KEY: ANON_KEY }, ["--days", "1"]).json;
    });
    after(async () => {
        await rpc?.close();
        await sb?.stop();
    });

    async function seed(targeting: string): Promise<{ executionId: string; itemIds: number[] }> {
        const ids: number[] = [];
        for (const i of [1, 2]) {
            const c = await sb.db.query<{ id: string }>(
                "insert into companies (name, form_url) values ($1, $2) returning id",
                [`株式会社ロール${i}`, `https://example.com/${i}`],
            );
            const q = await sb.db.query<{ id: string }>(
                "insert into send_queue (targeting_id, company_id) values ($1, $2) returning id",
                [targeting, c.rows[0].id],
            );
            ids.push(Number(q.rows[0].id));
        }
        const e = await sb.db.query<{ e: { id: string } }>(
            "select create_job_execution($1, 1, 1, false, null, '{}'::jsonb) as e",
            [targeting],
        );
        return { executionId: e.rows[0].e.id, itemIds: ids.sort((a, b) => a - b) };
    }

    it("does a whole attempt with the runner key: every RPC the runner makes works", async () => {
        const { executionId, itemIds } = await seed("role-t1");
        const q = new QueueApi(makeRpc(rpc.url, key), { executionId, runIndex: 1, attempt: 1, workerId: "w-role" });
        assert.equal((await q.getExecution())?.id, executionId);
        await q.startAttempt({ via: "fs_runner" });
        await q.recordRun({ instance_type: "c6a.xlarge", memory_limit_mib: 7680 });
        const ran = await sb.db.query<{ ran: { instance_types: string[] } }>(
            "select metadata -> 'batch' -> 'ran' as ran from job_executions where id = $1",
            [executionId],
        );
        assert.deepEqual(ran.rows[0].ran.instance_types, ["c6a.xlarge"]);
        const items = await q.claim("role-t1", 1, 1, 10, 300);
        assert.deepEqual(
            items.map((i) => i.id).sort((a, b) => a - b),
            itemIds,
        );
        assert.equal((await q.recordIntent(itemIds[0])).recorded, true);
        assert.deepEqual(await q.record(itemIds[0], "sent", "ok"), { recorded: true, status: "done" });
        assert.equal(await q.release([itemIds[1]]), 1);
        assert.equal(await q.markFailedOnce("test: spot reclaim"), true);
        await q.finishAttempt("failed", "test", 143);
        const sub = await sb.db.query("select status from submissions where execution_id = $1", [executionId]);
        assert.deepEqual(sub.rows, [{ status: "sent" }]);
        // Every function the runner calls was called (and, as the next test shows, nothing else is open to it).
        assert.deepEqual([...new Set(rpc.calls.map((c) => c.fn))].sort(), RUNNER_FUNCTIONS);
    });

    it("refuses every other function with 401/403 permission denied", async () => {
        const call = makeRpc(rpc.url, key);
        for (const [fn, args] of [
            ["create_job_execution", { p_targeting_id: "x", p_run_total: 1, p_shards: 1, p_test_mode: false }],
            ["list_job_executions", {}],
            ["get_job_execution_detail", { p_execution_id: "00000000-0000-4000-8000-000000000000" }],
            ["requeue_unknown_send_items", { p_targeting_id: "x", p_item_ids: [1], p_checked_by: "me" }],
            ["mark_send_intents_unknown", { p_worker_id: "w" }],
            [
                "record_job_fallback",
                {
                    p_execution_id: "00000000-0000-4000-8000-000000000000",
                    p_job_id: "j",
                    p_job_name: "n",
                    p_job_queue: "q",
                    p_fallback: {},
                },
            ],
        ] as const) {
            const err = await call(fn, args).then(
                () => assert.fail(`${fn} succeeded as fs_runner`),
                (e: unknown) => e,
            );
            assert.ok(err instanceof RpcError, `${fn}: ${String(err)}`);
            assert.ok([401, 403].includes(err.status) && err.code === "42501", `${fn}: ${err.status} ${err.message}`);
        }
    });

    it("refuses an expired token (401 PGRST303) and one signed with another secret (401)", async () => {
        const apikey = ANON_KEY;
        const expired = mintRunnerJwt({ secret: JWT_SECRET }, 1, Date.now() - 2 * 86400_000);
        const forged = mintRunnerJwt({ secret: "not-the-project-secret" }, 1);
        for (const [token, code] of [
            [expired, "PGRST303"],
            [forged, "PGRST301"],
        ]) {
            const err = await makeRpc(rpc.url, JSON.stringify({ apikey, access_token: token }))("get_job_execution", {
                p_execution_id: "00000000-0000-4000-8000-000000000000",
            }).then(
                () => assert.fail("accepted"),
                (e: unknown) => e,
            );
            assert.ok(err instanceof RpcError);
            assert.deepEqual([err.status, err.code], [401, code]);
        }
    });

    it("has EXECUTE on exactly the runner's functions and no privilege on any table, view or sequence", async () => {
        const fns = await sb.db.query<{ name: string }>(
            `select distinct p.proname as name from pg_proc p join pg_namespace n on n.oid = p.pronamespace
             where n.nspname = 'public' and has_function_privilege('fs_runner', p.oid, 'execute')
               -- an extension's functions (pgcrypto here; Supabase keeps extensions in their own schema) are not
               -- the project's
               and not exists (select from pg_depend d where d.classid = 'pg_proc'::regclass and d.objid = p.oid
                               and d.deptype = 'e')
             order by 1`,
        );
        assert.deepEqual(
            fns.rows.map((r) => r.name),
            RUNNER_FUNCTIONS,
        );
        const rels = await sb.db.query<{ name: string }>(
            `select c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
             where n.nspname = 'public' and c.relkind in ('r', 'v', 'm', 'S', 'p')
               and (has_table_privilege('fs_runner', c.oid,
                                        'select, insert, update, delete, truncate, references, trigger')
                    or (c.relkind = 'S' and has_sequence_privilege('fs_runner', c.oid, 'usage, select, update')))`,
        );
        assert.deepEqual(rels.rows, []);
        // And as the role itself, as PostgREST's SET ROLE makes it.
        const client = new Client({ connectionString: sb.connectionString });
        await client.connect();
        try {
            for (const t of TABLES) {
                await client.query("begin");
                await client.query("set local role fs_runner");
                await assert.rejects(client.query(`select * from ${t} limit 1`), /permission denied for table/, t);
                await client.query("rollback");
            }
        } finally {
            await client.end();
        }
    });
});
