/**
 * What a failed Supabase RPC means for the form-sender Lambdas, decided from the HTTP status AND
 * PostgREST's error code: PostgREST answers a missing row (P0002) and a statement timeout with 500 like a
 * real fault, and a function-body bug (42703) with 400 (PostgREST src/PostgREST/Error.hs@v14.12
 * `pgErrorStatus`, the version the Supabase CLI runs; test/contracts/postgrest.test.ts pins each answer).
 * The runner applies the same retry rule (containers/runner/src/rpcFailure.ts; a test keeps them equal).
 */

/** How the API should answer a failed RPC. */
export type RpcFailureKind =
    /** The database, its pool, the network or a race: calling again later can succeed. */
    | "unavailable"
    /** The row the call names does not exist (RAISE ... USING ERRCODE = 'P0002'). */
    | "not_found"
    /** The call conflicts with the row's state: a RAISEd refusal (P0001), 23505, 23503. */
    | "conflict"
    /** A key, a grant, a function signature or a function body is wrong: a bug or a misconfiguration. */
    | "fault";

/** PostgreSQL's "retry the transaction" codes (postgresql.org/docs/current/mvcc-serialization-failure-handling.html). */
const RETRY_THE_TRANSACTION: ReadonlySet<string> = new Set(["40001", "40P01"]);

/**
 * True when calling again later can succeed: no answer (postgrest-js reports status 0), 429, 502-504
 * (PostgREST's 503 PGRST000/PGRST001/PGRST002, 08xxx, 53xxx, 57P01 and 504 PGRST003, or a proxy's), any
 * 5xx without a PostgREST `code` (a proxy's HTML page: PostgREST always sends a code), and the 500s of
 * serialization failures and deadlocks.
 */
export function isRetryableRpcFailure(status: number, code: string | undefined): boolean {
    if (status === 0 || status === 429 || status === 502 || status === 503 || status === 504) return true;
    if (status >= 500 && !code) return true;
    return status === 500 && code !== undefined && RETRY_THE_TRANSACTION.has(code);
}

export function classifyRpcFailure(status: number, code: string | undefined): RpcFailureKind {
    if (isRetryableRpcFailure(status, code)) return "unavailable";
    if (code === "P0002") return "not_found"; // Error.hs: `'P':'0':_ -> HTTP.status500`
    if (code === "P0001" || code === "23505" || code === "23503") return "conflict"; // 400, 409, 409
    return "fault";
}
