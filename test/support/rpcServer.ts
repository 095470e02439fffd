/**
 * A loopback server that answers `/rest/v1/rpc/<fn>` the way a Supabase project does, over a real
 * PostgreSQL, so `@supabase/supabase-js` `.rpc()` and `@supabase/postgrest-js` run unchanged in tests.
 *
 * Pinned to PostgREST v14.12, the image the Supabase CLI runs
 * (supabase/cli apps/cli-go/pkg/config/templates/Dockerfile@1d1e719: `FROM postgrest/postgrest:v14.12`).
 * Every rule below names its source; "PostgREST" means github.com/PostgREST/postgrest at tag v14.12
 * (6200fba). test/contracts/postgrest.test.ts holds one row per rule; add behaviour there first.
 *
 * What it does not model (none of it is used by the project): tables and views, `select`/filters on RPC
 * results, `Prefer` headers, `Accept-Profile`/`Content-Profile`, array bodies (bulk calls), `db-max-rows`,
 * the schema-cache reload (functions are read from pg_catalog on every call, so a freshly migrated
 * function never answers PGRST202 here) and PGRST202's fuzzy "Perhaps you meant" hint.
 */
import * as crypto from "crypto";
import * as http from "http";
import { AddressInfo } from "net";
import { Pool, PoolClient } from "pg";

export interface RpcServer {
    readonly url: string;
    /** Calls received, in order (function name and arguments). */
    readonly calls: { fn: string; args: Record<string, unknown> }[];
    /** While true, every call answers 503 PGRST000 as if the database were unreachable. */
    unavailable: boolean;
    close(): Promise<void>;
}

/** The database roles Supabase's JWTs name (Supabase initial schema: anon, authenticated, service_role). */
export type SupabaseRole = "anon" | "authenticated" | "service_role";

/**
 * statement_timeout per role on a Supabase project (supabase.com/docs/guides/database/postgres/timeouts:
 * "anon: 3s, authenticated: 8s, service_role: none (defaults to the authenticator role's 8s timeout if
 * unset)"). PostgREST applies the impersonated role's settings (PostgREST src/PostgREST/Query/PreQuery.hs).
 */
export const SUPABASE_STATEMENT_TIMEOUT_MS: Readonly<Record<SupabaseRole, number>> = {
    anon: 3000,
    authenticated: 8000,
    service_role: 8000,
};

/** The body PostgREST sends for every error (PostgREST src/PostgREST/Error.hs `toJsonPgrstError`). */
export interface PgrstErrorBody {
    code: string;
    message: string;
    details: string | null;
    hint: string | null;
}

/**
 * PostgREST's HTTP status for a PostgreSQL error: a faithful port of `pgErrorStatus` (PostgREST
 * src/PostgREST/Error.hs@v14.12 lines 598-651), rule for rule and in the same order. `authed` is false
 * when the request runs as the anon role (PostgREST src/PostgREST/App.hs: `authed = Just authRole /=
 * configDbAnonRole`); `message` is PostgreSQL's message, which three rules look at.
 */
