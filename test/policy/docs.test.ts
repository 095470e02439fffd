import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { RULES } from "../../policy/rules";
import { POLICY_DIR } from "./packProcess";

/** Rows of the rules table in policy/README.md: rule → { level, scope, checkov }. */
function readmeRows(): Map<string, { level: string; scope: string; checkov: string[] }> {
    const text = fs.readFileSync(path.join(POLICY_DIR, "README.md"), "utf8");
    const rows = new Map<string, { level: string; scope: string; checkov: string[] }>();
    for (const line of text.split("\n")) {
        const m = /^\| `([a-z0-9-]+)` \| (\w+) \| (\w+) \| ([^|]+) \|/.exec(line);
        if (!m) continue;
        const ids = m[4].replace(/\(nearest:[^)]*\)/, "").match(/CKV2?_AWS_\d+/g) ?? [];
        rows.set(m[1], { level: m[2], scope: m[3], checkov: ids });
    }
    return rows;
}

describe("policy pack documentation", () => {
    it("lists every rule in policy/README.md with its level, scope and Checkov IDs", () => {
        const rows = readmeRows();
        assert.deepEqual(
            [...rows.keys()],
            RULES.map((r) => r.name),
        );
        for (const r of RULES) {
            assert.deepEqual(
                rows.get(r.name),
                { level: r.enforcementLevel, scope: r.scope, checkov: [...r.checkov] },
                r.name,
            );
        }
    });

    it("has a threat model covering callers, secrets, the runner's reach and key rotation", () => {
        const text = fs.readFileSync(path.join(POLICY_DIR, "THREAT_MODEL.md"), "utf8");
        for (const heading of [
            "## Who can call what",
            "## Where secrets live",
            "## What the runner may reach",
            "## How keys are rotated",
        ]) {
            assert.ok(text.includes(heading), `THREAT_MODEL.md lacks "${heading}"`);
        }
        // Every rule it cites exists.
        for (const cited of text.match(/`([a-z0-9]+(?:-[a-z0-9]+)+)`/g) ?? []) {
            const name = cited.slice(1, -1);
            if (/^(s3|iam|lambda|apigateway|alb|containers|efs|log|sfn|batch|secrets)-/.test(name))
                assert.ok(
                    RULES.some((r) => r.name === name),
                    `THREAT_MODEL.md cites unknown rule ${name}`,
                );
        }
    });
});
