/**
 * Contract of the Supabase stand-in (test/support/rpcServer.ts): what a Supabase project answers to
 * `POST /rest/v1/rpc/<fn>`, one row per behaviour, each naming where the answer comes from. The stand-in
 * must pass every row; new behaviour is added here first.
 *
 * Version: PostgREST v14.12, the image the Supabase CLI runs
 * (supabase/cli apps/cli-go/pkg/config/templates/Dockerfile@1d1e719). Sources in the rows:
 *   Error.hs  PostgREST src/PostgREST/Error.hs@v14.12 (`pgErrorStatus`, lines 598-651, and the error bodies)
 *   Plan.hs   PostgREST src/PostgREST/Plan.hs@v14.12 (`findProc` lines 237-281, `callReadPlan` txMode)
 *   SQL       PostgREST src/PostgREST/Query/QueryBuilder.hs `callPlanToQuery`, Query/SqlFragment.hs `asJsonF`
 *   Resp.hs   PostgREST src/PostgREST/Response.hs@v14.12 (`funcReturnsVoid` → 204; CHANGELOG v10.0.0 #2001)
 *   Auth.hs   PostgREST src/PostgREST/Auth.hs@v14.12 (role from `Authorization: Bearer`, anon without one)
 *   gateway   Supabase's API gateway in front of PostgREST: nuxt-modules/supabase#195,
 *             supabase-community/supabase-csharp#108 (wrong key), mmvergara/supadart#185 (no key)
 *   timeouts  supabase.com/docs/guides/database/postgres/timeouts (service_role: authenticator's 8 s)
 * Requests are sent as supabase-js sends them (`apikey` and `Authorization: Bearer <key>`, JSON body).
 */
import { strict as assert } from "assert";
import { RpcServer, startRpcServer } from "../support/rpcServer";
import { LocalSupabase, startSupabase } from "../support/supabase";

/** The fixture functions the rows call, beside the project's own (supabase/migrations). */
const FIXTURES = `
create table contract_items (id int primary key, parent int references contract_items (id), n int not null check (n >= 0));
grant select, insert, update, delete on contract_items to service_role;
insert into contract_items (id, n) values (1, 0);
create function contract_raise(p_code text) returns void language plpgsql as
  $$ begin raise exception 'raised %', p_code using errcode = p_code; end $$;
create function contract_pgrst_raise() returns void language plpgsql as $$ begin
  raise sqlstate 'PGRST' using message = '{"code":"123","message":"Payment Required","details":"d","hint":"h"}',
    detail = '{"status":402,"headers":{"X-Powered-By":"Nerd Rage"}}';
end $$;
create function contract_insert(p_id int, p_parent int default null, p_n int default 0) returns jsonb
  language sql as $$ insert into contract_items (id, parent, n) values (p_id, p_parent, p_n) returning to_jsonb(contract_items) $$;
create function contract_touch() returns void language plpgsql as $$ begin perform 1; end $$;
create function contract_volatile_write(p_id int) returns int language plpgsql as
  $$ begin insert into contract_items (id, n) values (p_id, 0); return p_id; end $$;
-- Declared STABLE but writes through a VOLATILE function (PL/pgSQL itself refuses direct DML in a STABLE body).
create function contract_stable_write(p_id int) returns int language sql stable as
  $$ select contract_volatile_write(p_id) $$;
create function contract_bug() returns jsonb language plpgsql as
  $$ begin return (select to_jsonb(x.no_such_column) from contract_items x limit 1); end $$;
create function contract_missing_table() returns bigint language plpgsql as
  $$ begin return (select count(*) from no_such_table); end $$;
create function contract_calls_missing() returns void language plpgsql as $$ begin perform no_such_function(); end $$;
create function contract_over(a int) returns int language sql as $$ select a $$;
create function contract_over(a int, b int default 0) returns int language sql as $$ select a + b $$;
create function contract_shape(p int) returns jsonb language sql as $$ select jsonb_build_object('one', p) $$;
create function contract_shape(p int, q boolean) returns table (p int, q boolean) language sql as $$ select p, q $$;
create function contract_row(p_id int) returns contract_items language sql as $$ select * from contract_items where id = p_id $$;
create function contract_series(p_n int) returns setof int language sql as $$ select generate_series(1, p_n) $$;
create function contract_nothing() returns jsonb language sql as $$ select null::jsonb $$;
create function contract_sum(p_ids bigint[]) returns bigint language sql as $$ select sum(x) from unnest(p_ids) x $$;
create function contract_echo(p_doc jsonb) returns jsonb language sql as $$ select p_doc $$;
create function contract_whole(jsonb) returns jsonb language sql as $$ select $1 $$;
create function contract_sleep(p_seconds float) returns void language sql as $$ select pg_sleep(p_seconds) $$;
create function contract_private() returns int language sql as $$ select 1 $$;
revoke all on function contract_private() from public, anon, authenticated, service_role;
`;