export function pgErrorStatus(code: string, message = "", authed = true, details: string | null = null): number {
    const c2 = code.slice(0, 2);
    if (c2 === "08") return 503; // pg connection err
    if (c2 === "09") return 500; // triggered action exception
    if (c2 === "0L") return 403; // invalid grantor
    if (c2 === "0P") return 403; // invalid role specification
    if (code === "23503") return 409; // foreign_key_violation
    if (code === "23505") return 409; // unique_violation
    if (code === "25006") return 405; // read_only_sql_transaction
    // cardinality_violation: 400 only for pg-safeupdate's "requires a WHERE clause", else a server error.
    if (code === "21000") return message.endsWith("requires a WHERE clause") ? 400 : 500;
    // invalid_parameter_value: a JWT naming a role that does not exist is 401 (PostgREST issue #3601).
    if (code === "22023") return message.startsWith("role") && message.endsWith("does not exist") ? 401 : 400;
    if (c2 === "25") return 500; // invalid tx state
    if (c2 === "28") return 403; // invalid auth specification
    if (c2 === "2D") return 500; // invalid tx termination
    if (c2 === "38") return 500; // external routine exception
    if (c2 === "39") return 500; // external routine invocation
    if (c2 === "3B") return 500; // savepoint exception
    if (c2 === "40") return 500; // tx rollback (serialization_failure, deadlock_detected)
    if (code === "53400") return 500; // config limit exceeded
    if (c2 === "53") return 503; // insufficient resources (53300 too_many_connections, ...)
    if (c2 === "54") return 500; // too complex
    if (c2 === "55") return 500; // obj not on prereq state
    if (code === "57P01") return 503; // terminating connection due to administrator command
    if (c2 === "57") return 500; // operator intervention (57014 query_canceled: statement_timeout)
    if (c2 === "58") return 500; // system error
    if (c2 === "F0") return 500; // conf file error
    if (c2 === "HV") return 500; // foreign data wrapper error
    if (code === "P0001") return 400; // default code for "raise"
    if (c2 === "P0") return 500; // PL/pgSQL error (P0002 no_data_found, P0003, P0004)
    if (c2 === "XX") return 500; // internal error
    if (code === "42883") return message.startsWith("function xmlagg(") ? 406 : 404; // undefined function
    if (code === "42P01") return 404; // undefined table
    if (code === "42P17") return 500; // infinite recursion
    if (code === "42501") return authed ? 403 : 401; // insufficient privilege
    if (c2 === "PT") {
        // `RAISE SQLSTATE 'PT402'` sets the status itself; an invalid number falls back to 500.
        const n = Number(code.slice(2));
        return Number.isInteger(n) && n >= 100 && n <= 599 ? n : 500;
    }
    if (code === "PGRST") {
        // `RAISE SQLSTATE 'PGRST' USING message = '{json}', detail = '{"status": ...}'`: full control.
        const status = parseJson<{ status?: unknown }>(details)?.status;
        return typeof status === "number" ? status : 500;
    }
    return 400; // every other SQLSTATE: 42703, 42804, 22P02, 23502, 23514, 0A000, ...
}

function parseJson<T>(text: string | null | undefined): T | undefined {
    try {
        return text ? (JSON.parse(text) as T) : undefined;
    } catch {
        return undefined;
    }
}

/** One function overload as PostgREST's schema cache describes it (PostgREST src/PostgREST/SchemaCache.hs). */
interface Routine {
    readonly signature: string;
    readonly volatility: "i" | "s" | "v";
    readonly retset: boolean;
    readonly void: boolean;
    readonly composite: boolean;
    /** Input parameters (IN, INOUT, VARIADIC) in declaration order. */
    readonly params: { name: string; type: string; required: boolean; variadic: boolean }[];
}

interface PgProcRow {
    volatility: "i" | "s" | "v";
    retset: boolean;
    rettype: string;
    typtype: string;
    nargdefaults: number;
    names: string[];
    modes: string[];
    types: string[];
}

async function loadRoutines(client: PoolClient, fn: string): Promise<Routine[]> {
    const rows = await client.query<PgProcRow>(
        `select p.provolatile as volatility, p.proretset as retset, p.prorettype::regtype::text as rettype,
                t.typtype::text as typtype, p.pronargdefaults as nargdefaults,
                coalesce(p.proargnames, '{}') as names, coalesce(p.proargmodes::text[], '{}') as modes,
                array(select format_type(x, null) from unnest(coalesce(p.proallargtypes, p.proargtypes::oid[]))
                      with ordinality u(x, i) order by i) as types
           from pg_proc p join pg_type t on t.oid = p.prorettype join pg_namespace n on n.oid = p.pronamespace
          where n.nspname = 'public' and p.proname = $1 and p.prokind = 'f'`,
        [fn],
    );
    return rows.rows.map((r) => {
        const inputs = r.types
            .map((type, i) => ({ type, name: r.names[i] ?? "", mode: r.modes[i] ?? "i" }))
            .filter((a) => a.mode === "i" || a.mode === "b" || a.mode === "v");
        const params = inputs.map((a, i) => ({
            name: a.name,
            type: a.type,
            // The last `pronargdefaults` inputs have defaults (pg_proc docs); the others are required.
            required: i < inputs.length - r.nargdefaults,
            variadic: a.mode === "v",
        }));
        return {
            signature: `public.${fn}(${params.map((p) => `${p.name} => ${p.type}`).join(", ")})`,
            volatility: r.volatility,
            retset: r.retset,
            void: r.rettype === "void",
            // A named composite, or `returns table (...)` / OUT parameters (a record with named columns).
            composite: r.typtype === "c" || (r.rettype === "record" && r.modes.some((m) => m === "o" || m === "t")),
            params,
        };
    });
}

