/**
 * Preflight: `npm run preflight -- --stack <stg|prd> [--json] [--check-secret-keys] [--skip-tooling]`.
 * Read-only checks of the AWS account (quotas, service-linked roles, certificate, secrets, the sync network) and
 * of this machine's tooling, before `pulumi up`. Exit 1 when any check fails.
 */
import { exitCodeOf, formatReport, runPreflight } from "./lib/preflight";
import { UnknownStackError } from "./lib/offlineEngine";
import { StackConfigError } from "./lib/stackConfig";

/** The whole run stops here at the latest (each call has its own shorter timeout). */
const RUN_DEADLINE_MS = 60_000;

function usage(): never {
    console.error("usage: npm run preflight -- --stack <stg|prd> [--json] [--check-secret-keys] [--skip-tooling]");
    process.exit(2);
}

async function main(): Promise<void> {
    const args = process.argv.slice(2);
    let stack: string | undefined;
    let json = false;
    let checkSecretKeys = false;
    let skipTooling = false;
    for (let i = 0; i < args.length; i++) {
        if (args[i] === "--stack") stack = args[++i];
        else if (args[i].startsWith("--stack=")) stack = args[i].slice("--stack=".length);
        else if (args[i] === "--json") json = true;
        else if (args[i] === "--check-secret-keys") checkSecretKeys = true;
        else if (args[i] === "--skip-tooling") skipTooling = true;
        else {
            console.error(`unknown argument ${JSON.stringify(args[i])}`);
            usage();
        }
    }
    if (!stack) usage();
    const deadline = setTimeout(() => {
        console.error(
            `preflight did not finish within ${RUN_DEADLINE_MS / 1000} s; an AWS endpoint or a local tool hangs`,
        );
        process.exit(1);
    }, RUN_DEADLINE_MS);
    deadline.unref();
    const report = await runPreflight({ stack, checkSecretKeys, skipTooling });
    process.stdout.write(json ? JSON.stringify(report, null, 2) + "\n" : formatReport(report));
    process.exitCode = exitCodeOf(report);
}

/** Errors that are the operator's to fix: their message says how, a stack trace would only hide it. */
const isKnown = (err: unknown): err is Error =>
    err instanceof UnknownStackError ||
    err instanceof StackConfigError ||
    (err instanceof Error && err.name === "ConfigError");

main().catch((err: unknown) => {
    console.error(isKnown(err) ? err.message : err);
    process.exit(1);
});
