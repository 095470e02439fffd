/**
 * Each Lambda's zipped bundle and cold load (`require` + factory) as packaged with its
 * `codePathOptions`, beside the same function packaged with CallbackFunction's default options
 * (every dependency of package.json) in the same run. Both load with NODE_PATH holding the AWS
 * SDK clients and what they depend on, as the nodejs22.x runtime provides them, so the cold load
 * includes loading the SDK.
 * Targets: dispatcher ≤ 3 MB zipped and ≤ 10 % of the default packaging; cold load ≤ 300 ms;
 * no bundle carries playwright, an SDK client or supabase-js.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { ROOT } from "../lib/offlineEngine";
import { planStack } from "../lib/plan";
import { runtimeSdkDir } from "../../test/support/lambdaArtifact";

/** Copies `packages` from the project into `dir`/node_modules. */
function copyPackages(dir: string, packages: string[]): void {
    fs.mkdirSync(path.join(dir, "node_modules"), { recursive: true });
    for (const pkg of packages) {
        const target = path.join(dir, "node_modules", pkg);
        fs.mkdirSync(path.dirname(target), { recursive: true });
        fs.cpSync(path.join(ROOT, "node_modules", pkg), target, { recursive: true, dereference: true });
    }
}

/** Zipped size of `dir` once `index` is added as __index.js to the archive `base` (a copy of it). */
function zipWith(base: string, dir: string, index: string): number {
    const zip = `${base}.${process.hrtime.bigint()}.zip`;
    fs.copyFileSync(base, zip);
    fs.writeFileSync(path.join(dir, "__index.js"), index);
    execFileSync("zip", ["-q", zip, "__index.js"], { cwd: dir });
    const bytes = fs.statSync(zip).size;
    fs.rmSync(zip);
    return bytes;
}

/** Fastest of five cold loads in fresh processes: require the handler module (which runs the factory). */
function coldLoad(dir: string, env: Record<string, string>): number {
    const script = [
        "const t=process.hrtime.bigint();",
        `const m=require(${JSON.stringify(path.join(dir, "__index.js"))});`,
        'if (typeof m.handler!=="function") throw new Error("no handler");',
        "process.stdout.write(String(Number(process.hrtime.bigint()-t)/1e6));",
    ].join(" ");
    const once = () =>
        Number(
            execFileSync(process.execPath, ["-e", script], {
                encoding: "utf8",
                stdio: ["ignore", "pipe", "pipe"], // the SDK's warnings are not figures
                env: { ...env, PATH: process.env.PATH, NODE_PATH: runtimeSdkDir(), AWS_REGION: "us-east-1" },
            }),
        );
    // The fastest run is the least disturbed by whatever else the machine is doing.
    return Math.min(...[1, 2, 3, 4, 5].map(once));
}

const mb = (n: number) => (n < 1024 * 1024 ? `${(n / 1024).toFixed(0)} KB` : `${(n / 1024 / 1024).toFixed(2)} MB`);
const verdict = (ok: boolean) => (ok ? "met" : "MISSED");
/** Packages no bundle may carry: the browser, SDK clients (the runtime has them), the full Supabase client. */
const FORBIDDEN = /^(playwright|playwright-core|@aws-sdk\/client-.*|@supabase\/supabase-js|@pulumi\/.*)$/;

export async function bench(): Promise<void> {
    const plan = await planStack("stg");
    const defaults = [...(await pulumi.runtime.computeCodePaths()).keys()]
        .filter((k) => k.startsWith("node_modules/"))
        .map((k) => k.slice("node_modules/".length));
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bundle-"));
    try {
        // The default packaging is the same for every function but for __index.js: build and zip it once.
        const baseDir = path.join(tmp, "default");
        copyPackages(baseDir, defaults);
        const baseZip = path.join(tmp, "default.zip");
        execFileSync("zip", ["-qr", baseZip, "node_modules"], { cwd: baseDir });
        for (const fn of plan.resources.filter((r) => r.type === "aws:lambda/function:Function")) {
            const name = fn.name;
            const assets = (fn.inputs.code as { assets: Record<string, { text?: string }> }).assets;
            const index = assets["__index.js"].text!;
            const packages = Object.keys(assets)
                .filter((k) => k.startsWith("node_modules/"))
                .map((k) => k.slice("node_modules/".length));
            const ourDir = path.join(tmp, name);
            copyPackages(ourDir, packages);
            const ourZip = path.join(tmp, `${name}.zip`);
            execFileSync("zip", ["-qr", ourZip, "node_modules"], { cwd: ourDir });
            // The factory runs at load and reads the function's planned environment.
            const env = (fn.inputs.environment as { variables?: Record<string, string> } | undefined)?.variables ?? {};
            const ours = { zipBytes: zipWith(ourZip, ourDir, index), coldMs: coldLoad(ourDir, env) };
            const base = { zipBytes: zipWith(baseZip, baseDir, index), coldMs: coldLoad(baseDir, env) };
            const share = (100 * ours.zipBytes) / base.zipBytes;
            const forbidden = packages.filter((p) => FORBIDDEN.test(p));
            const carried = forbidden.length ? forbidden.join(", ") : "none";
            const targets =
                name === "form-sender-dispatcher"
                    ? ` (targets ≤ 3 MB: ${verdict(ours.zipBytes <= 3 * 1024 * 1024)}, ` +
                      `≤ 10%: ${verdict(share <= 10)}, cold ≤ 300 ms: ${verdict(ours.coldMs <= 300)})`
                    : "";
            console.log(
                `${name}: ${mb(ours.zipBytes)} zipped (${packages.length} packages), ` +
                    `cold load ${ours.coldMs.toFixed(0)} ms | ` +
                    `default packaging ${mb(base.zipBytes)} (${defaults.length} packages), ` +
                    `cold load ${base.coldMs.toFixed(0)} ms | ` +
                    `${share.toFixed(1)}% of default | ` +
                    `playwright/SDK clients/supabase-js carried: ${carried} (${verdict(forbidden.length === 0)})` +
                    targets,
            );
        }
    } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
    }
}
