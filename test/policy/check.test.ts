import { strict as assert } from "assert";
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";
import { ROOT } from "./packProcess";
import { weatherWith } from "./fixtures/containers";
import { WEATHER_ALB } from "./fixtures/alb";

const run = promisify(execFile);

/** `npm run policy -- <args>` without npm: same entry point, same loader. */
async function policyCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    try {
        const { stdout, stderr } = await run(
            process.execPath,
            ["-r", "ts-node/register/transpile-only", "policy/check.ts", ...args],
            { cwd: ROOT, maxBuffer: 32 * 1024 * 1024 },
        );
        return { code: 0, stdout, stderr };
    } catch (e) {
        // execFile's error for a non-zero exit carries the exit code and both streams.
        const { code, stdout, stderr } = e as { code: number; stdout: string; stderr: string };
        return { code, stdout, stderr };
    }
}

describe("offline policy check CLI (npm run policy)", function () {
    this.timeout(120000);
    let dir: string;
    before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "policy-check-"))));
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("plans a stack and exits 0 when no mandatory rule is violated", async () => {
        const { code, stdout, stderr } = await policyCli(["--stack", "stg"]);
        assert.equal(code, 0, stderr);
        assert.match(
            stdout,
            /^Policy check of stack stg \(offline plan\): \d+ rules, \d+ resources\n0 mandatory, \d+ advisory violation\(s\)/,
        );
    });

    it("exits 1 and lists each mandatory violation of a saved plan", async () => {
        const file = path.join(dir, "plan.json");
        const resources = [
            ...weatherWith({ privileged: true }),
            ...WEATHER_ALB.map((r) =>
                r.name === "weather-alb" ? { ...r, inputs: { ...r.inputs, dropInvalidHeaderFields: false } } : r,
            ),
        ];
        fs.writeFileSync(file, JSON.stringify({ project: "ops-platform", stack: "stg", resources, outputs: {} }));
        const { code, stdout } = await policyCli(["--plan", file]);
        assert.equal(code, 1);
        assert.match(stdout, /2 mandatory, 0 advisory violation\(s\)/);
        assert.match(
            stdout,
            /\[mandatory\] containers-non-privileged \(CKV_AWS_334, CKV_AWS_210\): TaskDefinition 'weather-task' containerDefinitions\[0\] \(app\) runs privileged\n {6}at urn:pulumi:stg::ops-platform::/,
        );
        assert.match(
            stdout,
            /\[mandatory\] alb-drop-invalid-headers \(CKV_AWS_131\): LoadBalancer 'weather-alb' does not set dropInvalidHeaderFields: true/,
        );
    });

    it("prints the violations as JSON with --json", async () => {
        const file = path.join(dir, "plan-json.json");
        fs.writeFileSync(file, JSON.stringify({ stack: "stg", resources: weatherWith({ privileged: true }) }));
        const { code, stdout } = await policyCli(["--plan", file, "--json"]);
        assert.equal(code, 1);
        const doc = JSON.parse(stdout) as { violations: { rule: string; enforcementLevel: string }[] };
        assert.deepEqual(
            doc.violations.map((v) => [v.rule, v.enforcementLevel]),
            [["containers-non-privileged", "mandatory"]],
        );
    });

    it("exits 2 with the fix for bad arguments and unknown stacks", async () => {
        const none = await policyCli([]);
        assert.equal(none.code, 2);
        assert.match(
            none.stderr,
            /give exactly one of --stack and --plan\nusage: npm run policy -- \(--stack <stg\|prd> \| --plan <plan\.json>\) \[--json\]/,
        );
        const unknown = await policyCli(["--stack", "qa"]);
        assert.equal(unknown.code, 2);
        assert.match(unknown.stderr, /unknown stack 'qa': Pulumi\.qa\.yaml does not exist \(stacks: prd, stg\)/);
        const notPlan = path.join(dir, "not-a-plan.json");
        fs.writeFileSync(notPlan, "{}");
        const bad = await policyCli(["--plan", notPlan]);
        assert.equal(bad.code, 2);
        assert.match(
            bad.stderr,
            /not an offline plan \(no "resources" array\); create one with npm run plan -- --stack <stack> --json/,
        );
    });
});
