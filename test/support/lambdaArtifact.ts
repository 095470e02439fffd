/**
 * A CallbackFunction's deployment artifact, run the way Lambda runs it: the serialized
 * `__index.js` and exactly the code-path packages the plan lists, copied (not linked) into a
 * fresh directory, loaded by a fresh `node` process whose NODE_PATH holds the AWS SDK for
 * JavaScript v3 clients, what they depend on, and nothing else — the part of
 * /var/runtime/node_modules the nodejs22.x runtime is documented to provide. Other `@aws-sdk/*`
 * packages (the S3 presigner) are left out on purpose: the runtime does not guarantee them, so a
 * function that needs one must carry it. A package missing from the bundle fails here as it would
 * in Lambda.
 */
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";

const ROOT = path.resolve(__dirname, "..", "..");
const NODE_MODULES = path.join(ROOT, "node_modules");
const run = promisify(execFile);

export interface CodeAssets {
    readonly assets: Record<string, { text?: string; path?: string }>;
}

export interface LambdaArtifact {
    readonly dir: string;
    /** The serialized handler module. */
    readonly text: string;
    /** Package names under node_modules/ in the bundle. */
    readonly packages: string[];
    remove(): void;
}

/** Writes the function's package to a new temp directory. */
export function writeLambdaPackage(code: CodeAssets): LambdaArtifact {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lambda-artifact-"));
    const text = code.assets["__index.js"]?.text;
    if (text === undefined) throw new Error("the code archive has no __index.js");
    fs.writeFileSync(path.join(dir, "__index.js"), text);
    const packages: string[] = [];
    for (const [key, asset] of Object.entries(code.assets)) {
        if (key === "__index.js") continue;
        if (!asset.path) throw new Error(`asset ${key} has no path`);
        fs.cpSync(path.resolve(ROOT, asset.path), path.join(dir, key), { recursive: true, dereference: true });
        if (key.startsWith("node_modules/")) packages.push(key.slice("node_modules/".length));
    }
    return { dir, text, packages, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

let sdkDir: string | undefined;

/** The package names the runtime's SDK directory holds: every installed @aws-sdk/client-* package and what it needs. */
export function runtimeSdkPackages(): string[] {
    const found = new Set<string>();
    const visit = (name: string) => {
        if (found.has(name)) return;
        const manifest = path.join(NODE_MODULES, name, "package.json");
        if (!fs.existsSync(manifest)) return; // nested copies travel inside their parent package
        found.add(name);
        const pkg = JSON.parse(fs.readFileSync(manifest, "utf8")) as { dependencies?: Record<string, string> };
        for (const dep of Object.keys(pkg.dependencies ?? {})) visit(dep);
    };
    for (const name of fs.readdirSync(path.join(NODE_MODULES, "@aws-sdk")).filter((n) => n.startsWith("client-")))
        visit(`@aws-sdk/${name}`);
    return [...found].sort();
}

/**
 * A directory standing in for /var/runtime/node_modules (created once per test process). Its
 * entries link to the project's copies, which is enough: only SDK code resolves through them.
 */
export function runtimeSdkDir(): string {
    if (sdkDir) return sdkDir;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lambda-runtime-sdk-"));
    for (const name of runtimeSdkPackages()) {
        const link = path.join(dir, name);
        fs.mkdirSync(path.dirname(link), { recursive: true });
        fs.symlinkSync(path.join(NODE_MODULES, name), link, "dir");
    }
    process.once("exit", () => fs.rmSync(dir, { recursive: true, force: true }));
    return (sdkDir = dir);
}

export interface Invocation<T> {
    readonly result: T;
    /** Lines the function wrote to stdout (its logs), parsed as JSON where they are JSON. */
    readonly logs: unknown[];
    readonly stderr: string;
    /** Modules loaded from neither the bundle nor the runtime's SDK (must be none). */
    readonly foreign: string[];
}

/**
 * Requires the package in a fresh node process with only `env` (plus PATH and the runtime
 * SDK's NODE_PATH), invokes `handler(event, context)` and returns its result. A rejected
 * handler rejects with the process's output.
 */
export async function invokeLambda<T = unknown>(
    dir: string,
    event: unknown,
    env: Record<string, string> = {},
    timeoutMs = 60_000,
): Promise<Invocation<T>> {
    const sdk = runtimeSdkDir();
    const script = `
        const fs = require("fs");
        const dir = fs.realpathSync(${JSON.stringify(dir)});
        const sdk = ${JSON.stringify(NODE_MODULES)};
        const m = require(dir + "/__index.js");
        const context = { awsRequestId: "req-artifact", functionName: process.env.AWS_LAMBDA_FUNCTION_NAME, getRemainingTimeInMillis: () => ${timeoutMs} };
        Promise.resolve(m.handler(${JSON.stringify(event)}, context)).then((r) => {
            const scopes = ${JSON.stringify(runtimeSdkPackages())}.map((p) => sdk + "/" + p + "/");
            const foreign = Object.keys(require.cache).filter((k) => !k.startsWith(dir + "/") && !scopes.some((s) => k.startsWith(s)));
            process.stdout.write("\\nRESULT " + JSON.stringify({ result: r === undefined ? null : r, foreign }) + "\\n");
        }, (e) => { console.error(e); process.exit(1); });
    `;
    const { stdout, stderr } = await run(process.execPath, ["-e", script], {
        cwd: dir,
        env: { PATH: process.env.PATH ?? "/usr/bin:/bin", NODE_PATH: sdk, AWS_REGION: "us-east-1", ...env },
        maxBuffer: 32 * 1024 * 1024,
        timeout: timeoutMs,
    });
    const lines = stdout.split("\n");
    let last = lines.length - 1;
    while (last >= 0 && !lines[last].startsWith("RESULT ")) last--;
    if (last < 0) throw new Error(`the handler printed no result; stdout: ${stdout}\nstderr: ${stderr}`);
    // The handler's result crossed the process boundary as JSON; `T` is the shape the caller expects.
    const { result, foreign } = JSON.parse(lines[last].slice("RESULT ".length)) as { result: T; foreign: string[] };
    const logs = lines
        .slice(0, last)
        .filter((l) => l.trim() !== "")
        .map((l): unknown => {
            try {
                return JSON.parse(l);
            } catch {
                return l;
            }
        });
    return { result, logs, stderr, foreign };
}
