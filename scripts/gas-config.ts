/**
 * `npm run gas-config -- --stack <name>`: prints the connection Script Properties of a deployed stack
 * (API URL, region, the GAS access key, bucket, environment) as JSON ready to paste (Apps Script editor →
 * Project Settings → Script Properties). Reads the live stack with
 * `pulumi stack output --json --show-secrets`, so it needs the Pulumi CLI and a login.
 *
 * It never prints the routing switch USE_AWS_BATCH: pasting the connection must not move every
 * targeting to AWS Batch at once. Routing is per targeting (the useAwsBatch column, README "Piloting a
 * few targetings"); USE_AWS_BATCH is set by hand once the pilot is over.
 */
import { execFileSync } from "child_process";

/** The Script Properties map from `pulumi stack output --json` text; throws naming what is missing. */
export function gasPropertiesFromOutputs(outputsJson: string, stack: string): Record<string, string> {
    const outputs = JSON.parse(outputsJson) as Record<string, unknown>;
    const props = outputs.gasScriptProperties as Record<string, unknown> | undefined;
    if (!props || typeof props !== "object") {
        throw new Error(`stack '${stack}' has no gasScriptProperties output; run pulumi up for it first`);
    }
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(props)) {
        if (typeof v !== "string" || v === "" || v === "[secret]") {
            throw new Error(
                `gasScriptProperties.${k} of stack '${stack}' is ${JSON.stringify(v)}; ` +
                    "secrets must be shown (--show-secrets) and every value set",
            );
        }
        out[k] = v;
    }
    return out;
}

/** Script Properties that decide routing: set by the operator, never by gas-config. */
export const ROUTING_PROPERTIES: readonly string[] = ["USE_AWS_BATCH"];

/** The connection properties only: gasPropertiesFromOutputs without the routing switch. */
export function connectionProperties(outputsJson: string, stack: string): Record<string, string> {
    return Object.fromEntries(
        Object.entries(gasPropertiesFromOutputs(outputsJson, stack)).filter(([k]) => !ROUTING_PROPERTIES.includes(k)),
    );
}

function main(): void {
    const args = process.argv.slice(2);
    const i = args.indexOf("--stack");
    const stack = i >= 0 ? args[i + 1] : undefined;
    if (!stack) {
        console.error("usage: npm run gas-config -- --stack <stg|prd>");
        process.exit(2);
    }
    let text: string;
    try {
        text = execFileSync("pulumi", ["stack", "output", "--json", "--show-secrets", "--stack", stack], {
            encoding: "utf8",
            stdio: ["ignore", "pipe", "inherit"],
        });
    } catch (e) {
        console.error(
            `could not read the outputs of stack '${stack}' (${(e as Error).message.split("\n")[0]}); ` +
                "install the Pulumi CLI and run pulumi login",
        );
        process.exit(1);
    }
    try {
        process.stdout.write(JSON.stringify(connectionProperties(text, stack), null, 2) + "\n");
        console.error(
            "USE_AWS_BATCH is not printed: routing stays per targeting (useAwsBatch column); " +
                "see README 'Piloting a few targetings'",
        );
    } catch (e) {
        console.error((e as Error).message);
        process.exit(1);
    }
}

if (require.main === module) main();