/**
 * PostgREST's overload resolution: a port of `findProc` (PostgREST src/PostgREST/Plan.hs@v14.12 lines 237-281). A
 * function matches when the JSON keys are exactly its required parameters plus any of its optional ones;
 * a function with one unnamed json/jsonb parameter is the fallback for a JSON body.
 */
export function findProc(
    routines: readonly Routine[],
    keys: ReadonlySet<string>,
): { proc: Routine } | { ambiguous: Routine[] } | { none: true } {
    const matches = (r: Routine) => {
        if (r.params.length === 0) return keys.size === 0;
        const req = r.params.filter((p) => p.required).map((p) => p.name);
        const opt = new Set(r.params.filter((p) => !p.required).map((p) => p.name));
        const rest = [...keys].filter((k) => !opt.has(k));
        return rest.length === req.length && req.every((n) => keys.has(n));
    };
    const singleUnnamed = (r: Routine) =>
        r.params.length === 1 && r.params[0].name === "" && ["json", "jsonb"].includes(r.params[0].type);
    const named = routines.filter(matches);
    const fallback = routines.filter((r) => !matches(r) && singleUnnamed(r));
    if (named.length === 1) return { proc: named[0] };
    if (named.length > 1) return { ambiguous: named };
    if (fallback.length === 1) return { proc: fallback[0] };
    if (fallback.length > 1) return { ambiguous: fallback };
    return { none: true };
}

/**
 * The call PostgREST builds for a JSON body (PostgREST src/PostgREST/Query/QueryBuilder.hs
 * `callPlanToQuery`, Query/SqlFragment.hs `fromJsonBodyF` and `asJsonF`): arguments go through
 * `json_to_record` with the declared parameter types, so JSON arrays become PostgreSQL arrays and objects
 * json/jsonb; the result is `json_agg`ed: a scalar is the value, a single composite an object, a set an
 * array. `$1` is the JSON body.
 */
function callSql(proc: Routine, fn: string, keys: ReadonlySet<string>): string {
    const id = (s: string) => `"${s.replace(/"/g, '""')}"`;
    const given = proc.params.filter((p) => keys.has(p.name));
    let from: string;
    let args: string;
    if (proc.params.length === 1 && proc.params[0].name === "") {
        from = "";
        args = `$1::${proc.params[0].type}`;
    } else if (given.length === 0) {
        from = "";
        args = "";
    } else {
        const cols = given.map((p) => id(p.name)).join(", ");
        const typed = given.map((p) => `${id(p.name)} ${p.type}`).join(", ");
        from =
            `(select $1::json as json_data) pgrst_payload, lateral (select ${cols} ` +
            `from json_to_record(pgrst_payload.json_data) as _(${typed})) pgrst_body, `;
        args = given.map((p) => `${p.variadic ? "variadic " : ""}${id(p.name)} := pgrst_body.${id(p.name)}`).join(", ");
    }
    const call = `public.${id(fn)}(${args})`;
    const scalar = !proc.composite;
    const source = scalar
        ? `select pgrst_call.pgrst_scalar from ${from}lateral (select ${call} pgrst_scalar) pgrst_call`
        : `select pgrst_call.* from ${from}lateral ${call} pgrst_call`;
    if (proc.void) return `select count(*) from (${source}) _postgrest_t`;
    const agg = scalar ? "json_agg(_postgrest_t.pgrst_scalar)" : "json_agg(_postgrest_t)";
    const body = proc.retset ? `coalesce(${agg}, '[]')` : `coalesce(${agg}->0, 'null')`;
    return `select (${body})::text as body from (${source}) _postgrest_t`;
}

