/**
 * The runner's start-up as main.ts does it, run by test/runner/sandbox.test.ts as an unprivileged user: read the
 * Supabase credentials from Secrets Manager (a loopback stand-in), launch Chromium through launchBrowser, and fill
 * forms with the worker pool. While the first form is open it prints "READY" and waits for "GO" on stdin, so the test
 * (root) can inspect every Chromium process; at the end it prints one JSON line. It never prints the credentials.
 */
import * as fs from "fs";
import * as path from "path";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { launchBrowser, type SandboxStatus } from "../../containers/runner/src/browser";
import { fillContactForm } from "../../containers/runner/src/fill";
import { makeLogger } from "../../containers/runner/src/log";
import { WorkerPool, type WorkItem } from "../../containers/runner/src/pool";
import { buildProfile, type ClientConfigLike } from "../../containers/runner/src/profile";
import { loadSupabaseCredentials } from "../../containers/runner/src/secrets";
import { FIXTURE_ROOT } from "./fixtureServer";

async function main(): Promise<void> {
    const credentials = await loadSupabaseCredentials(process.env, () => new SecretsManagerClient({}));
    const urls = JSON.parse(process.env.SANDBOX_TEST_URLS ?? "[]") as string[];
    const profile = buildProfile(
        JSON.parse(fs.readFileSync(path.join(FIXTURE_ROOT, "client_config.json"), "utf8")) as ClientConfigLike,
    );
    let status: SandboxStatus | undefined;
    const browser = await launchBrowser(process.env, (_policy, s) => (status = s));
    let held = false;
    const go = new Promise<void>((resolve) => process.stdin.once("data", () => resolve()));
    const queue: WorkItem[] = urls.map((url, i) => ({ id: i, url, companyName: `company ${i}` }));
    const settled: string[] = [];
    try {
        const pool = new WorkerPool({
            workers: 2,
            recycleEvery: 20,
            formTimeoutMs: 45_000,
            browser: () => Promise.resolve(browser),
            log: makeLogger(() => undefined, {}, { secrets: [credentials.url, credentials.key] }),
            mayClickSubmit: () => false,
            next: () => Promise.resolve(queue.shift() ?? null),
            process: async (page, item) => {
                if (!held) {
                    held = true;
                    await page.goto(item.url as string);
                    process.stdout.write("READY\n");
                    await go;
                }
                return fillContactForm(page, item.url as string, profile, { dryRun: true });
            },
            settle: (_item, s) => {
                settled.push(s.kind === "result" ? s.result.status : "abandoned");
                return Promise.resolve();
            },
        });
        await pool.run();
    } finally {
        await browser.close();
    }
    process.stdout.write(
        `${JSON.stringify({ status, settled, source: credentials.source, keyLength: credentials.key.length })}\n`,
    );
}

main().then(
    () => process.exit(0),
    (err) => {
        process.stderr.write(`${(err as Error).message}\n`);
        process.exit(1);
    },
);
