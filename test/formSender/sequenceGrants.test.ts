/**
 * supabase/migrations/20261128000100_form_sender_sequence_grants.sql against embedded PostgreSQL set up the way a
 * Supabase database is: the API roles exist and, as in supabase/postgres
 * migrations/db/init-scripts/00000000000000-initial-schema.sql@09a4e4e, every new table, function and sequence in
 * schema public is granted to anon, authenticated and service_role by default privileges. Before the migration the
 * API roles can use the id sequences (so the check below can fail); after it they cannot, on any sequence, while
 * service_role still inserts rows.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { Client } from "pg";
import { startPostgres, type TestPostgres } from "../support/postgres";
import { createSupabaseRoles, MIGRATIONS_DIR } from "../support/supabase";

const MIGRATION = "20261128000100_form_sender_sequence_grants.sql";
const API_ROLES = ["anon", "authenticated", "fs_runner"];
/** The sequences behind the bigserial ids of supabase/migrations/20261120000000_form_sender_tables.sql. */
const ID_SEQUENCES = ["companies_id_seq", "job_execution_attempts_id_seq", "send_queue_id_seq", "submissions_id_seq"];

describe("form-sender sequence grants", function () {
    this.timeout(120000);
    let pg: TestPostgres;
    let db: Client;

    /** Every (role, sequence) pair in schema public where the role holds any sequence privilege. */
    const granted = async (): Promise<string[]> =>
        (
            await db.query<{ pair: string }>(
                `select r.rolname || ' ' || c.relname as pair
                   from pg_class c join pg_namespace n on n.oid = c.relnamespace
                  cross join pg_roles r
                  where n.nspname = 'public' and c.relkind = 'S' and r.rolname = any($1)
                    and has_sequence_privilege(r.rolname, c.oid, 'usage, select, update')
                  order by 1`,
                [API_ROLES],
            )
        ).rows.map((r) => r.pair);

    const apply = async (file: string) => db.query(fs.readFileSync(path.join(MIGRATIONS_DIR, file), "utf8"));

    before(async () => {
        pg = await startPostgres();
        db = new Client({ connectionString: await pg.createDatabase("sequence_grants") });
        await db.connect();
        await createSupabaseRoles(db);
        // Supabase's default privileges for objects the migrating role creates (the file named above).
        await db.query(`
            alter default privileges in schema public grant all on tables to anon, authenticated, service_role;
            alter default privileges in schema public grant all on functions to anon, authenticated, service_role;
            alter default privileges in schema public grant all on sequences to anon, authenticated, service_role;
        `);
        const files = fs
            .readdirSync(MIGRATIONS_DIR)
            .filter((f) => f.endsWith(".sql") && f < MIGRATION)
            .sort();
        for (const f of files) await apply(f);
    });
    after(async () => {
        await db?.end();
        await pg?.stop();
    });

    it("without it, Supabase's default privileges leave anon and authenticated every id sequence", async () => {
        const pairs = await granted();
        for (const role of ["anon", "authenticated"])
            for (const seq of ID_SEQUENCES) assert.ok(pairs.includes(`${role} ${seq}`), `${role} ${seq}`);
    });

    it("revokes every sequence privilege from anon, authenticated and fs_runner, and is idempotent", async () => {
        await apply(MIGRATION);
        assert.deepEqual(await granted(), []);
        const sequences = await db.query<{ relname: string }>(
            `select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
              where n.nspname = 'public' and c.relkind = 'S' order by 1`,
        );
        assert.deepEqual(
            sequences.rows.map((r) => r.relname),
            ID_SEQUENCES,
        );
        await apply(MIGRATION);
        assert.deepEqual(await granted(), []);
    });

    it("anon cannot call nextval or setval on an id sequence", async () => {
        for (const sql of ["select nextval('companies_id_seq')", "select setval('send_queue_id_seq', 1)"]) {
            await db.query("set role anon");
            try {
                await assert.rejects(db.query(sql), /permission denied for sequence/);
            } finally {
                await db.query("reset role");
            }
        }
    });

    it("service_role still inserts rows that take ids from the sequences", async () => {
        await db.query("set role service_role");
        try {
            const company = await db.query<{ id: string }>(
                "insert into companies (name, form_url) values ('株式会社テスト', 'https://example.com/contact') returning id",
            );
            const item = await db.query<{ id: string }>(
                "insert into send_queue (targeting_id, company_id) values ('T-seq', $1) returning id",
                [company.rows[0].id],
            );
            assert.ok(Number(company.rows[0].id) > 0 && Number(item.rows[0].id) > 0);
        } finally {
            await db.query("reset role");
        }
    });
});
