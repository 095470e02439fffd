import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const ROOT = path.resolve(__dirname, "..", "..", "..");

/** Runs scripts/gas-config.ts with a stand-in `pulumi` on PATH that prints `outputs` for `stack output`. */
function gasConfig(outputs: unknown, args: string[]) {
    const bin = fs.mkdtempSync(path.join(os.tmpdir(), "gas-config-"));
    fs.writeFileSync(path.join(bin, "outputs.json"), JSON.stringify(outputs));
    // Answers only the exact command gas-config must run; anything else fails like a wrong CLI call.
    fs.writeFileSync(
        path.join(bin, "pulumi"),
        `#!/bin/sh\n[ "$*" = "stack output --json --show-secrets --stack stg" ] || { echo "unexpected: $*" >&2; exit 9; }\n` +
            `cat "${path.join(bin, "outputs.json")}"\n`,
        { mode: 0o755 },
    );
    return spawnSync(
        process.execPath,
        ["-r", "ts-node/register/transpile-only", path.join(ROOT, "scripts", "gas-config.ts"), ...args],
        { cwd: ROOT, encoding: "utf8", env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } },
    );
}

describe("npm run gas-config", function () {
    this.timeout(120000);
    const PROPS = {
        USE_AWS_BATCH: "true",
        FORM_SENDER_AWS_API_BASE_URL: "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/stg",
        FORM_SENDER_AWS_REGION: "us-east-1",
        FORM_SENDER_AWS_ACCESS_KEY_ID: "AKIAGASEXAMPLE0001",
        FORM_SENDER_AWS_SECRET_ACCESS_KEY: "gas/secret",
        FORM_SENDER_S3_BUCKET: "fs-stg-client-config",
        FORM_SENDER_ENV: "stg",
    };

    it("prints the connection properties and never the routing switch USE_AWS_BATCH", () => {
        const out = gasConfig({ gasScriptProperties: PROPS, other: 1 }, ["--stack", "stg"]);
        assert.equal(out.status, 0, out.stderr);
        const { USE_AWS_BATCH: _, ...connection } = PROPS;
        assert.deepEqual(JSON.parse(out.stdout), connection);
        assert.match(out.stderr, /USE_AWS_BATCH is not printed: routing stays per targeting \(useAwsBatch column\)/);
    });

    it("refuses a masked secret, naming the property and the fix", () => {
        const out = gasConfig({ gasScriptProperties: { ...PROPS, FORM_SENDER_AWS_SECRET_ACCESS_KEY: "[secret]" } }, [
            "--stack",
            "stg",
        ]);
        assert.equal(out.status, 1);
        assert.match(
            out.stderr,
            /gasScriptProperties.FORM_SENDER_AWS_SECRET_ACCESS_KEY of stack 'stg' is "\[secret\]"/,
        );
        assert.equal(out.stdout, "");
    });

    it("prints its usage without --stack", () => {
        const out = gasConfig({}, []);
        assert.equal(out.status, 2);
        assert.match(out.stderr, /usage: npm run gas-config -- --stack <stg\|prd>/);
    });
});
