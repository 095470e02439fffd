/**
 * Secret scanning for the offline plan: where known secret values (injected through test config)
 * must never appear — the JSON plan, the serialized code of every Lambda, and everything the run
 * printed. Findings name where the value was found, never the value itself.
 */
import * as fs from "fs";
import * as path from "path";
import { SECRET } from "../../policy/lib/resource";
import { OfflineRun, PlannedResource } from "../harness";

export interface Finding {
    /** Which secret (its config key), never its value. */
    readonly secret: string;
    readonly where: string;
}

/** Text of one code archive entry: inline text, or a file the archive points at (bounded). */
function entryText(entry: unknown, root: string): string | undefined {
    if (!entry || typeof entry !== "object") return undefined;
    const e = entry as { text?: unknown; path?: unknown };
    if (typeof e.text === "string") return e.text;
    if (typeof e.path === "string") {
        const file = path.resolve(root, e.path);
        // Source files and bundles the program wrote at plan time; node_modules trees are not
        // produced by the program and cannot contain stack config.
        if (fs.existsSync(file) && fs.statSync(file).isFile() && fs.statSync(file).size < 5 * 1024 * 1024)
            return fs.readFileSync(file, "utf8");
    }
    return undefined;
}

/** Each Lambda's serialized code: `{ function, file, text }` for every readable archive entry. */
export function lambdaCode(
    resources: readonly PlannedResource[],
    root: string,
): { fn: string; file: string; text: string }[] {
    const out: { fn: string; file: string; text: string }[] = [];
    for (const r of resources.filter((x) => x.type === "aws:lambda/function:Function")) {
        const code = r.inputs.code as { assets?: Record<string, unknown> } | string | undefined;
        if (code === undefined || typeof code === "string") continue;
        const walk = (assets: Record<string, unknown>, prefix: string) => {
            for (const [name, entry] of Object.entries(assets)) {
                const nested = (entry as { assets?: Record<string, unknown> })?.assets;
                if (nested) walk(nested, `${prefix}${name}/`);
                const text = entryText(entry, root);
                if (text !== undefined) out.push({ fn: r.name, file: `${prefix}${name}`, text });
            }
        };
        if (code.assets) walk(code.assets, "");
        else {
            const text = entryText(code, root);
            if (text !== undefined) out.push({ fn: r.name, file: "(archive)", text });
        }
    }
    return out;
}

/** Lambdas whose whole code input is a secret: a closure captured a secret Output. */
export function secretCode(resources: readonly PlannedResource[]): string[] {
    return resources
        .filter((r) => r.type === "aws:lambda/function:Function" && r.inputs.code === SECRET)
        .map((r) => r.name);
}

/** Every place any of `secrets` (name → value) occurs in `texts` (label → text). */
export function scan(
    secrets: Readonly<Record<string, string>>,
    texts: readonly { label: string; text: string }[],
): Finding[] {
    const out: Finding[] = [];
    for (const [name, value] of Object.entries(secrets)) {
        for (const t of texts) if (t.text.includes(value)) out.push({ secret: name, where: t.label });
    }
    return out;
}

/** The texts of one plan to scan: JSON document, each Lambda code file, captured output. */
export function planTexts(run: OfflineRun, logs: string, root: string): { label: string; text: string }[] {
    return [
        { label: "JSON plan", text: JSON.stringify(run) },
        ...lambdaCode(run.resources, root).map((c) => ({ label: `Lambda ${c.fn} code ${c.file}`, text: c.text })),
        { label: "logs of the run", text: logs },
    ];
}

/** Runs `f` while capturing everything written to stdout and stderr (console included). */
export async function captureOutput<T>(f: () => Promise<T>): Promise<{ result: T; output: string }> {
    let output = "";
    const out = process.stdout.write.bind(process.stdout);
    const err = process.stderr.write.bind(process.stderr);
    const tap = (chunk: unknown) => {
        output += typeof chunk === "string" ? chunk : Buffer.from(chunk as Uint8Array).toString("utf8");
        return true;
    };
    process.stdout.write = tap;
    process.stderr.write = tap;
    try {
        return { result: await f(), output };
    } finally {
        process.stdout.write = out;
        process.stderr.write = err;
    }
}
