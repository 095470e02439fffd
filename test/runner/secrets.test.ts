/**
 * The runner's Supabase credentials (containers/runner/src/secrets.ts): read by ARN through the real AWS SDK client
 * from a loopback Secrets Manager, refused when a job definition injects the key again, and every failure named by
 * variable and ARN, never by value.
 */
import * as assert from "assert";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { loadSupabaseCredentials, SecretsError } from "../../containers/runner/src/secrets";
import { startSecretsManager, type SecretsManagerServer } from "../support/secretsManagerServer";

const ARN = (what: string) =>
    `arn:aws:secretsmanager:us-east-1:123456789012:secret:/fs-runner/test/supabase/${what}-AbCdEf`;
const KEY = "sb_secret_runner-test-key-0123456789";
const URL_VALUE = "https://abcdefghijklmnop.supabase.co";

describe("runner Supabase credentials from Secrets Manager", () => {
    let sm: SecretsManagerServer;
    before(async () => {
        sm = await startSecretsManager({ [ARN("url")]: URL_VALUE, [ARN("key")]: KEY, [ARN("empty")]: "" });
    });
    after(() => sm?.close());

    const client = () =>
        new SecretsManagerClient({
            endpoint: sm.endpoint,
            region: "us-east-1",
            credentials: { accessKeyId: "test", secretAccessKey: "test" },
            maxAttempts: 1,
        });
    const batch = (extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv => ({
        FORM_SENDER_ENV: "aws_batch",
        SUPABASE_URL_SECRET_ARN: ARN("url"),
        SUPABASE_KEY_SECRET_ARN: ARN("key"),
        ...extra,
    });
    /** Rejects with a SecretsError whose message is exactly `message` and never contains the key. */
    const rejectsWith = (env: NodeJS.ProcessEnv, message: string, transient = false) =>
        assert.rejects(loadSupabaseCredentials(env, client), (err: Error) => {
            assert.ok(err instanceof SecretsError, String(err));
            assert.equal(err.message, message);
            assert.equal(err.transient, transient);
            assert.ok(!err.message.includes(KEY));
            return true;
        });

    it("reads the URL and the key by ARN in Batch", async () => {
        const before = sm.requests.length;
        assert.deepEqual(await loadSupabaseCredentials(batch(), client), {
            url: URL_VALUE,
            key: KEY,
            source: "secrets-manager",
        });
        assert.deepEqual(sm.requests.slice(before).sort(), [ARN("key"), ARN("url")]);
    });

    it("refuses a key injected into the container's environment in Batch", () =>
        rejectsWith(
            batch({ SUPABASE_SERVICE_ROLE_KEY: KEY }),
            "SUPABASE_SERVICE_ROLE_KEY is set in the container's environment, where every process the runner starts " +
                "could read it; the job definition must pass SUPABASE_KEY_SECRET_ARN (the secret's ARN) instead and " +
                "no secret value",
        ));

    it("names the missing ARN variable and what to set", () =>
        rejectsWith(
            batch({ SUPABASE_KEY_SECRET_ARN: undefined }),
            "SUPABASE_KEY_SECRET_ARN is not set; the job definition passes the ARN of the Secrets Manager secret " +
                "(/fs-runner/<env>/supabase/key)",
        ));

    it("rejects a value that is not a secret ARN, naming variable and value", () =>
        rejectsWith(
            batch({ SUPABASE_URL_SECRET_ARN: "/fs-runner/test/supabase/url" }),
            "SUPABASE_URL_SECRET_ARN must be a Secrets Manager secret ARN " +
                '(arn:aws:secretsmanager:<region>:<account>:secret:…), got "/fs-runner/test/supabase/url"',
        ));

    it("says which secret Secrets Manager does not know, and that a retry will not help", () =>
        rejectsWith(
            batch({ SUPABASE_KEY_SECRET_ARN: ARN("gone") }),
            `GetSecretValue on SUPABASE_KEY_SECRET_ARN (${ARN("gone")}) failed: ResourceNotFoundException: ` +
                "Secrets Manager can't find the specified secret.; check that the secret exists, has a value, and " +
                "that the job role may read it",
        ));

    it("refuses an empty secret", () =>
        rejectsWith(
            batch({ SUPABASE_KEY_SECRET_ARN: ARN("empty") }),
            `the secret ${ARN("empty")} (SUPABASE_KEY_SECRET_ARN) has no string value; put one with aws ` +
                "secretsmanager put-secret-value",
        ));

    it("takes SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY for a local run without secret ARNs", async () => {
        const before = sm.requests.length;
        assert.deepEqual(
            await loadSupabaseCredentials({ SUPABASE_URL: URL_VALUE, SUPABASE_SERVICE_ROLE_KEY: KEY }, client),
            { url: URL_VALUE, key: KEY, source: "environment" },
        );
        assert.equal(sm.requests.length, before);
    });
});
