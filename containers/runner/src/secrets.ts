/**
 * The Supabase URL and key, read once at start from Secrets Manager with the job role and kept in this process's
 * memory only. The key is the runner's own (`RunnerKey`: fs_runner, its RPCs only) or, until an operator mints one,
 * the service-role key. The job definition passes the secrets' ARNs, never their values: a value Batch injects as an
 * environment variable sits in /proc/<pid>/environ of the runner and of every process it starts without a fresh
 * environment, where a page that breaks out of Chromium's renderer would look first (policy rule
 * `batch-runner-no-secret-env`, policy/THREAT_MODEL.md "Hostile sites").
 */
import { GetSecretValueCommand, type SecretsManagerClient } from "@aws-sdk/client-secrets-manager";

export const URL_SECRET_VAR = "SUPABASE_URL_SECRET_ARN";
export const KEY_SECRET_VAR = "SUPABASE_KEY_SECRET_ARN";
/** Where a developer running the job by hand may pass the values directly (never in Batch). */
export const URL_VAR = "SUPABASE_URL";
export const KEY_VAR = "SUPABASE_SERVICE_ROLE_KEY";

export interface SupabaseCredentials {
    readonly url: string;
    readonly key: string;
    /** "secrets-manager" in Batch; "environment" for a local run that passed the values. */
    readonly source: "secrets-manager" | "environment";
}

export class SecretsError extends Error {
    constructor(
        message: string,
        /** True when retrying the job may help (Secrets Manager unreachable or throttling). */
        readonly transient: boolean,
    ) {
        super(message);
        this.name = "SecretsError";
    }
}

const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+$/;

/**
 * The runner's own Supabase credential, as `npm run mint-runner-key` writes it (scripts/mintRunnerKey.ts): the
 * project's publishable (or legacy anon) key for the `apikey` header, and a JWT whose `role` claim is `fs_runner`, a
 * role that may execute the runner's RPCs and nothing else
 * (supabase/migrations/20261127000300_form_sender_runner_role.sql),
 * sent as `Authorization: Bearer`. Supabase's gateway wants a project API key in `apikey` and takes a minted JWT only
 * in `Authorization` (https://supabase.com/docs/guides/auth/signing-keys, "How to create (mint) JWTs").
 */
export interface RunnerKey {
    readonly apikey: string;
    readonly access_token: string;
}

/** The key as the Supabase client takes it: `apikey`, and the bearer token when it is not the key itself. */
export interface SupabaseKeyParts {
    readonly apikey: string;
    readonly accessToken?: string;
}

/**
 * Reads the key secret's value: a runner key (JSON `{"apikey", "access_token"}`) or a plain API key (the service-role
 * key, as before the runner had a role of its own). Errors name the fields, never a value.
 */
export function parseSupabaseKey(value: string): SupabaseKeyParts {
    const text = value.trim();
    if (!text.startsWith("{")) return { apikey: text };
    let parsed: unknown;
    try {
        parsed = JSON.parse(text);
    } catch {
        throw new SecretsError(
            "the Supabase key is neither an API key nor a runner key: it starts with { but is not JSON; " +
                "write it with npm run mint-runner-key",
            false,
        );
    }
    const o = (parsed ?? {}) as Partial<Record<keyof RunnerKey, unknown>>;
    const bad = (["apikey", "access_token"] as const).filter((k) => typeof o[k] !== "string" || !String(o[k]).trim());
    if (bad.length)
        throw new SecretsError(
            `the runner key must be JSON {"apikey": "<publishable or anon key>", "access_token": "<runner JWT>"}; ` +
                `${bad.join(" and ")} ${bad.length > 1 ? "are" : "is"} missing or empty; ` +
                "write it with npm run mint-runner-key",
            false,
        );
    return { apikey: String(o.apikey).trim(), accessToken: String(o.access_token).trim() };
}

/**
 * Reads the Supabase credentials: from Secrets Manager when the job definition names the secrets (always in Batch),
 * else from SUPABASE_URL / SUPABASE_SERVICE_ROLE_KEY for a local run. In Batch (`FORM_SENDER_ENV=aws_batch`) a key in
 * the environment is refused: it means a job definition injects it again. Error messages name variables and ARNs,
 * never a value.
 */
export async function loadSupabaseCredentials(
    env: NodeJS.ProcessEnv,
    client: () => Pick<SecretsManagerClient, "send">,
): Promise<SupabaseCredentials> {
    const inBatch = env.FORM_SENDER_ENV?.trim() === "aws_batch";
    if (inBatch && env[KEY_VAR] !== undefined) {
        throw new SecretsError(
            `${KEY_VAR} is set in the container's environment, where every process the runner starts could read ` +
                `it; the job definition must pass ${KEY_SECRET_VAR} (the secret's ARN) instead and no secret value`,
            false,
        );
    }
    const urlArn = env[URL_SECRET_VAR]?.trim();
    const keyArn = env[KEY_SECRET_VAR]?.trim();
    if (!urlArn && !keyArn && !inBatch) {
        const url = env[URL_VAR]?.trim();
        const key = env[KEY_VAR]?.trim();
        if (url && key) return { url, key, source: "environment" };
    }
    for (const [name, value] of [
        [URL_SECRET_VAR, urlArn],
        [KEY_SECRET_VAR, keyArn],
    ] as const) {
        if (!value) {
            throw new SecretsError(
                `${name} is not set; the job definition passes the ARN of the Secrets Manager secret ` +
                    `(/fs-runner/<env>/supabase/${name === URL_SECRET_VAR ? "url" : "key"})` +
                    (inBatch ? "" : `, or set ${URL_VAR} and ${KEY_VAR} for a local run`),
                false,
            );
        }
        if (!SECRET_ARN.test(value)) {
            throw new SecretsError(
                `${name} must be a Secrets Manager secret ARN (arn:aws:secretsmanager:<region>:<account>:secret:…), ` +
                    `got "${value}"`,
                false,
            );
        }
    }
    const sm = client();
    const read = async (name: string, arn: string): Promise<string> => {
        let out;
        try {
            out = await sm.send(new GetSecretValueCommand({ SecretId: arn }));
        } catch (err) {
            const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
            // ResourceNotFound, AccessDenied and the like will not heal on a retry; throttling and 5xx may.
            const transient =
                e.name === "ThrottlingException" ||
                e.name === "InternalServiceError" ||
                (e.$metadata?.httpStatusCode ?? 0) >= 500 ||
                e.$metadata?.httpStatusCode === undefined;
            throw new SecretsError(
                `GetSecretValue on ${name} (${arn}) failed: ${e.name ?? "Error"}: ${e.message ?? String(err)}; ` +
                    "check that the secret exists, has a value, and that the job role may read it",
                transient,
            );
        }
        const value = out.SecretString?.trim();
        if (!value) {
            throw new SecretsError(
                `the secret ${arn} (${name}) has no string value; put one with aws secretsmanager put-secret-value`,
                false,
            );
        }
        return value;
    };
    const [url, key] = await Promise.all([read(URL_SECRET_VAR, urlArn!), read(KEY_SECRET_VAR, keyArn!)]);
    try {
        parseSupabaseKey(key);
    } catch (err) {
        throw new SecretsError(`the secret ${keyArn} (${KEY_SECRET_VAR}): ${(err as Error).message}`, false);
    }
    return { url, key, source: "secrets-manager" };
}
