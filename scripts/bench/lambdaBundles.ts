/**
 * Each Lambda's zipped bundle and cold load (`require` + factory) as packaged with its
 * `codePathOptions`, beside the same function packaged with CallbackFunction's default options
 * (every dependency of package.json) in the same run. Both load with NODE_PATH holding the AWS
 * SDK, as the nodejs22.x runtime provides it, so the cold load includes loading the SDK.
 * Targets: dispatcher ≤ 3 MB zipped and ≤ 10 % of the default packaging; cold load ≤ 300 ms.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { ROOT } from "../lib/offlineEngine";
import { planStack } from "../lib/plan";
import { runtimeSdkDir } from "../../test/support/lambdaArtifact";

function bundle(dir: string, index: string, packages: string[], env: Record<string, string>): { zipBytes: number; coldMs: number } {
    fs.mkdirSync(path.join(dir, "node_modules"), { recursive: true });
    fs.writeFileSync(path.join(dir, "__index.js"), index);
    for (const pkg of packages) {
        const target = path.join(dir, "node_modules", pkg);
        fs.mkdirSync(path.dirname(target), { recursive: true });
        fs.cpSync(path.join(ROOT, "node_modules", pkg), target, { recursive: true, dereference: true });
    }
    const zip = path.join(dir, "..", `${path.basename(dir)}.zip`);
    execFileSync("zip", ["-qr", zip, "."], { cwd: dir });
    // Cold load in a fresh process: require the handler module and run the factory once.
    const script = `const t=process.hrtime.bigint(); const m=require(${JSON.stringify(path.join(dir, "__index.js"))}); if (typeof m.handler!=="function") throw new Error("no handler"); process.stdout.write(String(Number(process.hrtime.bigint()-t)/1e6));`;
    const coldMs = Math.min(...[1, 2, 3].map(() => Number(execFileSync(process.execPath, ["-e", script], { encoding: "utf8", env: { ...env, PATH: process.env.PATH, NODE_PATH: runtimeSdkDir(), AWS_REGION: "us-east-1" } }))));
    return { zipBytes: fs.statSync(zip).size, coldMs };
}

const mb = (n: number) => (n < 1024 * 1024 ? `${(n / 1024).toFixed(0)} KB` : `${(n / 1024 / 1024).toFixed(2)} MB`);

export async function bench(): Promise<void> {
    const plan = await planStack("stg");
    const defaults = [...(await pulumi.runtime.computeCodePaths()).keys()].filter((k) => k.startsWith("node_modules/")).map((k) => k.slice("node_modules/".length));
    for (const fn of plan.resources.filter((r) => r.type === "aws:lambda/function:Function")) {
        const name = fn.name;
        const assets = (fn.inputs.code as { assets: Record<string, { text?: string }> }).assets;
        const packages = Object.keys(assets).filter((k) => k.startsWith("node_modules/")).map((k) => k.slice("node_modules/".length));
        const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bundle-"));
        try {
            // The factory runs at load and reads the function's planned environment.
            const env = (fn.inputs.environment as { variables?: Record<string, string> } | undefined)?.variables ?? {};
            const ours = bundle(path.join(tmp, "ours"), assets["__index.js"].text!, packages, env);
            const base = bundle(path.join(tmp, "default"), assets["__index.js"].text!, defaults, env);
            const share = (100 * ours.zipBytes) / base.zipBytes;
            console.log(
                `${name}: ${mb(ours.zipBytes)} zipped (${packages.length} packages), cold load ${ours.coldMs.toFixed(0)} ms | ` +
                    `default packaging ${mb(base.zipBytes)} (${defaults.length} packages), cold load ${base.coldMs.toFixed(0)} ms | ` +
                    `${share.toFixed(1)}% of default` +
                    (name === "form-sender-dispatcher" ? ` (targets ≤ 3 MB: ${ours.zipBytes <= 3 * 1024 * 1024 ? "met" : "MISSED"}, ≤ 10%: ${share <= 10 ? "met" : "MISSED"}, cold ≤ 300 ms: ${ours.coldMs <= 300 ? "met" : "MISSED"})` : ""),
            );
        } finally {
            fs.rmSync(tmp, { recursive: true, force: true });
        }
    }
}