type Key = "service" | "anon" | "wrong" | "none";
/** Which stand-in answers: the normal one, one with a 100 ms service_role statement_timeout, one whose
 *  database is unreachable, one switched `unavailable`. */
type Stand = "normal" | "timeout100ms" | "deadDatabase" | "unavailable";

interface Row {
    readonly name: string;
    /** Where the expected answer comes from: a quoted rule or a link. */
    readonly source: string;
    readonly fn: string;
    /** JSON body (POST); a string is sent as it is. */
    readonly body?: unknown;
    readonly method?: "POST" | "GET" | "PUT";
    /** Query string for GET. */
    readonly query?: string;
    /** `apikey` header. @default "service" */
    readonly apikey?: Key;
    /** `Authorization: Bearer`; "none" sends no header, "bogus" a token that is no key. @default apikey */
    readonly bearer?: Key | "bogus";
    readonly stand?: Stand;
    readonly status: number;
    /** The body's `code`; null: the body has no `code` key. Omitted for success rows. */
    readonly code?: string | null;
    /** The whole parsed body, when the row pins it; `""` for an empty body. */
    readonly answer?: unknown;
    /** A pattern the error message must match. */
    readonly message?: RegExp;
}

const UNKNOWN_EXECUTION = "00000000-0000-4000-8000-000000000000";

