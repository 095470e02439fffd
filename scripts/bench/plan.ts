/**
 * Offline plan wall time per stack (target ≤ 10 s each on a 2-core machine), measured as an
 * operator runs it — a fresh `npm run plan` process — beside a baseline process that only loads
 * the Pulumi and AWS SDKs, so the figure separates module loading from the program itself.
 */
import { execFileSync } from "child_process";
import * as path from "path";

const ROOT = path.resolve(__dirname, "..", "..");
const TARGET_SECONDS = 10;

function timeNode(args: string[]): number {
    const start = process.hrtime.bigint();
    execFileSync("node", ["-r", "ts-node/register/transpile-only", ...args], {
        cwd: ROOT,
        stdio: ["ignore", "ignore", "inherit"],
    });
    return Number(process.hrtime.bigint() - start) / 1e9;
}

export function bench(): Promise<void> {
    const baseline = Math.min(
        ...[1, 2].map(() =>
            timeNode(["-e", "require('@pulumi/pulumi'); require('@pulumi/aws'); require('@pulumi/awsx')"]),
        ),
    );
    console.log(`baseline (load @pulumi/pulumi + aws + awsx only): ${baseline.toFixed(2)} s`);
    for (const stack of ["stg", "prd"]) {
        const runs = [1, 2, 3].map(() => timeNode(["scripts/plan.ts", "--stack", stack, "--json"]));
        const best = Math.min(...runs);
        const median = runs.sort((a, b) => a - b)[1];
        const verdict = median <= TARGET_SECONDS ? "met" : "MISSED";
        console.log(
            `plan ${stack}: median ${median.toFixed(2)} s, best ${best.toFixed(2)} s ` +
                `(${(median / baseline).toFixed(1)}× the SDK-load baseline; ` +
                `target ≤ ${TARGET_SECONDS} s: ${verdict})`,
        );
    }
    return Promise.resolve();
}
