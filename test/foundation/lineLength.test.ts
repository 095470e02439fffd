import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";

const ROOT = path.resolve(__dirname, "..", "..");
/** The directories whose lines stay within the formatter's width (Prettier printWidth in .prettierrc.json). */
const DIRS = ["components", "functions", path.join("containers", "runner", "src"), "scripts", "policy"];
const WIDTH = (JSON.parse(fs.readFileSync(path.join(ROOT, ".prettierrc.json"), "utf8")) as { printWidth: number })
    .printWidth;

/**
 * Whether a line may exceed the width: it holds a URL, or the first character past the width sits inside a string
 * or template literal (text Prettier does not break). Width counts characters, not bytes: a Japanese character is one.
 */
function mayExceed(line: string, width = WIDTH): boolean {
    if (/https?:\/\//.test(line)) return true;
    const chars = [...line];
    let quote: string | null = null;
    for (let i = 0; i < chars.length && i <= width; i++) {
        const c = chars[i];
        if (quote !== null) {
            if (c === "\\") i++;
            else if (c === quote) quote = null;
        } else if (c === '"' || c === "'" || c === "`") {
            quote = c;
        } else if (c === "/" && chars[i + 1] === "/") {
            return false; // a comment: wrap it
        }
        if (i === width) return quote !== null;
    }
    return true;
}

function sources(dir: string, out: string[] = []): string[] {
    for (const name of fs.readdirSync(dir)) {
        if (name === "node_modules" || name === "dist") continue;
        const full = path.join(dir, name);
        if (fs.statSync(full).isDirectory()) sources(full, out);
        else if (/\.(ts|js|mjs)$/.test(name)) out.push(full);
    }
    return out;
}

describe("line length", () => {
    it(`keeps every line of ${DIRS.join(", ")} within ${WIDTH} characters, except URLs and unbreakable strings`, () => {
        const long: string[] = [];
        for (const file of DIRS.flatMap((d) => sources(path.join(ROOT, d)))) {
            fs.readFileSync(file, "utf8")
                .split("\n")
                .forEach((line, i) => {
                    if ([...line].length > WIDTH && !mayExceed(line)) {
                        long.push(`${path.relative(ROOT, file)}:${i + 1} (${[...line].length})`);
                    }
                });
        }
        assert.deepEqual(long, []);
    });

    it("tells code and comments that must wrap from strings and URLs that may not", () => {
        const pad = (s: string) => s + "x".repeat(130 - [...s].length);
        assert.equal(mayExceed(pad("const a = ")), false);
        assert.equal(mayExceed(pad("// a comment ")), false);
        assert.equal(mayExceed(pad('    message: "a long message ')), true);
        assert.equal(mayExceed(pad("    `template ${x} ")), true);
        assert.equal(mayExceed(pad('    f("short", ') + ")"), false);
        assert.equal(mayExceed(pad("// see https://docs.aws.amazon.com/ ")), true);
        assert.equal(
            mayExceed("営".repeat(100)),
            true,
            "100 Japanese characters are 300 bytes but only 100 characters",
        );
        assert.equal(mayExceed("営".repeat(130)), false);
    });
});
