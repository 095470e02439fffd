/**
 * A local stand-in for the Supabase project: embedded PostgreSQL with Supabase's standard roles,
 * the repository's migrations applied, and a PostgREST-compatible RPC endpoint in front.
 */
import * as fs from "fs";
import * as path from "path";
import { Client, Pool } from "pg";
import { startPostgres, TestPostgres } from "./postgres";
import { RpcServer, startRpcServer } from "./rpcServer";

export const MIGRATIONS_DIR = path.resolve(__dirname, "..", "..", "supabase", "migrations");
export const SERVICE_ROLE_KEY = "test-service-role-key-5b0e2c";
export const ANON_KEY = "test-anon-key-91d3aa";

/** Creates the roles a Supabase database has before any migration runs. */
export async function createSupabaseRoles(client: Client | Pool): Promise<void> {
    await client.query(`
        do $$ begin
            if not exists (select from pg_roles where rolname = 'anon') then create role anon nologin noinherit; end if;
            if not exists (select from pg_roles where rolname = 'authenticated') then create role authenticated nologin noinherit; end if;
            if not exists (select from pg_roles where rolname = 'service_role') then create role service_role nologin noinherit bypassrls; end if;
        end $$;
        grant usage on schema public to anon, authenticated, service_role;
        grant anon, authenticated, service_role to current_user;
    `);
}

/** Applies every migration file in name order. */
export async function applyMigrations(client: Client | Pool): Promise<string[]> {
    const files = fs
        .readdirSync(MIGRATIONS_DIR)
        .filter((f) => f.endsWith(".sql"))
        .sort();
    for (const f of files) await client.query(fs.readFileSync(path.join(MIGRATIONS_DIR, f), "utf8"));
    return files;
}

export interface LocalSupabase {
    readonly url: string;
    readonly serviceRoleKey: string;
    readonly anonKey: string;
    /** The database's connection string (as its owner), for a second RPC server over the same data. */
    readonly connectionString: string;
    /** Direct connection as the database owner, for arranging and inspecting data. */
    readonly db: Pool;
    readonly rpc: RpcServer;
    stop(): Promise<void>;
}

export async function startSupabase(pg?: TestPostgres): Promise<LocalSupabase> {
    const server = pg ?? (await startPostgres());
    const connectionString = await server.createDatabase(`supabase_${Date.now()}_${Math.floor(Math.random() * 1e6)}`);
    const db = new Pool({ connectionString, max: 10 });
    db.on("error", () => undefined);
    await createSupabaseRoles(db);
    await applyMigrations(db);
    const rpc = await startRpcServer({ connectionString, serviceRoleKey: SERVICE_ROLE_KEY, anonKey: ANON_KEY });
    return {
        url: rpc.url,
        serviceRoleKey: SERVICE_ROLE_KEY,
        anonKey: ANON_KEY,
        connectionString,
        db,
        rpc,
        async stop() {
            await rpc.close();
            await db.end();
            if (!pg) await server.stop();
        },
    };
}
