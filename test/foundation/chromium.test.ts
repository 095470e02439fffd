import * as assert from "assert";
import { spawnSync } from "child_process";
import * as path from "path";
import { installCommand, planChromium, type ChromiumProbe } from "../../scripts/lib/chromium";

const ROOT = path.resolve(__dirname, "..", "..");
const PW = "/root/.cache/ms-playwright/chromium-0000/chrome-linux64/chrome";

const probe = (over: Partial<ChromiumProbe> & { files?: string[] }): ChromiumProbe => {
    const files = new Set(over.files ?? []);
    return {
        env: {},
        exists: (p) => files.has(p),
        playwrightBrowser: PW,
        isRoot: false,
        hasAptGet: true,
        ...over,
    };
};

describe("npm test's Chromium check", () => {
    it("is ready with CHROMIUM_PATH or Debian's headless shell (the runner's browser), in that order", () => {
        const all = ["/opt/chrome", "/usr/bin/chromium-headless-shell", "/usr/bin/chromium", PW];
        for (const isRoot of [false, true]) {
            assert.deepEqual(planChromium(probe({ env: { CHROMIUM_PATH: "/opt/chrome" }, files: all, isRoot })), {
                action: "ready",
                path: "/opt/chrome",
            });
            assert.deepEqual(planChromium(probe({ files: all, isRoot })), {
                action: "ready",
                path: "/usr/bin/chromium-headless-shell",
            });
        }
    });

    it("installs Debian's headless shell as root with apt-get, also over a full chromium or Playwright's browser", () => {
        for (const files of [[], ["/usr/bin/chromium"], [PW]]) {
            assert.deepEqual(planChromium(probe({ isRoot: true, files })), {
                action: "install",
                commands: ["apt-get update", "apt-get install -y chromium-headless-shell"],
            });
        }
    });

    it("without root falls back to what the runner would use: Debian's chromium, then Playwright's own", () => {
        assert.deepEqual(planChromium(probe({ files: ["/usr/bin/chromium", PW] })), {
            action: "ready",
            path: "/usr/bin/chromium",
        });
        assert.deepEqual(planChromium(probe({ files: [PW] })), { action: "ready", path: PW });
        assert.deepEqual(planChromium(probe({ isRoot: true, hasAptGet: false, files: [PW] })), {
            action: "ready",
            path: PW,
        });
    });

    it("stops with the exact sudo command when it cannot install (not root, or no apt-get)", () => {
        for (const p of [probe({ isRoot: false }), probe({ isRoot: true, hasAptGet: false })]) {
            const plan = planChromium(p);
            assert.equal(plan.action, "stop");
            assert.ok(
                plan.action === "stop" &&
                    plan.message.includes("sudo apt-get update && sudo apt-get install -y chromium-headless-shell") &&
                    plan.message.includes("CHROMIUM_PATH"),
                JSON.stringify(plan),
            );
        }
        assert.equal(installCommand(true), "apt-get update && apt-get install -y chromium-headless-shell");
    });

    it("stops on a CHROMIUM_PATH that names no file, even as root, naming the setting and its value", () => {
        const plan = planChromium(probe({ env: { CHROMIUM_PATH: "/nope/chrome" }, isRoot: true, files: [PW] }));
        assert.deepEqual(plan, {
            action: "stop",
            message: 'CHROMIUM_PATH is "/nope/chrome" but no file is there; point it at a Chromium binary or unset it',
        });
    });

    it("the pre-test script stops with that message before any browser starts", function () {
        this.timeout(30_000);
        const run = spawnSync(
            process.execPath,
            ["-r", "ts-node/register/transpile-only", path.join(ROOT, "scripts", "ensureChromium.ts")],
            { cwd: ROOT, encoding: "utf8", env: { ...process.env, CHROMIUM_PATH: "/nope/chrome" } },
        );
        assert.equal(run.status, 1, run.stderr);
        assert.match(run.stderr, /CHROMIUM_PATH is "\/nope\/chrome" but no file is there/);
    });

    it("the pre-test script names the browser and its version when one is there", function () {
        this.timeout(30_000);
        const run = spawnSync(
            process.execPath,
            ["-r", "ts-node/register/transpile-only", path.join(ROOT, "scripts", "ensureChromium.ts")],
            { cwd: ROOT, encoding: "utf8", env: { ...process.env, CHROMIUM_PATH: "/usr/bin/chromium-headless-shell" } },
        );
        assert.equal(run.status, 0, run.stderr);
        assert.match(run.stderr, /^Browser tests use \/usr\/bin\/chromium-headless-shell \(Chromium \d+\./m);
    });
});
