/**
 * Offline plan: `npm run plan -- --stack <stg|prd> [--json]`.
 * Validates Pulumi.<stack>.yaml against Pulumi.yaml as the Pulumi CLI does, runs the real program under Pulumi's
 * mock engine with the result — no credentials, no network — and prints each component's resources, the stack
 * outputs and the GAS properties.
 */
import { formatPlanText, formatWarnings, planStack } from "./lib/plan";
import { UnknownStackError } from "./lib/offlineEngine";
import { StackConfigError } from "./lib/stackConfig";
import { parseStackArgs } from "./lib/cliArgs";

async function main(): Promise<void> {
    const { stack, flags } = parseStackArgs("npm run plan -- --stack <stg|prd> [--json]", ["json"]);
    const json = flags.json;
    const plan = await planStack(stack);
    const { project, stack: name, resources, outputs } = plan;
    if (json) {
        // stdout stays one JSON document; the warnings go where a terminal or CI log shows them.
        process.stderr.write(formatWarnings(plan.warnings ?? []));
        process.stdout.write(JSON.stringify({ project, stack: name, resources, outputs }, null, 2) + "\n");
    } else process.stdout.write(formatPlanText(plan));
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
