/**
 * A loopback server with PostgREST's `/rest/v1/rpc/<fn>` semantics over a real PostgreSQL, so
 * `@supabase/supabase-js` `.rpc()` runs unchanged in tests: named JSON arguments, the role
 * chosen by the `apikey` key (service_role or anon, as Supabase's JWT roles), set-returning
 * functions answered as arrays, scalars as values, and PostgREST's error bodies and statuses.
 */
import * as http from "http";
import { AddressInfo } from "net";
import { Pool } from "pg";

export interface RpcServer {
    readonly url: string;
    /** Calls received, in order (function name and arguments). */
    readonly calls: { fn: string; args: Record<string, unknown> }[];
    /** While true, every call answers 503 as if the database were unreachable. */
    unavailable: boolean;
    close(): Promise<void>;
}

/** PostgREST's HTTP status for a PostgreSQL error code (https://postgrest.org/en/stable/references/errors.html). */
export function statusFor(code: string | undefined): number {
    if (!code) return 500;
    if (code === "42501") return 403;
    if (code === "42883" || code === "P0002") return 404;
    if (code.startsWith("23")) return 409;
    if (code.startsWith("22") || code === "P0001" || code === "42P01") return 400;
    if (code.startsWith("08") || code === "57P01" || code === "53300") return 503;
    return 500;
}

export async function startRpcServer(opts: {
    connectionString: string;
    serviceRoleKey: string;
    anonKey: string;
}): Promise<RpcServer> {
    const pool = new Pool({ connectionString: opts.connectionString, max: 20 });
    // An idle client losing its connection (the test's server stopping) is not a test failure.
    pool.on("error", () => undefined);
    const calls: { fn: string; args: Record<string, unknown> }[] = [];
    const state = { unavailable: false };
    const send = (res: http.ServerResponse, status: number, body: unknown) => {
        res.writeHead(status, { "content-type": "application/json; charset=utf-8" });
        res.end(JSON.stringify(body));
    };
    const handle = async (req: http.IncomingMessage, res: http.ServerResponse) => {
        const m = /^\/rest\/v1\/rpc\/([A-Za-z_][A-Za-z0-9_]*)$/.exec((req.url ?? "").split("?")[0]);
        if (!m || (req.method !== "POST" && req.method !== "GET"))
            return send(res, 404, {
                code: "PGRST125",
                message: `no route ${req.method} ${req.url}`,
                details: null,
                hint: null,
            });
        const key = req.headers["apikey"];
        const role = key === opts.serviceRoleKey ? "service_role" : key === opts.anonKey ? "anon" : undefined;
        if (!role)
            return send(res, 401, {
                code: "PGRST301",
                message: "No suitable key or wrong key type",
                details: null,
                hint: null,
            });
        const chunks: Buffer[] = [];
        for await (const c of req) chunks.push(c as Buffer);
        let args: Record<string, unknown>;
        try {
            args = chunks.length ? (JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>) : {};
        } catch {
            return send(res, 400, { code: "PGRST102", message: "Empty or invalid json", details: null, hint: null });
        }
        const fn = m[1];
        calls.push({ fn, args });
        if (state.unavailable)
            return send(res, 503, {
                code: "PGRST000",
                message: "Could not connect with the database",
                details: null,
                hint: null,
            });
        const client = await pool.connect();
        try {
            const meta = await client.query<{ proretset: boolean; typtype: string; typname: string }>(
                "select p.proretset, t.typtype, t.typname from pg_proc p join pg_type t on t.oid = p.prorettype join pg_namespace n on n.oid = p.pronamespace where n.nspname = 'public' and p.proname = $1",
                [fn],
            );
            if (meta.rowCount === 0) {
                return send(res, 404, {
                    code: "PGRST202",
                    message: `Could not find the function public.${fn} in the schema cache`,
                    details: null,
                    hint: null,
                });
            }
            const { proretset, typtype } = meta.rows[0];
            const names = Object.keys(args);
            const params = names.map((n, i) => `${client.escapeIdentifier(n)} => $${i + 1}`).join(", ");
            const values = names.map((n) =>
                args[n] !== null && typeof args[n] === "object" && !Array.isArray(args[n])
                    ? JSON.stringify(args[n])
                    : args[n],
            );
            await client.query("begin");
            await client.query(`set local role ${role}`);
            const call = `public.${client.escapeIdentifier(fn)}(${params})`;
            const result =
                proretset || typtype === "c"
                    ? await client.query<{ v: unknown }>(`select to_jsonb(r) as v from ${call} r`, values)
                    : await client.query<{ v: unknown }>(`select ${call} as v`, values);
            await client.query("commit");
            send(res, 200, proretset ? result.rows.map((r) => r.v) : (result.rows[0]?.v ?? null));
        } catch (e) {
            // A PostgreSQL error (pg's DatabaseError) carries its SQLSTATE code, detail and hint.
            const err = e as { code?: string; message?: string; detail?: string; hint?: string };
            await client.query("rollback").catch(() => undefined);
            send(res, statusFor(err.code), {
                code: err.code ?? "PGRST000",
                message: err.message,
                details: err.detail ?? null,
                hint: err.hint ?? null,
            });
        } finally {
            client.release();
        }
    };
    // A handler that throws surfaces as an unhandled rejection, which fails the test run.
    const server = http.createServer((req, res) => void handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as AddressInfo).port;
    return {
        url: `http://127.0.0.1:${port}`,
        calls,
        get unavailable() {
            return state.unavailable;
        },
        set unavailable(v: boolean) {
            state.unavailable = v;
        },
        async close() {
            // Keep-alive sockets from fetch would hold close() open for seconds.
            server.closeAllConnections();
            await new Promise<void>((resolve) => server.close(() => resolve()));
            await pool.end();
        },
    };
}
