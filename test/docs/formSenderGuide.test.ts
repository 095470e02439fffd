/**
 * The Japanese operators' guide (docs/form-sender-gas.md) and README's GAS and runbook sections name the
 * same functions and commands, and both name every entry point of the GAS package.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";

const ROOT = path.resolve(__dirname, "..", "..");
const read = (p: string) => fs.readFileSync(path.join(ROOT, p), "utf8");

/** README from "## Outputs and Google Apps Script" to the heading after "## FormSender runbook". */
function readmeSections(): string {
    const text = read("README.md");
    const start = text.indexOf("## Outputs and Google Apps Script");
    const runbook = text.indexOf("## FormSender runbook");
    assert.ok(start >= 0 && runbook > start, "README has the GAS section followed by the FormSender runbook");
    const next = text.indexOf("\n## ", runbook + 1);
    return text.slice(start, next < 0 ? undefined : next);
}

/** Public functions (no trailing `_`, which hides them from the Run menu) of the given .gs files. */
function publicFunctions(files: string[]): string[] {
    return files.flatMap((f) => [...read(f).matchAll(/^function ([A-Za-z0-9]+)\(/gm)].map((m) => m[1]));
}

const GAS_PACKAGE = fs
    .readdirSync(path.join(ROOT, "gas", "form-sender"))
    .filter((f) => f.endsWith(".gs"))
    .map((f) => `gas/form-sender/${f}`);
const KNOWN = new Set(publicFunctions([...GAS_PACKAGE, "gas/AWSBatchClient.gs"]));

/** Functions (`name(` in code, or a bare public GAS function name) and commands named in code spans. */
function named(text: string): { functions: Set<string>; commands: Set<string> } {
    const functions = new Set<string>();
    const commands = new Set<string>();
    for (const [, span] of text.matchAll(/`([^`\n]+)`/g)) {
        for (const [, fn] of span.matchAll(/\b([A-Za-z_][A-Za-z0-9_]*)\(/g)) functions.add(fn);
        if (KNOWN.has(span.trim())) functions.add(span.trim());
        const cmd =
            /^npm run fs -- (\w+)/.exec(span) ??
            /^npm run ([\w:-]+)/.exec(span) ??
            /^(?:aws|pulumi|clasp) [\w-]+(?: [a-z][\w-]+)?/.exec(span);
        if (cmd) commands.add(cmd[0].replace(/ --$/, ""));
    }
    return { functions, commands };
}

describe("Japanese operators' guide and README", () => {
    const readme = named(readmeSections());
    const guide = named(read("docs/form-sender-gas.md"));

    it("name the same functions", () => {
        assert.deepEqual([...guide.functions].sort(), [...readme.functions].sort());
    });

    it("name the same commands", () => {
        assert.deepEqual([...guide.commands].sort(), [...readme.commands].sort());
    });

    it("both name every entry point of gas/form-sender and every npm run fs command", () => {
        const entryPoints = publicFunctions(GAS_PACKAGE);
        assert.ok(entryPoints.length >= 8, entryPoints.join(", "));
        for (const fn of entryPoints) {
            assert.ok(readme.functions.has(fn), `README names ${fn}`);
            assert.ok(guide.functions.has(fn), `docs/form-sender-gas.md names ${fn}`);
        }
        const usage = read("scripts/lib/fs/commands.ts");
        const fsCommands = [...new Set([...usage.matchAll(/^\s+case "(\w+)":/gm)].map((m) => m[1]))];
        assert.deepEqual(fsCommands.sort(), ["cancel", "list", "logs", "show", "submit"]);
        for (const c of fsCommands) {
            assert.ok(readme.commands.has(`npm run fs -- ${c}`), `README names npm run fs -- ${c}`);
            assert.ok(guide.commands.has(`npm run fs -- ${c}`), `docs/form-sender-gas.md names npm run fs -- ${c}`);
        }
    });
});
