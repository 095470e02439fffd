/**
 * One form from the command line:
 *   npm run --silent runner:fill -- --url <url> --config <client_config.json> [--dry-run]
 * prints exactly one JSON line `{ "status", "submitted", "fields", "detail" }` (DESIGN.md
 * "Runner"). Exit status 0 whenever a form was attempted (the outcome is in `status`), 64 for
 * bad arguments, 65 for an invalid client config, 1 when the browser itself failed.
 */
import * as fs from "fs";
import { parseClientConfig } from "../../../functions/formSender/clientConfig";
import { launchBrowser, newFormContext } from "./browser";
import { fillContactForm } from "./fill";
import { buildProfile } from "./profile";
import type { FillResult } from "./types";

export interface CliArgs {
    readonly url: string;
    readonly config: string;
    readonly dryRun: boolean;
    readonly timeoutMs: number;
}

export class UsageError extends Error {}

const USAGE = "usage: runner:fill --url <http(s) url> --config <client_config.json> [--dry-run] [--timeout <seconds>]";

export function parseArgs(argv: readonly string[]): CliArgs {
    let url = "";
    let config = "";
    let dryRun = false;
    let timeoutMs = 90_000;
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        const value = () => {
            const v = argv[++i];
            if (v === undefined || v.startsWith("--")) {
                throw new UsageError(`${a} needs a value; ${USAGE}`);
            }
            return v;
        };
        if (a === "--url") url = value();
        else if (a === "--config") config = value();
        else if (a === "--dry-run") dryRun = true;
        else if (a === "--timeout") {
            const raw = value();
            const s = Number(raw);
            if (!Number.isFinite(s) || s <= 0) {
                throw new UsageError(`--timeout must be a positive number of seconds, got "${raw}"`);
            }
            timeoutMs = s * 1000;
        } else throw new UsageError(`unknown argument "${a}"; ${USAGE}`);
    }
    if (!url) throw new UsageError(`--url is required; ${USAGE}`);
    if (!/^https?:\/\//i.test(url)) throw new UsageError(`--url must start with http:// or https://, got "${url}"`);
    if (!config) throw new UsageError(`--config is required; ${USAGE}`);
    return { url, config, dryRun, timeoutMs };
}

function line(result: Pick<FillResult, "status" | "submitted" | "fields" | "detail">): string {
    return JSON.stringify({
        status: result.status,
        submitted: result.submitted,
        fields: result.fields,
        detail: result.detail,
    });
}

export async function runCli(argv: readonly string[], out: (s: string) => void): Promise<number> {
    let args: CliArgs;
    try {
        args = parseArgs(argv);
    } catch (err) {
        out(line({ status: "failed", submitted: false, fields: [], detail: (err as Error).message }));
        return 64;
    }
    let profile;
    try {
        const raw = JSON.parse(fs.readFileSync(args.config, "utf8")) as unknown;
        profile = buildProfile(parseClientConfig(raw, args.config));
    } catch (err) {
        out(
            line({
                status: "failed",
                submitted: false,
                fields: [],
                detail: `client config: ${(err as Error).message}`,
            }),
        );
        return 65;
    }
    let browser;
    try {
        browser = await launchBrowser();
    } catch (err) {
        out(
            line({
                status: "failed",
                submitted: false,
                fields: [],
                detail: `browser did not start: ${(err as Error).message.split("\n")[0]}`,
            }),
        );
        return 1;
    }
    let submitted = false;
    try {
        const context = await newFormContext(browser);
        const page = await context.newPage();
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<FillResult>((resolve) => {
            timer = setTimeout(() => {
                resolve({
                    status: "failed",
                    submitted,
                    fields: [],
                    detail: `timed out after ${args.timeoutMs / 1000} s`,
                    formUrl: "",
                });
            }, args.timeoutMs);
        });
        const result = await Promise.race([
            fillContactForm(page, args.url, profile, { dryRun: args.dryRun, onSubmitted: () => (submitted = true) }),
            timeout,
        ]);
        clearTimeout(timer);
        out(line(result));
        return 0;
    } catch (err) {
        out(
            line({
                status: "failed",
                submitted,
                fields: [],
                detail: `runner error: ${(err as Error).message.split("\n")[0]}`,
            }),
        );
        return 1;
    } finally {
        await browser.close().catch(() => undefined);
    }
}

if (require.main === module) {
    runCli(process.argv.slice(2), (s) => process.stdout.write(`${s}\n`)).then(
        (code) => process.exit(code),
        (err) => {
            process.stderr.write(`${(err as Error).stack ?? err}\n`);
            process.exit(1);
        },
    );
}
