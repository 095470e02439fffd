/**
 * Which failed Supabase RPC calls a retry can fix, decided from the HTTP status AND PostgREST's error
 * code, because PostgREST's statuses mix outages with bugs: a missing row (P0002) and a statement
 * timeout are 500 like a real fault, while a function-body bug (42703) is 400.
 *
 * Statuses and codes: PostgREST src/PostgREST/Error.hs@v14.12 `pgErrorStatus` (the version the Supabase
 * CLI runs; test/contracts/postgrest.test.ts pins each answer against the stand-in).
 */

/** PostgreSQL's "retry the transaction" classes, which PostgREST answers with 500. */
const RETRY_THE_TRANSACTION: ReadonlySet<string> = new Set([
    // serialization_failure and deadlock_detected: "applications using this level must be prepared to retry
    // transactions due to serialization failures" (postgresql.org/docs/current/transaction-iso.html,
    // postgresql.org/docs/current/mvcc-serialization-failure-handling.html); Error.hs: `'4':'0':_ -> 500`.
    "40001",
    "40P01",
]);

/**
 * True when calling again later can succeed:
 * - status 0: the request never got an answer (postgrest-js reports a fetch failure as status 0);
 * - 429: the gateway's rate limit;
 * - 503 and 504: PostgREST cannot reach the database or its pool (503 PGRST000/PGRST001/PGRST002, 08xxx,
 *   53xxx but 53400, 57P01; 504 PGRST003), or the gateway says the same;
 * - 502 and any other 5xx without a PostgREST `code`: the answer came from a proxy in front of PostgREST
 *   (an HTML error page; PostgREST itself never answers 502 and always sends a `code`);
 * - 500 with 40001/40P01: the transaction lost a race and may simply be run again.
 * Everything else is permanent: 4xx (P0001 refusals, keys and grants, unknown functions, conflicts) and
 * 500 with a code (P0002 missing row, other P0xxx, XX000, 57014 statement timeout, 53400).
 */
export function isRetryableRpcFailure(status: number, code: string | undefined): boolean {
    if (status === 0 || status === 429 || status === 503 || status === 504 || status === 502) return true;
    if (status >= 500 && !code) return true;
    return status === 500 && code !== undefined && RETRY_THE_TRANSACTION.has(code);
}
