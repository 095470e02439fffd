/**
 * Run by test/formSenderBatch/chromiumSeccomp.test.ts inside an emulated Docker container (test/support/
 * dockerSeccompExec.py: a seccomp profile loaded as runc loads it, Docker's default capabilities, an unprivileged
 * user): starts Chromium through the runner's own launchBrowser, which refuses a browser without its sandbox, and
 * prints one JSON line, `{ "status": … }` (the renderers' confinement read from /proc) or `{ "error": … }`.
 */
import { launchBrowser, type SandboxStatus } from "../../containers/runner/src/browser";

async function main(): Promise<void> {
    let status: SandboxStatus | undefined;
    const browser = await launchBrowser(process.env, (_policy, s) => (status = s));
    await browser.close();
    process.stdout.write(`${JSON.stringify({ status })}\n`);
}

main().then(
    () => process.exit(0),
    (err) => {
        process.stdout.write(`${JSON.stringify({ error: (err as Error).message })}\n`);
        process.exit(1);
    },
);
