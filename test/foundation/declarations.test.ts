import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { parseStackConfig, SECRET_KEYS, SECRET_MARKER } from "../../components/config";
import { ProjectFile, validateAndApplyProjectConfig } from "../../scripts/lib/stackConfig";
import { MINIMAL_CONFIG } from "../support/minimalConfig";

const ROOT = path.resolve(__dirname, "..", "..");
/** A Pulumi.yaml / Pulumi.<stack>.yaml document, as far as these tests read it. */
interface ConfigFile<V> {
    config: Record<string, V>;
}
/** One declaration of Pulumi.yaml `config:`, as far as these tests read it. */
interface Declaration {
    type: string;
    secret?: boolean;
    default?: unknown;
    description: string;
}
const projectText = fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8");
const project = parse(projectText) as ProjectFile & ConfigFile<Declaration>;
const declared = project.config;

/**
 * The raw config the CLI hands the program for `values` (unqualified keys → raw strings, lists as JSON): the
 * values plus Pulumi.yaml's declared defaults for every key they leave out, as scripts/lib/stackConfig.ts applies
 * them.
 */
function withDeclaredDefaults(stack: string, values: Record<string, string>): Record<string, string> {
    const given = new Map(
        Object.entries(values).map(([k, v]) => [
            `ops-platform:${k}`,
            { text: v, secure: false, object: v.startsWith("[") },
        ]),
    );
    const merged = validateAndApplyProjectConfig(stack, project, given);
    return Object.fromEntries([...merged].map(([k, v]) => [k.replace(/^ops-platform:/, ""), v.text]));
}

/** The smallest valid config of each committed stack, unqualified. */
const minimal = (stack: string): Record<string, string> => ({ ...MINIMAL_CONFIG, environment: stack });

describe("config declarations", () => {
    it("declares every key the program reads, with a type and description, and no others", () => {
        // Every declared key must be accepted, and an undeclared one rejected as unknown.
        const raw = MINIMAL_CONFIG;
        parseStackConfig("stg", raw);
        for (const [key, d] of Object.entries(declared)) {
            assert.ok(["string", "integer", "boolean", "array"].includes(d.type), `${key} type ${d.type}`);
            assert.ok(d.description && d.description.length > 10, `${key} needs a description`);
        }
        assert.throws(
            () => parseStackConfig("stg", { ...raw, notDeclared: "1" }),
            /notDeclared: unknown configuration key/,
        );
        // The keys the section readers read, taken from their source (a call may wrap before its key), equal the
        // declared keys.
        const dir = path.join(ROOT, "components", "config");
        const read = new Set<string>(SECRET_KEYS);
        for (const f of fs.readdirSync(dir)) {
            for (const m of fs
                .readFileSync(path.join(dir, f), "utf8")
                .matchAll(
                    /(?:r\.(?:string|oneOf|integer|boolean|stringList|logRetention)\(|requiredList\(r,|secretArn\()\s*"(\w+)"/g,
                ))
                read.add(m[1]);
        }
        assert.deepEqual([...read].sort(), Object.keys(declared).sort());
    });

    it("marks exactly the secret keys as secret in their description, none with secret: true", () => {
        // `secret: true` with the plaintext default "" is refused by the CLI (pulumi/pulumi#21865), and without a
        // default it would make the key required in every stack: the program enforces the secrecy instead.
        assert.deepEqual(
            Object.entries(declared)
                .filter(([, d]) => d.secret !== undefined)
                .map(([k]) => k),
            [],
        );
        assert.deepEqual(
            Object.entries(declared)
                .filter(([, d]) => d.description.includes(SECRET_MARKER))
                .map(([k]) => k)
                .sort(),
            [...SECRET_KEYS].sort(),
        );
        for (const key of SECRET_KEYS)
            assert.deepEqual([declared[key].type, declared[key].default], ["string", ""], key);
    });

    for (const stack of ["stg", "prd"]) {
        it(`reads every declared default exactly as the absent key (${stack}), so Pulumi.yaml and the code agree`, () => {
            const absent = parseStackConfig(stack, minimal(stack));
            const defaults = withDeclaredDefaults(stack, minimal(stack));
            for (const [key, d] of Object.entries(declared)) {
                if (d.default === undefined) continue;
                assert.deepEqual(
                    parseStackConfig(stack, { ...minimal(stack), [key]: defaults[key] }),
                    absent,
                    `${key}: default ${JSON.stringify(d.default)}`,
                );
            }
            assert.deepEqual(parseStackConfig(stack, defaults), absent, "all declared defaults at once");
        });
    }

    it("leaves the default out only where the program requires the key", () => {
        const required = Object.entries(declared)
            .filter(([, d]) => d.default === undefined)
            .map(([k]) => k);
        assert.ok(required.length > 0);
        for (const key of required) {
            const { [key]: _, ...without } = minimal("stg");
            assert.throws(
                () => parseStackConfig("stg", without),
                (e: Error) => e.message.includes(`ops-platform:${key}: expected`) && e.message.includes("not set"),
                `${key} has no default in Pulumi.yaml but the program does not require it`,
            );
        }
    });

    it("keeps secrets out of the committed stack files", () => {
        for (const stack of ["stg", "prd"]) {
            const text = fs.readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), "utf8");
            for (const key of SECRET_KEYS)
                assert.ok(
                    !new RegExp(`ops-platform:${key}:\\s*[^\\s{]`).test(text),
                    `${key} in plain text in Pulumi.${stack}.yaml`,
                );
            for (const key of Object.keys((parse(text) as ConfigFile<unknown>).config)) {
                assert.ok(key.replace(/^ops-platform:/, "") in declared, `Pulumi.${stack}.yaml sets undeclared ${key}`);
            }
        }
    });
});
