import * as assert from "assert";
import {
    readStackValues,
    stackValueOf,
    validateAndApplyProjectConfig,
    validateConfigValue,
    validateProject,
    type ProjectFile,
} from "../../scripts/lib/stackConfig";

// The rules and sentences below are pulumi/pulumi's: pkg/workspace/config.go (mergeConfig,
// validateStackConfigValue, missingStackConfigurationKeysError) and sdk/go/common/workspace/project.go
// ((*Project).Validate, ValidateConfigValue, RewriteShorthandConfigValues).

const project = (config: Record<string, unknown>): ProjectFile => ({ name: "demo", config });
const stack = (yaml: string) => readStackValues(`config:\n${yaml}`, "Pulumi.dev.yaml");
const run = (config: Record<string, unknown>, yaml: string) =>
    validateAndApplyProjectConfig("dev", project(config), stack(yaml));

describe("the Pulumi CLI's stack-configuration validation, reproduced", () => {
    it("refuses a stack that lacks a declared key without default, naming every missing key in the CLI's words", () => {
        const config = {
            a: { type: "string" },
            b: { type: "string" },
            c: { type: "integer" },
            d: { type: "string", default: "x" },
        };
        assert.throws(() => run(config, "  demo:a: 1\n"), {
            message:
                /^Stack 'dev' is missing configuration values 'b' and 'c'\. Fix: set each with `pulumi config set <key> <value> --stack dev`/,
        });
        assert.throws(() => run({ b: { type: "string" } }, ""), {
            message: /^Stack 'dev' is missing configuration value 'b'\. Fix: set it/,
        });
        assert.throws(() => run({ a: {}, b: {}, c: {} }, ""), {
            message: /^Stack 'dev' is missing configuration values 'a', 'b' and 'c'\./,
        });
    });

    it("does not require keys of another namespace or keys the project gives a value", () => {
        const merged = run({ "aws:region": { value: "us-east-1" } }, "");
        assert.deepEqual(merged.get("aws:region"), { text: "us-east-1", secure: false, object: false });
    });

    it("fills unset keys from declared defaults as the CLI hands them to the program", () => {
        const merged = run(
            {
                n: { type: "integer", default: 30 },
                s: { type: "string", default: "" },
                l: { type: "array", items: { type: "string" }, default: [] },
                b: { type: "boolean", default: false },
            },
            "  demo:n: 7\n",
        );
        assert.deepEqual(Object.fromEntries([...merged].map(([k, v]) => [k, v.text])), {
            "demo:n": "7",
            "demo:s": "",
            "demo:l": "[]",
            "demo:b": "false",
        });
    });

    it("refuses a value whose type differs from the declaration", () => {
        const cases: [Record<string, unknown>, string, RegExp][] = [
            [{ n: { type: "integer" } }, "  demo:n: 4.5\n", /'n' must be of type 'integer'\. Fix: the value is 4\.5;/],
            [{ n: { type: "integer" } }, "  demo:n: many\n", /'n' must be of type 'integer'/],
            [{ b: { type: "boolean" } }, "  demo:b: yes\n", /'b' must be of type 'boolean'/],
            [{ s: { type: "string" } }, "  demo:s: [a, b]\n", /'s' must be of type 'string'/],
            [
                { l: { type: "array", items: { type: "string" } } },
                "  demo:l: a\n",
                /'l' must be of type 'array<string>'.*\(a YAML list in the stack file\)/,
            ],
            [
                { l: { type: "array", items: { type: "integer" } } },
                "  demo:l: [1, x]\n",
                /'l' must be of type 'array<integer>'/,
            ],
            [{ o: { type: "object" } }, "  demo:o: [1]\n", /'o' must be of type 'object'/],
        ];
        for (const [config, yaml, message] of cases) assert.throws(() => run(config, yaml), { message }, yaml);
    });

    it("accepts what the CLI accepts for each type (numbers as text, whole floats, true/false)", () => {
        assert.ok(validateConfigValue("integer", undefined, "400"));
        assert.ok(validateConfigValue("integer", undefined, "-3"));
        assert.ok(validateConfigValue("integer", undefined, 400));
        assert.ok(!validateConfigValue("integer", undefined, 4.5));
        assert.ok(validateConfigValue("boolean", undefined, "false"));
        assert.ok(!validateConfigValue("boolean", undefined, "False"));
        assert.ok(validateConfigValue("string", undefined, "400")); // the CLI compares the text, so 400 is a string
        assert.ok(validateConfigValue("array", { type: "integer" }, [1, 2]));
        const merged = run({ n: { type: "integer" }, s: { type: "string" } }, "  demo:n: 400\n  demo:s: 400\n");
        assert.equal(merged.get("demo:n")?.text, "400");
    });

    it("refuses a plaintext value for a key declared secret, without repeating the value", () => {
        const config = { k: { type: "string", secret: true } };
        assert.throws(
            () => run(config, "  demo:k: hunter2\n"),
            (err: Error) => {
                assert.match(
                    err.message,
                    /^Stack 'dev' with configuration key 'k' must be encrypted as it's secret\. Fix: pulumi config set --secret k <value> --stack dev/,
                );
                assert.ok(!err.message.includes("hunter2"));
                return true;
            },
        );
        const merged = run(config, "  demo:k:\n    secure: v1:abc\n");
        assert.deepEqual(merged.get("demo:k"), { text: "v1:abc", secure: true, object: false });
    });

    it("refuses a secret declaration whose plaintext default fills the key (pulumi/pulumi#21865)", () => {
        assert.throws(() => run({ k: { type: "string", secret: true, default: "" } }, ""), {
            message: /'k' must be encrypted as it's secret/,
        });
    });

    it("accepts stack keys the project does not declare, as the CLI does", () => {
        assert.equal(run({}, "  demo:typo: 1\n").get("demo:typo")?.text, "1");
    });

    it("refuses a stack-file key without a namespace", () => {
        assert.throws(() => stack("  region: x\n"), {
            message:
                /^could not parse region as a configuration key .* Fix: in Pulumi\.dev\.yaml, write it as <project>:region\./,
        });
    });

    it("refuses an invalid Pulumi.yaml the way the CLI does", () => {
        const cases: [Record<string, unknown>, RegExp][] = [
            [
                { a: { type: "string", default: "x", value: "y" } },
                /^project config 'a' cannot have both a 'default' and 'value' attribute/,
            ],
            [
                { a: { type: "number" } },
                /config\.a\.type: value must be one of "string", "integer", "boolean", "array", "object", got "number"/,
            ],
            [
                { a: { type: "array" } },
                /^The configuration key 'a' declares an array but does not specify the underlying type via the 'items' attribute/,
            ],
            [
                { a: { type: "integer", default: "ten" } },
                /^The default value specified for configuration key 'a' is not of the expected type 'integer'/,
            ],
            [
                { "aws:region": { type: "string" } },
                /^Configuration key 'aws:region' is not namespaced by the project and should not define a type/,
            ],
            [
                { "aws:region": { default: "x" } },
                /should not define a default value\. Did you mean to use the 'value' attribute/,
            ],
            [
                { "aws:region": { description: "x" } },
                /^Configuration key 'aws:region' is namespaced and must provide an attribute 'value'/,
            ],
        ];
        for (const [config, message] of cases)
            assert.throws(() => validateProject(project(config)), { message }, JSON.stringify(config));
        // Short forms: a project key's value is its (untyped) default, another namespace's its value.
        const d = validateProject(project({ size: 3, "aws:region": "us-east-1" }));
        assert.deepEqual([d.get("size"), d.get("aws:region")], [{ default: 3 }, { value: "us-east-1" }]);
    });

    it("reads stack-file values as the CLI marshals them", () => {
        assert.deepEqual(stackValueOf(16), { text: "16", secure: false, object: false });
        assert.deepEqual(stackValueOf(true), { text: "true", secure: false, object: false });
        assert.deepEqual(stackValueOf(["a", "b"]), { text: '["a","b"]', secure: false, object: true });
        assert.deepEqual(stackValueOf({ secure: "v1:x" }), { text: "v1:x", secure: true, object: false });
    });
});
