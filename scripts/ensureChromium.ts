/**
 * `npm test`'s pre-test step: make sure the browser tests have a Chromium before mocha starts, so a machine
 * without one gets either Debian's headless shell (as root with apt-get) or, within seconds, the exact command to
 * run — never a wall of browser-launch failures minutes into the suite.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import { chromium } from "playwright-core";
import { installCommand, planChromium } from "./lib/chromium";

function fail(message: string): never {
    process.stderr.write(`\n${message}\n\n`);
    process.exit(1);
}

/** `<binary> --version` within 20 s: proves the binary starts, not only that a file is there. */
function versionOf(binary: string): string | undefined {
    const run = spawnSync(binary, ["--version"], { encoding: "utf8", timeout: 20_000 });
    return run.status === 0 ? run.stdout.trim() : undefined;
}

const isRoot = process.getuid?.() === 0;
const plan = planChromium({
    env: process.env,
    exists: fs.existsSync,
    playwrightBrowser: chromium.executablePath(),
    isRoot,
    hasAptGet: spawnSync("apt-get", ["--version"], { stdio: "ignore" }).status === 0,
});

let browser: string;
if (plan.action === "stop") fail(plan.message);
if (plan.action === "install") {
    process.stderr.write(
        "No headless shell for the browser tests: installing Debian's chromium-headless-shell " +
            "(the runner's browser).\n",
    );
    for (const command of plan.commands) {
        const run = spawnSync("sh", ["-c", command], {
            stdio: ["ignore", "ignore", "inherit"],
            env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
        });
        if (run.status !== 0)
            fail(`"${command}" failed (exit ${run.status}). Run it yourself:\n\n    ${installCommand(isRoot)}`);
    }
    const after = planChromium({
        env: process.env,
        exists: fs.existsSync,
        playwrightBrowser: chromium.executablePath(),
        isRoot: false,
        hasAptGet: false,
    });
    if (after.action !== "ready")
        fail(
            `Debian's chromium-headless-shell installed, but no browser appeared at /usr/bin/chromium-headless-shell.`,
        );
    browser = after.path;
} else {
    browser = plan.path;
}
const version = versionOf(browser);
if (version === undefined) {
    fail(
        `${browser} is there but does not start ("${browser} --version" failed). ` +
            `Reinstall it:\n\n    ${installCommand(isRoot)}`,
    );
}
process.stderr.write(`Browser tests use ${browser} (${version}).\n`);
