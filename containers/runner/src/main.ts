/**
 * Container entry point (CMD of containers/runner/Dockerfile): wires the real AWS SDK, fetch,
 * Chromium and process signals into runJob and exits with its status.
 */
import { S3Client } from "@aws-sdk/client-s3";
import { makeSanitizer } from "../../../functions/formSender/sanitize";
import { launchBrowser } from "./browser";
import { runJob } from "./job";

function makeS3(env: NodeJS.ProcessEnv): S3Client {
    // A custom endpoint (tests, LocalStack-style setups) needs path-style addressing.
    const endpoint = env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL;
    return new S3Client(endpoint ? { endpoint, forcePathStyle: true } : {});
}

async function main(): Promise<number> {
    return runJob({
        env: process.env,
        write: (line) => process.stdout.write(`${line}\n`),
        s3: makeS3(process.env),
        fetch: globalThis.fetch,
        launchBrowser: () => launchBrowser(process.env),
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
        const sanitize = makeSanitizer({ secrets: [process.env.SUPABASE_URL, process.env.SUPABASE_SERVICE_ROLE_KEY] });
        process.stderr.write(`${sanitize(`runner crashed: ${(err as Error).stack ?? String(err)}`)}\n`);
        process.exit(1);
    },
);
