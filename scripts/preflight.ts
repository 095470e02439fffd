/**
 * Preflight: `npm run preflight -- --stack <stg|prd> [--json] [--check-secret-keys] [--skip-tooling]`.
 * Read-only checks of the AWS account (quotas, service-linked roles, certificate, secrets, the sync network) and
 * of this machine's tooling, before `pulumi up`. Exit 1 when any check fails.
 */
import { exitCodeOf, formatReport, runPreflight } from "./lib/preflight";
import { UnknownStackError } from "./lib/offlineEngine";
import { StackConfigError } from "./lib/stackConfig";
import { parseStackArgs } from "./lib/cliArgs";

/** The whole run stops here at the latest (each call has its own shorter timeout). */
const RUN_DEADLINE_MS = 60_000;

async function main(): Promise<void> {
    const { stack, flags } = parseStackArgs(
        "npm run preflight -- --stack <stg|prd> [--json] [--check-secret-keys] [--skip-tooling]",
        ["json", "check-secret-keys", "skip-tooling"],
    );
    const json = flags.json;
    const checkSecretKeys = flags["check-secret-keys"];
    const skipTooling = flags["skip-tooling"];
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
