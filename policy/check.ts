/**
 * Offline policy check: `npm run policy -- --stack <stg|prd>` plans the stack on the mock engine
 * (no credentials) and runs every rule of the pack over it; `--plan <file>` checks a saved
 * `npm run plan -- --json` document instead. Exit codes: 0 no mandatory violation, 1 mandatory
 * violations (listed), 2 usage or planning error.
 *
 * Not part of the CrossGuard pack (policy/index.ts never imports it).
 */
import * as fs from "fs";
import { formatViolations } from "./lib/rule";
import { PlanResource } from "./lib/resource";
import { checkPlan, RULES } from "./rules";

function usage(message?: string): never {
    if (message) console.error(message);
    console.error("usage: npm run policy -- (--stack <stg|prd> | --plan <plan.json>) [--json]");
    process.exit(2);
}

async function resourcesFor(
    stack: string | undefined,
    planFile: string | undefined,
): Promise<{ label: string; resources: PlanResource[] }> {
    if (planFile) {
        const doc = JSON.parse(fs.readFileSync(planFile, "utf8")) as { stack?: string; resources?: PlanResource[] };
        if (!Array.isArray(doc.resources))
            usage(
                `${planFile}: not an offline plan (no "resources" array); ` +
                    "create one with npm run plan -- --stack <stack> --json",
            );
        return { label: `plan file ${planFile} (stack ${doc.stack ?? "?"})`, resources: doc.resources };
    }
    // Loaded lazily: checking a saved plan needs neither the program nor the mock engine.
    const { planStack } = await import("../scripts/lib/plan");
    const run = await planStack(stack!);
    return { label: `stack ${stack} (offline plan)`, resources: run.resources };
}

async function main(): Promise<void> {
    const args = process.argv.slice(2);
    let stack: string | undefined;
    let planFile: string | undefined;
    let json = false;
    for (let i = 0; i < args.length; i++) {
        if (args[i] === "--stack") stack = args[++i];
        else if (args[i] === "--plan") planFile = args[++i];
        else if (args[i] === "--json") json = true;
        else usage(`unknown argument ${JSON.stringify(args[i])}`);
    }
    if ((stack === undefined) === (planFile === undefined)) usage("give exactly one of --stack and --plan");

    const { label, resources } = await resourcesFor(stack, planFile);
    const violations = checkPlan(resources);
    const mandatory = violations.filter((v) => v.enforcementLevel === "mandatory");
    if (json) {
        process.stdout.write(JSON.stringify({ target: label, rules: RULES.length, violations }, null, 2) + "\n");
    } else {
        console.log(`Policy check of ${label}: ${RULES.length} rules, ${resources.length} resources`);
        console.log(`${mandatory.length} mandatory, ${violations.length - mandatory.length} advisory violation(s)`);
        if (violations.length) console.log(formatViolations(violations));
    }
    process.exit(mandatory.length ? 1 : 0);
}

main().catch((err: unknown) => {
    console.error(
        err instanceof Error && (err.name === "ConfigError" || err.constructor.name === "UnknownStackError")
            ? err.message
            : err,
    );
    process.exit(2);
});
