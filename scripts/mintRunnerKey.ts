/**
 * `npm run -s mint-runner-key -- [--days <1-365>]` prints the form-sender runner's Supabase key: JSON
 * `{"apikey": "<publishable or anon key>", "access_token": "<JWT>"}`, where the JWT's `role` claim is `fs_runner`, the
 * database role that may execute the runner's RPCs and nothing else
 * (supabase/migrations/20261127000300_form_sender_runner_role.sql). Put it in the secret the job definition names:
 *
 *   SUPABASE_JWT_SECRET=… SUPABASE_PUBLISHABLE_KEY=sb_publishable_… npm run -s mint-runner-key -- --days 90 \
 *     | aws secretsmanager put-secret-value --region us-east-1 --secret-id /fs-runner/<env>/supabase/runner-key \
 *         --secret-string file:///dev/stdin
 *
 * Signing, from Supabase's documentation (https://supabase.com/docs/guides/auth/signing-keys, "How to create (mint)
 * JWTs if access to the private key or shared secret is not possible?"): Supabase's Data API accepts a JWT signed by
 * a key the project trusts, whose `role` names an existing Postgres role and whose `exp` lies in the future, in
 * `Authorization: Bearer`; the `apikey` header must still carry a publishable, secret or legacy anon/service_role key
 * ("Using your minted JWT is not possible in this header"). Keys to sign with:
 * - the legacy JWT secret (HS256), which is the only secret Supabase lets you read back, from the dashboard's JWT
 *   settings: SUPABASE_JWT_SECRET;
 * - or, on the JWT signing keys system, a private key you generated (`supabase gen signing-key --algorithm ES256`) and
 *   imported as a signing key, since Supabase's own keys cannot be extracted: SUPABASE_JWT_PRIVATE_KEY, the JWK JSON
 *   (its `kid` goes in the header, as the documentation requires).
 * The publishable key comes from SUPABASE_PUBLISHABLE_KEY (or the legacy SUPABASE_ANON_KEY); it is public by design
 * and grants only what the anon role may do. Secrets are read from the environment, never from the command line,
 * which `ps` shows to every user.
 *
 * Expiry: `--days`, default 90, at most 365. The JWT cannot be revoked on its own (only by rotating the signing key,
 * which also invalidates every other token it signed), so it is short enough to bound a leak: mint a new one and put
 * it in the secret before it expires (running jobs read the key once at start; a job started before the switch keeps
 * the old token until it ends, at most attemptDurationSeconds). An expired token makes every RPC fail with 401
 * PGRST303 "JWT expired".
 */
import * as crypto from "crypto";

/** The role the runner's JWT names. */
export const RUNNER_ROLE = "fs_runner";
export const DEFAULT_DAYS = 90;
export const MAX_DAYS = 365;

export class UsageError extends Error {
    override name = "UsageError";
}

/** How to sign: the legacy shared secret (HS256) or an imported EC P-256 private key (ES256) as a JWK. */
export type SigningKey = { readonly secret: string } | { readonly jwk: crypto.JsonWebKey & { kid?: string } };

const b64url = (v: object | Buffer) => (Buffer.isBuffer(v) ? v : Buffer.from(JSON.stringify(v))).toString("base64url");

