import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { parseStackConfig, SECRET_KEYS } from "../../components/config";
import { MINIMAL_CONFIG } from "../support/minimalConfig";

const ROOT = path.resolve(__dirname, "..", "..");
/** A Pulumi.yaml / Pulumi.<stack>.yaml document, as far as these tests read it. */
interface ConfigFile<V> {
    config: Record<string, V>;
}
const declared = (
    parse(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8")) as ConfigFile<{
        type: string;
        secret?: boolean;
        description: string;
    }>
).config;

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

    it("marks exactly the secret keys as secret", () => {
        assert.deepEqual(
            Object.entries(declared)
                .filter(([, d]) => d.secret)
                .map(([k]) => k)
                .sort(),
            [...SECRET_KEYS].sort(),
        );
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
