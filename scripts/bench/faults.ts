/**
 * `npm run bench -- faults`: the send path's fault matrix (test/faults/matrix.ts) — each scenario of
 * issue 14 against real PostgreSQL, the RPC server, Chromium, loopback company sites and the AWS
 * stand-ins. Prints scenario × sends per company, items by state and each scenario's checks, then
 * `faults: <n> scenarios, double_sends <d>, lost <l>, silent_failures <s>`. FAULTS_ONLY=1,4 runs a subset.
 */
import { formatMatrix, runFaultMatrix } from "../../test/faults/matrix";

export async function bench(): Promise<void> {
    const started = Date.now();
    const only = process.env.FAULTS_ONLY?.split(",").map(Number);
    const m = await runFaultMatrix({
        only,
        onScenario: (s) => console.log(`  scenario ${s.id} done after ${Math.round((Date.now() - started) / 1000)} s`),
    });
    console.log(formatMatrix(m));
}
