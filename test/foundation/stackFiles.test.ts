import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { ConfigError, parseStackConfig, SECRET_KEYS } from "../../components/config";
import { readStackFile } from "../../scripts/lib/offlineEngine";
import {
    MergedConfig,
    ProjectFile,
    readStackValues,
    validateAndApplyProjectConfig,
} from "../../scripts/lib/stackConfig";

const ROOT = path.resolve(__dirname, "..", "..");
const project = parse(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8")) as ProjectFile;
const stackText = (stack: string) => fs.readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), "utf8");

/** What the CLI does with a stack file's text before it starts the program. */
const cliCheck = (stack: string, text: string): MergedConfig =>
    validateAndApplyProjectConfig(stack, project, readStackValues(text, `Pulumi.${stack}.yaml`));

/** The program's unqualified raw config from the CLI's merged config, and the keys set with --secret. */
function programInput(merged: MergedConfig): { raw: Record<string, string>; secretKeys: string[] } {
    const raw: Record<string, string> = {};
    const secretKeys: string[] = [];
    for (const [key, value] of merged) {
        if (!key.startsWith("ops-platform:")) continue;
        const name = key.slice("ops-platform:".length);
        raw[name] = value.text;
        if (value.secure) secretKeys.push(name);
    }
    return { raw, secretKeys };
}

/** The README section that tells an operator what to do before the first `pulumi up`. */
const FIRST_DEPLOY = "## First deploy";

/** The `pulumi config set --secret <key> …` commands of that section: the steps an operator is told to run. */
function readmeSecretSteps(): string[] {
    const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
    const start = readme.indexOf(FIRST_DEPLOY);
    assert.ok(start >= 0, `README has the section "${FIRST_DEPLOY}"`);
    const end = readme.indexOf("\n## ", start + 1);
    const section = readme.slice(start, end < 0 ? undefined : end);
    return [...section.matchAll(/pulumi config set --secret (\w+) /g)].map((m) => m[1]);
}

/** The stack file after `pulumi config set --secret <key>` for each key: an encrypted `secure:` entry per key. */
function withSecureValues(text: string, keys: string[]): string {
    // The ciphertext is a stand-in: the CLI's check never decrypts it.
    const entries = keys.map((k, i) => `  ops-platform:${k}:\n    secure: v1:AAABACiphertextStandIn${i}==\n`);
    return `${text.trimEnd()}\n${entries.join("")}`;
}

describe("the committed stack files under the Pulumi CLI's configuration check", () => {
    for (const stack of ["stg", "prd"]) {
        it(`Pulumi.${stack}.yaml passes as committed, and the program accepts the merged config`, () => {
            const merged = cliCheck(stack, stackText(stack));
            const { raw, secretKeys } = programInput(merged);
            assert.deepEqual(secretKeys, []);
            assert.equal(parseStackConfig(stack, raw, secretKeys).environment, stack);
            // The offline plan reads the file the same way.
            assert.deepEqual(readStackFile(stack), {
                config: Object.fromEntries([...merged].map(([k, v]) => [k, v.text])),
                encryptedKeys: [],
            });
        });

        it(`Pulumi.${stack}.yaml passes again after README's first-deploy pulumi config set --secret steps`, () => {
            const steps = readmeSecretSteps();
            assert.ok(steps.includes("weatherApiKeys"), `README's secret steps: ${steps.join(", ")}`);
            for (const key of steps) assert.ok((SECRET_KEYS as readonly string[]).includes(key), key);
            const merged = cliCheck(stack, withSecureValues(stackText(stack), steps));
            const { raw, secretKeys } = programInput(merged);
            assert.deepEqual(secretKeys.sort(), [...steps].sort());
            // The ciphertext is all the program could see offline; it passes as set with --secret, whatever its
            // shape (the offline plan leaves such keys unset instead: it cannot decrypt them).
            const plain = Object.fromEntries(Object.entries(raw).filter(([k]) => !secretKeys.includes(k)));
            assert.equal(parseStackConfig(stack, plain, []).environment, stack);
        });

        it(`Pulumi.${stack}.yaml with a secret in plain text passes the CLI but not the program`, () => {
            const text = `${stackText(stack).trimEnd()}\n  ops-platform:formSenderSupabaseServiceRoleKey: sb_secret_plain7c1e\n`;
            const { raw, secretKeys } = programInput(cliCheck(stack, text));
            assert.throws(
                () => parseStackConfig(stack, raw, secretKeys),
                (e: unknown) => {
                    assert.ok(e instanceof ConfigError);
                    assert.deepEqual(
                        e.problems.map((p) => p.message),
                        [
                            `ops-platform:formSenderSupabaseServiceRoleKey: expected a value set with --secret (encrypted in the stack file, never plain text), got "[secret]". Fix: pulumi config set --secret formSenderSupabaseServiceRoleKey <value> --stack ${stack} (it replaces the plain-text value)`,
                        ],
                    );
                    assert.ok(!e.message.includes("sb_secret_plain7c1e"));
                    return true;
                },
            );
        });
    }
});
