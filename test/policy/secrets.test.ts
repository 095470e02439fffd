import { strict as assert } from "assert";
import { randomBytes } from "crypto";
import { SECRET_KEYS, WEATHER_API_KEY_NAMES } from "../../components/config";
import { checkPlan } from "../../policy/rules";
import { formatPlanText } from "../../scripts/lib/plan";
import { listStacks, ROOT } from "../../scripts/lib/offlineEngine";
import { planFor } from "../harness";
import { captureOutput, lambdaCode, planTexts, scan, secretCode } from "./secretScan";

/** A distinctive token: anything containing it carries the secret. */
const token = (label: string) => `scan${label.replace(/[^A-Za-z0-9]/g, "")}${randomBytes(12).toString("hex")}`;

/**
 * Secret config keys: the program's one list. Pulumi.yaml cannot mark them `secret: true` (an optional secret would
 * need a plaintext default, which the CLI refuses), so the declarations test holds it to that list instead.
 */
function secretKeys(): string[] {
    return [...SECRET_KEYS].sort();
}

/**
 * A value for each secret key in the shape its validator accepts, and the tokens hidden in it.
 * A new secret key whose shape this does not produce makes the plan fail with the config
 * error naming the key: extend `shaped` then.
 */
function secretValues(keys: string[]): { config: Record<string, string>; tokens: Record<string, string> } {
    const config: Record<string, string> = {};
    const tokens: Record<string, string> = {};
    const shaped: Record<string, () => string> = {
        weatherApiKeys: () =>
            JSON.stringify(
                Object.fromEntries(WEATHER_API_KEY_NAMES.map((n) => [n, (tokens[`weatherApiKeys.${n}`] = token(n))])),
            ),
    };
    for (const key of keys) {
        if (shaped[key]) config[key] = shaped[key]();
        else if (/webhook/i.test(key))
            config[key] = `https://hooks.slack.com/services/T0SCAN/B0SCAN/${(tokens[key] = token(key))}`;
        else if (/url/i.test(key)) config[key] = `https://${(tokens[key] = token(key).toLowerCase())}.supabase.co`;
        else config[key] = tokens[key] = token(key);
    }
    return { config, tokens };
}

describe("secret values never reach the plan, Lambda code or logs", function () {
    this.timeout(120000);

    it("finds planted secrets in each place it scans (the scan can fail)", () => {
        const secret = token("planted");
        const run = {
            project: "ops-platform",
            stack: "stg",
            outputs: {},
            resources: [
                {
                    urn: "urn:pulumi:stg::ops-platform::aws:lambda/function:Function::leaky",
                    type: "aws:lambda/function:Function",
                    name: "leaky",
                    parent: null,
                    provider: null,
                    custom: true,
                    protect: false,
                    dependsOn: [],
                    ignoreChanges: [],
                    deleteBeforeReplace: false,
                    replaceOnChanges: [],
                    retainOnDelete: false,
                    aliases: [],
                    inputs: { code: { assets: { "__index.js": { text: `const k = "${secret}";` } } } },
                },
            ],
        };
        const found = scan(
            { supabaseServiceRoleKey: secret },
            planTexts(run, `INFO connecting with ${secret}\n`, ROOT),
        );
        assert.deepEqual(
            found.map((f) => f.where),
            ["JSON plan", "Lambda leaky code __index.js", "logs of the run"],
        );
        assert.deepEqual(
            found.map((f) => f.secret),
            ["supabaseServiceRoleKey", "supabaseServiceRoleKey", "supabaseServiceRoleKey"],
        );
        assert.deepEqual(secretCode([{ ...run.resources[0], inputs: { code: "[secret]" } }]), ["leaky"]);
    });

    for (const stack of listStacks()) {
        it(`keeps injected secrets out of the ${stack} plan, its Lambda code and its output`, async () => {
            const keys = secretKeys();
            assert.ok(keys.length > 0, "the program declares secret config keys");
            const { config, tokens } = secretValues(keys);
            const { result: plan, output } = await captureOutput(() => planFor(stack, { secrets: config }));
            const texts = [
                ...planTexts(plan.run, output, ROOT),
                { label: "text plan", text: formatPlanText(plan.run) },
            ];
            const findings = scan(tokens, texts);
            assert.deepEqual(
                findings,
                [],
                `secret values leaked:\n${findings.map((f) => `  ${f.secret} in ${f.where}`).join("\n")}`,
            );
            assert.deepEqual(
                secretCode(plan.resources),
                [],
                "a Lambda captured a secret in its closure (its code became secret)",
            );
            // The injected secrets reached the program (masked), so the scan looked at real flows.
            assert.ok(
                JSON.stringify(plan.run).includes('"[secret]"'),
                "no secret input in the plan: the injected secrets were not used",
            );
            // And with secrets set, the rules still hold (e.g. no secret copied into an environment).
            const mandatory = checkPlan(plan.resources).filter((v) => v.enforcementLevel === "mandatory");
            assert.deepEqual(
                mandatory.map((v) => v.message),
                [],
            );
            // Lambda code, once components define functions, is part of the scan.
            for (const c of lambdaCode(plan.resources, ROOT))
                assert.ok(c.text.length > 0, `${c.fn} ${c.file} is readable`);
        });
    }
});