/** A JWT `{ role, iat, exp }` signed with `key`; `now` in milliseconds. */
export function mintRunnerJwt(key: SigningKey, days: number, now = Date.now(), role = RUNNER_ROLE): string {
    const iat = Math.floor(now / 1000);
    const payload = { role, iat, exp: iat + days * 86400 };
    if ("secret" in key) {
        const head = `${b64url({ alg: "HS256", typ: "JWT" })}.${b64url(payload)}`;
        return `${head}.${b64url(crypto.createHmac("sha256", key.secret).update(head).digest())}`;
    }
    if (key.jwk.kty !== "EC" || key.jwk.crv !== "P-256" || !key.jwk.kid)
        throw new UsageError(
            "SUPABASE_JWT_PRIVATE_KEY must be an EC P-256 private JWK with a kid " +
                "(supabase gen signing-key --algorithm ES256), " +
                `got kty ${String(key.jwk.kty)}, crv ${String(key.jwk.crv)}, kid ${String(key.jwk.kid)}`,
        );
    const head = `${b64url({ alg: "ES256", kid: key.jwk.kid, typ: "JWT" })}.${b64url(payload)}`;
    const sig = crypto.sign("sha256", Buffer.from(head), {
        key: crypto.createPrivateKey({ key: key.jwk, format: "jwk" }),
        dsaEncoding: "ieee-p1363",
    });
    return `${head}.${b64url(sig)}`;
}

/** Parses `--days`; a bad value names the option, the value and the range. */
export function parseDays(argv: readonly string[]): number {
    const at = argv.indexOf("--days");
    if (at === -1) return DEFAULT_DAYS;
    const raw = argv[at + 1];
    const days = Number(raw);
    if (!Number.isInteger(days) || days < 1 || days > MAX_DAYS)
        throw new UsageError(`--days must be a whole number from 1 to ${MAX_DAYS}, got ${JSON.stringify(raw)}`);
    return days;
}

/** The signing key and publishable key from the environment; a missing one names the variable and where to find it. */
export function keysFromEnv(env: NodeJS.ProcessEnv): { signing: SigningKey; apikey: string } {
    const apikey = (env.SUPABASE_PUBLISHABLE_KEY ?? env.SUPABASE_ANON_KEY)?.trim();
    if (!apikey)
        throw new UsageError(
            "SUPABASE_PUBLISHABLE_KEY (or SUPABASE_ANON_KEY) is not set: copy the publishable key from the " +
                "dashboard, Settings > API Keys (never a secret or service_role key: the runner must not hold one)",
        );
    if (apikey.startsWith("sb_secret_"))
        throw new UsageError("SUPABASE_PUBLISHABLE_KEY holds a secret key (sb_secret_…); use the publishable key");
    const secret = env.SUPABASE_JWT_SECRET?.trim();
    const jwk = env.SUPABASE_JWT_PRIVATE_KEY?.trim();
    if (secret && jwk) throw new UsageError("set SUPABASE_JWT_SECRET or SUPABASE_JWT_PRIVATE_KEY, not both");
    if (secret) return { signing: { secret }, apikey };
    if (jwk) {
        try {
            return { signing: { jwk: JSON.parse(jwk) as crypto.JsonWebKey & { kid?: string } }, apikey };
        } catch {
            throw new UsageError("SUPABASE_JWT_PRIVATE_KEY must be the private key's JWK JSON");
        }
    }
    throw new UsageError(
        "set SUPABASE_JWT_SECRET (the legacy JWT secret, dashboard Settings > JWT Keys) or SUPABASE_JWT_PRIVATE_KEY " +
            "(the JWK of a private key you imported as a signing key)",
    );
}

/** The runner key JSON, and when its token expires. */
export function runnerKey(env: NodeJS.ProcessEnv, argv: readonly string[], now = Date.now()) {
    const days = parseDays(argv);
    const { signing, apikey } = keysFromEnv(env);
    const token = mintRunnerJwt(signing, days, now);
    return {
        json: JSON.stringify({ apikey, access_token: token }),
        expires: new Date(Math.floor(now / 1000) * 1000 + days * 86400_000).toISOString(),
    };
}

if (require.main === module) {
    try {
        const { json, expires } = runnerKey(process.env, process.argv.slice(2));
        process.stdout.write(`${json}\n`);
        process.stderr.write(`runner key for role ${RUNNER_ROLE}, expires ${expires}\n`);
    } catch (err) {
        process.stderr.write(`mint-runner-key: ${(err as Error).message}\n`);
        process.exit(err instanceof UsageError ? 2 : 1);
    }
}
