/**
 * Container entry point (CMD of containers/runner/Dockerfile): reads the Supabase credentials from Secrets Manager
 * (secrets.ts), then wires the real AWS SDK, fetch, Chromium and process signals into runJob and exits with its status.
 */
import { S3Client } from "@aws-sdk/client-s3";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { makeSanitizer } from "../../../functions/formSender/sanitize";
import { launchBrowser } from "./browser";
import { EXIT, runJob } from "./job";
import { makeLogger } from "./log";
import { KEY_VAR, loadSupabaseCredentials, SecretsError, URL_VAR, type SupabaseCredentials } from "./secrets";

function makeS3(env: NodeJS.ProcessEnv): S3Client {
    // A custom endpoint (tests, LocalStack-style setups) needs path-style addressing.
    const endpoint = env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL;
    return new S3Client(endpoint ? { endpoint, forcePathStyle: true } : {});
}

const write = (line: string) => process.stdout.write(`${line}\n`);
/** Kept for the crash handler's sanitizer; never logged. */
let credentials: SupabaseCredentials | undefined;

async function main(): Promise<number> {
    try {
        // The SDK picks AWS_ENDPOINT_URL_SECRETS_MANAGER / AWS_ENDPOINT_URL up itself (tests point it at a stand-in).
        credentials = await loadSupabaseCredentials(process.env, () => new SecretsManagerClient({}));
    } catch (err) {
        makeLogger(write).error("could not read the Supabase credentials", { error: (err as Error).message });
        return err instanceof SecretsError && err.transient ? EXIT.SUPABASE_UNAVAILABLE : EXIT.BAD_SETTINGS;
    }
    // A local run may have passed the values as variables: drop them, so no process started from here inherits them.
    delete process.env[URL_VAR];
    delete process.env[KEY_VAR];
    const log = makeLogger(write, {}, { secrets: [credentials.url, credentials.key] });
    log.info("Supabase credentials read", { source: credentials.source });
    return runJob({
        // runJob reads its settings from this object, which lives in this process's memory only (not process.env,
        // which child processes inherit and /proc/<pid>/environ shows).
        env: { ...process.env, [URL_VAR]: credentials.url, [KEY_VAR]: credentials.key },
        write,
        s3: makeS3(process.env),
        fetch: globalThis.fetch,
        launchBrowser: () =>
            launchBrowser(process.env, (policy, status) =>
                log[status.layer1 === "None" ? "warn" : "info"]("Chromium sandbox", {
                    sandbox: policy.sandbox ? "on" : "off",
                    reason: policy.reason,
                    layer1: status.layer1,
                    pid_namespace: status.pidNamespace,
                    network_namespace: status.networkNamespace,
                    seccomp_bpf: status.seccompBpf,
                    renderers: status.renderers,
                }),
            ),
        onSigterm: (handler) => {
            process.on("SIGTERM", handler);
            process.on("SIGINT", handler);
        },
    });
}

main().then(
    (code) => {
        // Let stdout drain before exiting so the last log lines reach CloudWatch.
        process.stdout.write("", () => process.exit(code));
    },
    (err) => {
        // Even a crash report goes through the sanitizer: a stack can quote URLs and keys.
        const sanitize = makeSanitizer({
            secrets: [credentials?.url, credentials?.key, process.env[URL_VAR], process.env[KEY_VAR]],
        });
        process.stderr.write(`${sanitize(`runner crashed: ${(err as Error).stack ?? String(err)}`)}\n`);
        process.exit(1);
    },
);
