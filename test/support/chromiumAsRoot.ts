/**
 * Loaded by .mocharc.json before every test file. Chromium's sandbox cannot run as root, and the runner refuses to
 * start a browser without it unless RUNNER_ALLOW_NO_SANDBOX=1 (containers/runner/src/browser.ts). When the suite runs
 * as root (CI machines, containers) the browser tests that exercise form filling use that local-development setting;
 * the sandbox itself is tested with Chromium running as an unprivileged user (test/runner/sandbox.test.ts).
 */
if (process.getuid?.() === 0 && process.env.RUNNER_ALLOW_NO_SANDBOX === undefined) {
    process.env.RUNNER_ALLOW_NO_SANDBOX = "1";
}
