import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as path from "path";

const ROOT = path.resolve(__dirname, "..", "..");

/** Runs `npm run plan`/`npm run preflight`'s script as npm does, returning exit code and stderr. */
function run(script: string, args: string[]): { status: number | null; stderr: string } {
    const r = spawnSync(
        process.execPath,
        [require.resolve("ts-node/dist/bin.js"), "--transpile-only", path.join(ROOT, "scripts", script), ...args],
        { cwd: ROOT, encoding: "utf8", timeout: 60_000 },
    );
    return { status: r.status, stderr: r.stderr };
}

describe("stack scripts' arguments (scripts/lib/cliArgs.ts)", function () {
    this.timeout(120_000);

    it("refuses an unknown argument by name, with the usage, exit 2", () => {
        const r = run("plan.ts", ["--stack", "stg", "--jsno"]);
        assert.equal(r.status, 2);
        assert.match(r.stderr, /Unknown option '--jsno'/);
        assert.match(r.stderr, /usage: npm run plan -- --stack <stg\|prd> \[--json\]/);
    });

    it("requires --stack", () => {
        const r = run("preflight.ts", ["--json"]);
        assert.equal(r.status, 2);
        assert.match(r.stderr, /--stack is required\nusage: npm run preflight -- --stack/);
    });

    it("takes --stack=<name> as well as --stack <name> (an unknown stack is then the plan's error, not usage)", () => {
        for (const args of [["--stack=nope"], ["--stack", "nope"]]) {
            const r = run("plan.ts", args);
            assert.equal(r.status, 1, r.stderr);
            assert.doesNotMatch(r.stderr, /usage:/);
            assert.match(r.stderr, /nope/);
        }
    });
});