/** Options beyond the two keys; the defaults are a Supabase project's. */
export interface RpcServerOptions {
    readonly connectionString: string;
    readonly serviceRoleKey: string;
    readonly anonKey: string;
    /** statement_timeout per role. @default SUPABASE_STATEMENT_TIMEOUT_MS */
    readonly statementTimeoutMs?: Partial<Record<SupabaseRole, number>>;
    /** How long a call waits for a database connection before answering 503/504. @default 5000 */
    readonly connectTimeoutMs?: number;
    /**
     * The project's JWT secret (legacy HS256). When set, a bearer token that is an HS256 JWT signed with it runs as
     * the role its `role` claim names, any role (PostgREST src/PostgREST/Auth.hs; a custom role must exist and be
     * granted to the authenticator, or `SET ROLE` fails: 401). Without it, only the two keys are known.
     */
    readonly jwtSecret?: string;
}

/**
 * The claims of an HS256 JWT signed with `secret`, "expired" when `exp` is past (PostgREST Auth.hs: JWTExpired,
 * answered 401 PGRST303), or undefined when it is no such JWT.
 */
function verifyJwt(token: string, secret: string): Record<string, unknown> | "expired" | undefined {
    const parts = token.split(".");
    if (parts.length !== 3) return undefined;
    const header = parseJson<{ alg?: string }>(Buffer.from(parts[0], "base64url").toString("utf8"));
    if (header?.alg !== "HS256") return undefined;
    const mac = crypto.createHmac("sha256", secret).update(`${parts[0]}.${parts[1]}`).digest();
    const sig = Buffer.from(parts[2], "base64url");
    if (sig.length !== mac.length || !crypto.timingSafeEqual(sig, mac)) return undefined;
    const claims = parseJson<Record<string, unknown>>(Buffer.from(parts[1], "base64url").toString("utf8"));
    if (!claims || typeof claims !== "object") return undefined;
    if (typeof claims.exp === "number" && claims.exp * 1000 <= Date.now()) return "expired";
    return claims;
}