const ROWS: readonly Row[] = [
    // ── Resolution: name plus the set of JSON keys ──
    {
        name: "a known function with its exact keys answers 200 with its value",
        source: "Plan.hs findProc: `(reqParams, []) -> argumentsKeys == S.fromList (ppName <$> reqParams)`",
        fn: "contract_shape",
        body: { p: 7 },
        status: 200,
        answer: { one: 7 },
    },
    {
        name: "an unknown function is 404 PGRST202",
        source: 'Error.hs: `status NoRpc{} = HTTP.status404`, `code NoRpc{} = "PGRST202"`',
        fn: "no_such_function",
        body: {},
        status: 404,
        code: "PGRST202",
        message: /^Could not find the function public\.no_such_function without parameters in the schema cache$/,
    },
    {
        name: "an extra key is 404 PGRST202, not PostgreSQL's 42883",
        source: "Plan.hs findProc: keys must equal the required parameters plus optional ones",
        fn: "contract_shape",
        body: { p: 1, extra: true },
        status: 404,
        code: "PGRST202",
        message: /^Could not find the function public\.contract_shape\(extra, p\) in the schema cache$/,
    },
    {
        name: "a missing required key is 404 PGRST202",
        source: "Plan.hs findProc",
        fn: "contract_insert",
        body: { p_n: 1 },
        status: 404,
        code: "PGRST202",
    },
    {
        name: "optional keys may be left out",
        source: "Plan.hs findProc: `(reqParams, optParams) -> argumentsKeys \\ optParams == reqParams`",
        fn: "contract_insert",
        body: { p_id: 10 },
        status: 200,
        answer: { id: 10, parent: null, n: 0 },
    },
    {
        name: "two overloads that both match are 300 PGRST203",
        source: 'Error.hs: `status AmbiguousRpc{} = HTTP.status300`, `code AmbiguousRpc{} = "PGRST203"`',
        fn: "contract_over",
        body: { a: 1 },
        status: 300,
        code: "PGRST203",
        message: /^Could not choose the best candidate function between: public\.contract_over\(a => integer/,
    },
    {
        name: "the overload matching the keys is called",
        source: "Plan.hs findProc: `([proc], _) -> Right proc`",
        fn: "contract_over",
        body: { a: 1, b: 2 },
        status: 200,
        answer: 3,
    },
    {
        name: "the return shape is the chosen overload's (setof → array of objects)",
        source: "SQL asJsonF: set → `json_agg(_postgrest_t)`",
        fn: "contract_shape",
        body: { p: 1, q: true },
        status: 200,
        answer: [{ p: 1, q: true }],
    },
    {
        name: "a single unnamed jsonb parameter takes the whole body",
        source: "Plan.hs findProc `hasSingleUnnamedParam` (MTApplicationJSON, jsonb)",
        fn: "contract_whole",
        body: { x: 1 },
        status: 200,
        answer: { x: 1 },
    },
    // ── Arguments and return shapes ──
    {
        name: "a JSON array becomes a PostgreSQL array",
        source: "SQL fromJsonBodyF: `json_to_record(...) AS _(p_ids bigint[])`",
        fn: "contract_sum",
        body: { p_ids: [1, 2, 3] },
        status: 200,
        answer: 6,
    },
    {
        name: "a JSON array stays JSON in a jsonb parameter",
        source: "SQL fromJsonBodyF: json_to_record with the declared type",
        fn: "contract_echo",
        body: { p_doc: [1, { a: 2 }] },
        status: 200,
        answer: [1, { a: 2 }],
    },
    {
        name: "a single composite is an object",
        source: "SQL asJsonF: `returnsSingleComposite → json_agg(_postgrest_t)->0`",
        fn: "contract_row",
        body: { p_id: 1 },
        status: 200,
        answer: { id: 1, parent: null, n: 0 },
    },
    {
        name: "a single composite that finds no row is an object of nulls",
        source: "SQL: `from public.f(...) pgrst_call` yields one all-null row",
        fn: "contract_row",
        body: { p_id: 999 },
        status: 200,
        answer: { id: null, parent: null, n: null },
    },
    {
        name: "setof scalar is an array of values",
        source: "SQL asJsonF: `returnsSetOfScalar → json_agg(pgrst_scalar)`",
        fn: "contract_series",
        body: { p_n: 3 },
        status: 200,
        answer: [1, 2, 3],
    },
    {
        name: "an empty set is []",
        source: "SQL asJsonF: `coalesce(..., '[]')`",
        fn: "contract_series",
        body: { p_n: 0 },
        status: 200,
        answer: [],
    },
    {
        name: "a scalar NULL is null",
        source: "SQL asJsonF: `coalesce(json_agg(pgrst_scalar)->0, 'null')`",
        fn: "contract_nothing",
        body: {},
        status: 200,
        answer: null,
    },
    {
        name: "a project function: get_job_execution of an unknown id is null",
        source: "SQL asJsonF (scalar jsonb)",
        fn: "get_job_execution",
        body: { p_execution_id: UNKNOWN_EXECUTION },
        status: 200,
        answer: null,
    },
    {
        name: "VOID is 204 with no body",
        source: "Resp.hs: `if Routine.funcReturnsVoid proc then (HTTP.status204, headers, mempty)`",
        fn: "contract_touch",
        body: {},
        status: 204,
        answer: "",
    },
    {
        name: "an empty body calls without arguments",
        source: "ApiRequest/Payload.hs: `if LBS.null reqBody && isProc then Right emptyObject`",
        fn: "contract_touch",
        body: "",
        status: 204,
        answer: "",
    },
    // ── Transactions ──
    {
        name: "a STABLE function that writes fails read-only: 405 25006",
        source: 'Plan.hs: `(Inv, Routine.Stable) -> SQL.Read`; Error.hs: `"25006" -> HTTP.status405`',
        fn: "contract_stable_write",
        body: { p_id: 20 },
        status: 405,
        code: "25006",
    },
    {
        name: "GET runs read-only, even a VOLATILE function",
        source: "Plan.hs: `(InvRead _, _) -> SQL.Read`",
        fn: "contract_volatile_write",
        method: "GET",
        query: "p_id=21",
        status: 405,
        code: "25006",
    },
    {
        name: "service_role's statement_timeout cancels a long call: 500 57014",
        source: "timeouts; Error.hs: `'5':'7':_ -> HTTP.status500`",
        fn: "contract_sleep",
        body: { p_seconds: 2 },
        stand: "timeout100ms",
        status: 500,
        code: "57014",
    },
    // ── SQLSTATE → HTTP status (Error.hs pgErrorStatus), raised for real where the project can meet it ──
    {
        name: "P0001 (RAISE's default) is 400",
        source: 'Error.hs: `"P0001" -> HTTP.status400 -- default code for "raise"`',
        fn: "contract_raise",
        body: { p_code: "P0001" },
        status: 400,
        code: "P0001",
    },
    {
        name: "P0002 from a project function (row not found) is 500",
        source: "Error.hs: `'P':'0':_ -> HTTP.status500 -- PL/pgSQL Error`",
        fn: "update_job_execution_status",
        body: { p_execution_id: UNKNOWN_EXECUTION, p_status: "failed" },
        status: 500,
        code: "P0002",
        message: /not found/,
    },
    {
        name: "P0003 is 500",
        source: "Error.hs: `'P':'0':_ -> HTTP.status500`",
        fn: "contract_raise",
        body: { p_code: "P0003" },
        status: 500,
        code: "P0003",
    },
    {
        name: "23505 unique_violation is 409",
        source: 'Error.hs: `"23505" -> HTTP.status409`',
        fn: "contract_insert",
        body: { p_id: 1 },
        status: 409,
        code: "23505",
    },
    {
        name: "23503 foreign_key_violation is 409",
        source: 'Error.hs: `"23503" -> HTTP.status409`',
        fn: "contract_insert",
        body: { p_id: 30, p_parent: 999 },
        status: 409,
        code: "23503",
    },
    {
        name: "23514 check_violation is 400 (the default)",
        source: "Error.hs: `_ -> HTTP.status400`",
        fn: "contract_insert",
        body: { p_id: 31, p_n: -1 },
        status: 400,
        code: "23514",
    },
    {
        name: "23502 not_null_violation is 400 (the default)",
        source: "Error.hs: `_ -> HTTP.status400`",
        fn: "contract_insert",
        body: { p_id: 32, p_n: null },
        status: 400,
        code: "23502",
    },
    {
        name: "42703 in a function body (a code bug) is 400 (the default)",
        source: "Error.hs: `_ -> HTTP.status400`",
        fn: "contract_bug",
        body: {},
        status: 400,
        code: "42703",
    },
    {
        name: "22P02 (a uuid argument that is no uuid) is 400",
        source: "Error.hs: `_ -> HTTP.status400`",
        fn: "get_job_execution",
        body: { p_execution_id: "nope" },
        status: 400,
        code: "22P02",
    },
    {
        name: "42883 raised inside a function is 404",
        source: 'Error.hs: `"42883" -> ... HTTP.status404 -- undefined function`',
        fn: "contract_calls_missing",
        body: {},
        status: 404,
        code: "42883",
    },
    {
        name: "42P01 is 404",
        source: 'Error.hs: `"42P01" -> HTTP.status404 -- undefined table`',
        fn: "contract_missing_table",
        body: {},
        status: 404,
        code: "42P01",
    },
    {
        name: "42501 for service_role is 403",
        source: 'Error.hs: `"42501" -> if authed then HTTP.status403 else HTTP.status401`',
        fn: "contract_private",
        body: {},
        status: 403,
        code: "42501",
    },
    {
        name: "42501 for anon is 401",
        source: 'Error.hs: `"42501" -> if authed then HTTP.status403 else HTTP.status401`',
        fn: "contract_private",
        body: {},
        apikey: "anon",
        status: 401,
        code: "42501",
    },
    {
        name: "40001 serialization_failure is 500",
        source: "Error.hs: `'4':'0':_ -> HTTP.status500 -- tx rollback`",
        fn: "contract_raise",
        body: { p_code: "40001" },
        status: 500,
        code: "40001",
    },
    {
        name: "40P01 deadlock_detected is 500",
        source: "Error.hs: `'4':'0':_ -> HTTP.status500`",
        fn: "contract_raise",
        body: { p_code: "40P01" },
        status: 500,
        code: "40P01",
    },
    {
        name: "08006 connection failure is 503",
        source: "Error.hs: `'0':'8':_ -> HTTP.status503`",
        fn: "contract_raise",
        body: { p_code: "08006" },
        status: 503,
        code: "08006",
    },
    {
        name: "53300 too_many_connections is 503",
        source: "Error.hs: `'5':'3':_ -> HTTP.status503`",
        fn: "contract_raise",
        body: { p_code: "53300" },
        status: 503,
        code: "53300",
    },
    {
        name: "53400 configuration_limit_exceeded is 500",
        source: 'Error.hs: `"53400" -> HTTP.status500`',
        fn: "contract_raise",
        body: { p_code: "53400" },
        status: 500,
        code: "53400",
    },
    {
        name: "57P01 admin_shutdown is 503",
        source: 'Error.hs: `"57P01" -> HTTP.status503`',
        fn: "contract_raise",
        body: { p_code: "57P01" },
        status: 503,
        code: "57P01",
    },
    {
        name: "XX000 internal_error is 500",
        source: "Error.hs: `'X':'X':_ -> HTTP.status500`",
        fn: "contract_raise",
        body: { p_code: "XX000" },
        status: 500,
        code: "XX000",
    },
    {
        name: "PT402 sets the status",
        source: "Error.hs: `'P':'T':n -> fromMaybe HTTP.status500 (HTTP.mkStatus <$> readMaybe n ...)`",
        fn: "contract_raise",
        body: { p_code: "PT402" },
        status: 402,
        code: "PT402",
    },
    {
        name: "RAISE SQLSTATE 'PGRST' chooses status and body",
        source: "Error.hs `parseRaisePGRST`; docs.postgrest.org errors, raise-errors-with-http-status-codes",
        fn: "contract_pgrst_raise",
        body: {},
        status: 402,
        answer: { code: "123", message: "Payment Required", details: "d", hint: "h" },
    },
    // ── Request errors ──
    {
        name: "a body that is not JSON is 400 PGRST102",
        source: 'ApiRequest/Payload.hs: `"Empty or invalid json"`; Error.hs: `code InvalidBody{} = "PGRST102"`',
        fn: "contract_touch",
        body: "{not json",
        status: 400,
        code: "PGRST102",
        message: /^Empty or invalid json$/,
    },
    {
        name: "PUT is 405 PGRST101",
        source: 'Error.hs: `status InvalidRpcMethod{} = HTTP.status405`, `code ... = "PGRST101"`',
        fn: "contract_touch",
        method: "PUT",
        body: {},
        status: 405,
        code: "PGRST101",
    },
    // ── Keys and roles ──
    {
        name: "a wrong apikey is the gateway's 401, with no code",
        source: 'gateway: `401 {"message":"Invalid API key","hint":...}`',
        fn: "contract_touch",
        body: {},
        apikey: "wrong",
        bearer: "service",
        status: 401,
        code: null,
        answer: { message: "Invalid API key", hint: "Double check your Supabase `anon` or `service_role` API key." },
    },
    {
        name: "no apikey is the gateway's 401, with no code",
        source: 'gateway: `{"message":"No API key found in request",...}`',
        fn: "contract_touch",
        body: {},
        apikey: "none",
        bearer: "service",
        status: 401,
        code: null,
        message: /^No API key found in request$/,
    },
    {
        name: "a bearer token that is no valid JWT is 401 PGRST301",
        source: 'Error.hs: `status JwtDecodeErr{} = HTTP.unauthorized401`, `code (JwtDecodeErr _) = "PGRST301"`',
        fn: "contract_touch",
        body: {},
        bearer: "bogus",
        status: 401,
        code: "PGRST301",
    },
    {
        name: "without Authorization the call runs as anon",
        source: "Auth.hs: no JWT → db-anon-role; Error.hs 42501 unauthenticated → 401",
        fn: "get_job_execution",
        body: { p_execution_id: UNKNOWN_EXECUTION },
        bearer: "none",
        status: 401,
        code: "42501",
    },
    // ── Database unavailable ──
    {
        name: "an unreachable database is 503 PGRST000",
        source: "Error.hs: `pgErrorStatus _ (SQL.ConnectionUsageError _) = HTTP.status503`, code PGRST000",
        fn: "contract_touch",
        body: {},
        stand: "deadDatabase",
        status: 503,
        code: "PGRST000",
    },
    {
        name: "the `unavailable` switch answers 503 PGRST000",
        source: "Error.hs: ConnectionUsageError → 503 PGRST000",
        fn: "contract_touch",
        body: {},
        stand: "unavailable",
        status: 503,
        code: "PGRST000",
        message: /^Database connection error\. Retrying the connection\.$/,
    },
];

describe("contract: Supabase RPC stand-in answers like PostgREST v14.12 behind Supabase's gateway", function () {
    this.timeout(120000);
    let sb: LocalSupabase;
    const stands = {} as Record<Stand, RpcServer>;

    before(async () => {
        sb = await startSupabase();
        await sb.db.query(FIXTURES);
        const connectionString = sb.connectionString;
        const keys = { serviceRoleKey: sb.serviceRoleKey, anonKey: sb.anonKey };
        stands.normal = sb.rpc;
        stands.timeout100ms = await startRpcServer({
            connectionString,
            ...keys,
            statementTimeoutMs: { service_role: 100 },
        });
        // Port 1 on loopback: nothing listens there, so every connect is refused at once.
        stands.deadDatabase = await startRpcServer({
            connectionString: "postgres://nobody:nothing@127.0.0.1:1/none",
            ...keys,
        });
        stands.unavailable = await startRpcServer({ connectionString, ...keys });
        stands.unavailable.unavailable = true;
    });
    after(async () => {
        for (const s of [stands.timeout100ms, stands.deadDatabase, stands.unavailable]) await s?.close();
        await sb?.stop();
    });

    for (const row of ROWS) {
        it(`${row.name} [${row.source}]`, async () => {
            const key = (k: Key | "bogus") =>
                ({ service: sb.serviceRoleKey, anon: sb.anonKey, wrong: "wrong-key", none: undefined, bogus: "x.y" })[
                    k
                ];
            const apikey = key(row.apikey ?? "service");
            const bearer = key(row.bearer ?? row.apikey ?? "service");
            const method = row.method ?? "POST";
            const url = `${stands[row.stand ?? "normal"].url}/rest/v1/rpc/${row.fn}${row.query ? `?${row.query}` : ""}`;
            const res = await fetch(url, {
                method,
                headers: {
                    "content-type": "application/json",
                    ...(apikey ? { apikey } : {}),
                    ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
                },
                body: method === "GET" ? undefined : typeof row.body === "string" ? row.body : JSON.stringify(row.body),
            });
            const text = await res.text();
            const parsed: unknown = text === "" ? "" : JSON.parse(text);
            assert.equal(res.status, row.status, text);
            if (row.answer !== undefined) assert.deepEqual(parsed, row.answer);
            if (row.code !== undefined) {
                const body = parsed as Record<string, unknown>;
                if (row.code === null) assert.ok(!("code" in body), `no code expected: ${text}`);
                else assert.equal(body.code, row.code, text);
                // PostgREST's error body always has these four keys (Error.hs `toJsonPgrstError`).
                if (row.code !== null)
                    assert.deepEqual(Object.keys(body).sort(), ["code", "details", "hint", "message"]);
            }
            if (row.message) assert.match(String((parsed as { message?: unknown }).message), row.message);
        });
    }
});
