/**
 * `npm run fs -- <command> --stack <stg|prd>`: operate the form sender from a terminal with your own AWS
 * credentials (the usual chain: environment, profile, SSO). The API URL and region come from the stack's
 * outputs (`pulumi stack output --json`), so it needs the Pulumi CLI and a login. Commands: see USAGE in
 * scripts/lib/fs/commands.ts or run it without arguments.
 */
import { execFileSync } from "child_process";
import { BatchClient } from "@aws-sdk/client-batch";
import { fromNodeProviderChain } from "@aws-sdk/credential-providers";
import { runFs, UsageError, USAGE } from "./lib/fs/commands";

async function main(): Promise<number> {
    const argv = process.argv.slice(2);
    if (argv.length === 0) {
        console.error(USAGE);
        return 2;
    }
    try {
        return await runFs(argv, {
            stackOutputs: (stack) => {
                let text: string;
                try {
                    text = execFileSync("pulumi", ["stack", "output", "--json", "--stack", stack], {
                        encoding: "utf8",
                        stdio: ["ignore", "pipe", "inherit"],
                    });
                } catch (e) {
                    throw new Error(
                        `could not read the outputs of stack '${stack}' (${(e as Error).message.split("\n")[0]}); ` +
                            "install the Pulumi CLI and run pulumi login",
                        { cause: e },
                    );
                }
                return Promise.resolve(JSON.parse(text) as Record<string, unknown>);
            },
            credentials: () => fromNodeProviderChain()(),
            // AWS_ENDPOINT_URL_CLOUDWATCH_LOGS / AWS_ENDPOINT_URL as the SDKs read them
            // (https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html).
            logsEndpoint: (region) =>
                process.env.AWS_ENDPOINT_URL_CLOUDWATCH_LOGS ??
                process.env.AWS_ENDPOINT_URL ??
                `https://logs.${region}.amazonaws.com/`,
            batch: (region) => new BatchClient({ region }),
            write: (line) => process.stdout.write(`${line}\n`),
        });
    } catch (e) {
        console.error((e as Error).message);
        return e instanceof UsageError ? 2 : 1;
    }
}

if (require.main === module) void main().then((code) => process.exit(code));