export async function startRpcServer(opts: RpcServerOptions): Promise<RpcServer> {
    const timeouts = { ...SUPABASE_STATEMENT_TIMEOUT_MS, ...opts.statementTimeoutMs };
    const pool = new Pool({
        connectionString: opts.connectionString,
        max: 20,
        // Without a timeout a failing connect could leave the HTTP request hanging; PostgREST answers instead.
        connectionTimeoutMillis: opts.connectTimeoutMs ?? 5000,
    });
    // An idle client losing its connection (the test's server stopping) is not a test failure.
    pool.on("error", () => undefined);
    const calls: { fn: string; args: Record<string, unknown> }[] = [];
    const state = { unavailable: false };

    const send = (res: http.ServerResponse, status: number, body: unknown, headers: http.OutgoingHttpHeaders = {}) => {
        if (body === undefined) {
            res.writeHead(status, headers);
            return res.end();
        }
        res.writeHead(status, { "content-type": "application/json; charset=utf-8", ...headers });
        res.end(typeof body === "string" ? body : JSON.stringify(body));
    };
    /** A PostgREST error: its body, plus `Proxy-Status` (PostgREST Error.hs `proxyStatusHeader`). */
    const fail = (res: http.ServerResponse, status: number, err: PgrstErrorBody, headers = {}) =>
        send(res, status, err, {
            "proxy-status": `PostgREST; error=${err.code}`,
            // Error.hs: every 401 of PgError carries `WWW-Authenticate: Bearer`.
            ...(status === 401 ? { "www-authenticate": "Bearer" } : {}),
            ...headers,
        });
    const pgrst = (code: string, message: string, details: string | null = null, hint: string | null = null) => ({
        code,
        message,
        details,
        hint,
    });

    const handle = async (req: http.IncomingMessage, res: http.ServerResponse) => {
        const url = new URL(req.url ?? "/", "http://localhost");
        const m = /^\/rest\/v1\/rpc\/([A-Za-z_][A-Za-z0-9_]*)$/.exec(url.pathname);
        if (!m) return fail(res, 404, pgrst("PGRST125", "Invalid path specified in request URL"));

        // Supabase's API gateway checks `apikey` before PostgREST sees the request and answers without a
        // `code` (nuxt-modules/supabase#195, supabase-community/supabase-csharp#108, mmvergara/supadart#185).
        const apikey = req.headers["apikey"] ?? url.searchParams.get("apikey") ?? undefined;
        if (apikey === undefined)
            return send(res, 401, {
                message: "No API key found in request",
                hint: "No `apikey` request header or url param was found.",
            });
        if (apikey !== opts.serviceRoleKey && apikey !== opts.anonKey)
            return send(res, 401, {
                message: "Invalid API key",
                hint: "Double check your Supabase `anon` or `service_role` API key.",
            });

        // PostgREST takes the role from `Authorization: Bearer <JWT>` (PostgREST src/PostgREST/Auth.hs) and
        // runs without one as db-anon-role (anon on Supabase). Keys stand for the JWTs here; a token that is
        // no key fails as PostgREST fails an undecodable JWT: 401 PGRST301 (Error.hs `JwtDecodeErr`).
        const bearer = /^Bearer\s+(.+)$/i.exec(req.headers["authorization"] ?? "")?.[1];
        const jwt =
            bearer !== undefined && opts.jwtSecret !== undefined ? verifyJwt(bearer, opts.jwtSecret) : undefined;
        if (jwt === "expired")
            return fail(res, 401, pgrst("PGRST303", "JWT expired"), {
                "www-authenticate": 'Bearer error="invalid_token", error_description="JWT expired"',
            });
        const role: string | undefined =
            bearer === undefined
                ? "anon"
                : bearer === opts.serviceRoleKey
                  ? "service_role"
                  : bearer === opts.anonKey
                    ? "anon"
                    : typeof jwt?.role === "string"
                      ? jwt.role
                      : undefined;
        if (!role)
            return fail(res, 401, pgrst("PGRST301", "No suitable key or wrong key type"), {
                "www-authenticate": 'Bearer error="invalid_token"',
            });

        // Only GET, HEAD and POST invoke a function (Error.hs `InvalidRpcMethod`: 405 PGRST101).
        if (req.method !== "POST" && req.method !== "GET" && req.method !== "HEAD")
            return fail(res, 405, pgrst("PGRST101", `Cannot use the ${req.method} method on RPC`));
        const chunks: Buffer[] = [];
        for await (const c of req) chunks.push(c as Buffer);
        let args: Record<string, unknown>;
        if (req.method === "POST") {
            // An empty body calls with no arguments; anything else must be JSON (ApiRequest/Payload.hs).
            const raw = Buffer.concat(chunks).toString("utf8");
            const parsed = raw === "" ? {} : parseJson<unknown>(raw);
            if (parsed === undefined) return fail(res, 400, pgrst("PGRST102", "Empty or invalid json"));
            if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
                return send(res, 501, { message: "the RPC stand-in does not model non-object bodies" });
            args = parsed as Record<string, unknown>;
        } else {
            // GET passes arguments in the query string, as text PostgreSQL casts to the parameter types.
            args = Object.fromEntries(url.searchParams);
        }
        const fn = m[1];
        calls.push({ fn, args });
        if (state.unavailable)
            return fail(res, 503, pgrst("PGRST000", "Database connection error. Retrying the connection."));

        let client: PoolClient;
        try {
            client = await pool.connect();
        } catch (e) {
            // Error.hs: ConnectionUsageError → 503 PGRST000, AcquisitionTimeoutUsageError → 504 PGRST003.
            const message = (e as Error).message;
            return /timeout/i.test(message)
                ? fail(res, 504, pgrst("PGRST003", "Timed out acquiring connection from connection pool."))
                : fail(res, 503, pgrst("PGRST000", "Database connection error. Retrying the connection.", message));
        }
        let broken: Error | undefined;
        try {
            const keys = new Set(Object.keys(args));
            const found = findProc(await loadRoutines(client, fn), keys);
            if ("none" in found) {
                // Error.hs `NoRpc`: the keys in the message are a set, so sorted.
                const sorted = [...keys].sort();
                const prms = sorted.length ? `(${sorted.join(", ")})` : " without parameters";
                const withPrms = sorted.length
                    ? ` with parameter${sorted.length > 1 ? "s" : ""} ${sorted.join(", ")}`
                    : " without parameters";
                const only = req.method === "POST" ? " or with a single unnamed json/jsonb parameter" : "";
                return fail(
                    res,
                    404,
                    pgrst(
                        "PGRST202",
                        `Could not find the function public.${fn}${prms} in the schema cache`,
                        `Searched for the function public.${fn}${withPrms}${only}, ` +
                            "but no matches were found in the schema cache.",
                    ),
                );
            }
            if ("ambiguous" in found)
                return fail(
                    res,
                    300,
                    pgrst(
                        "PGRST203",
                        `Could not choose the best candidate function between: ${found.ambiguous.map((r) => r.signature).join(", ")}`,
                        null,
                        "Try renaming the parameters or the function itself in the database " +
                            "so function overloading can be resolved",
                    ),
                );
            const proc = found.proc;
            // Plan.hs `callReadPlan`: GET, and POST to a STABLE or IMMUTABLE function, run read-only.
            const readOnly = req.method !== "POST" || proc.volatility !== "v";
            await client.query(readOnly ? "begin isolation level read committed read only" : "begin");
            // Query/PreQuery.hs: the role, its settings and the JWT claims, transaction-local.
            await client.query(
                "select set_config('role', $1, true), set_config('statement_timeout', $2, true), " +
                    "set_config('request.jwt.claims', $3, true), set_config('request.method', $4, true)",
                [
                    role,
                    // A custom role: its own setting (fs_runner sets 8s), here the authenticator's 8s.
                    String(timeouts[role as SupabaseRole] ?? 8000),
                    JSON.stringify(jwt ?? { role }),
                    req.method,
                ],
            );
            const sql = callSql(proc, fn, keys);
            const result = await client.query<{ body: string }>(sql, sql.includes("$1") ? [JSON.stringify(args)] : []);
            await client.query("commit");
            // Response.hs: a function returning void answers 204 with no body (CHANGELOG v10.0.0, #2001).
            if (proc.void) return send(res, 204, undefined);
            send(res, 200, req.method === "HEAD" ? "" : result.rows[0].body);
        } catch (e) {
            const err = e as { code?: string; message?: string; detail?: string; hint?: string };
            await client.query("rollback").catch(() => undefined);
            if (!err.code || !/^[0-9A-Z]{5}$/.test(err.code)) {
                // No SQLSTATE: the connection broke mid-call (Error.hs `ClientError`: 503 PGRST001).
                broken = e as Error;
                return fail(
                    res,
                    503,
                    pgrst("PGRST001", "Database client error. Retrying the connection.", err.message ?? null),
                );
            }
            const details = err.detail ?? null;
            if (err.code === "PGRST") {
                // Error.hs `parseRaisePGRST`: message and detail are JSON documents chosen by the function.
                const msg = parseJson<Partial<PgrstErrorBody>>(err.message);
                const det = parseJson<{ status?: number; headers?: Record<string, string> }>(details);
                if (msg && det && typeof det.status === "number")
                    return fail(
                        res,
                        det.status,
                        pgrst(msg.code ?? "", msg.message ?? "", msg.details ?? null, msg.hint ?? null),
                        det.headers ?? {},
                    );
            }
            fail(
                res,
                pgErrorStatus(err.code, err.message ?? "", role !== "anon", details),
                pgrst(err.code, err.message ?? "", details, err.hint ?? null),
            );
        } finally {
            client.release(broken);
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
