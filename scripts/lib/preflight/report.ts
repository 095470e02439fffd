/**
 * The preflight report: one result per check, printed as a table for people or as one JSON document for CI.
 */

/** PASS: nothing to do. WARN: the deploy may still work, read it. FAIL: `pulumi up` will fail. SKIP: not run. */
export type CheckStatus = "PASS" | "WARN" | "FAIL" | "SKIP";

export interface CheckResult {
    /** Stable identifier, e.g. `quota.ec2-spot-vcpus`. */
    readonly id: string;
    /** Region the check ran in; `global` for IAM and local tooling. */
    readonly region: string;
    readonly status: CheckStatus;
    /** What was checked and what was found (never a secret value). */
    readonly message: string;
    /** What the stack needs, when it is a number or a name. */
    readonly needed?: string;
    /** The exact command or console step that fixes a FAIL or WARN. */
    readonly fix?: string;
}

export interface PreflightReport {
    readonly stack: string;
    /** Account and principal of the credentials used, when they resolved. */
    readonly account?: string;
    readonly principal?: string;
    readonly checks: CheckResult[];
    readonly summary: Record<CheckStatus, number>;
    /** Wall time of the whole run. */
    readonly durationMs: number;
}

export function summarize(checks: readonly CheckResult[]): Record<CheckStatus, number> {
    const summary: Record<CheckStatus, number> = { PASS: 0, WARN: 0, FAIL: 0, SKIP: 0 };
    for (const c of checks) summary[c.status] += 1;
    return summary;
}

/** Exit code of `npm run preflight`: 1 when anything failed. */
export const exitCodeOf = (report: PreflightReport): number => (report.summary.FAIL > 0 ? 1 : 0);

/** One line per check (status, id, region, message), the fix indented below it. */
export function formatReport(report: PreflightReport): string {
    const lines: string[] = [];
    const who = report.account ? ` as ${report.principal ?? "?"} (account ${report.account})` : "";
    lines.push(`Preflight of stack '${report.stack}'${who}`);
    lines.push("");
    const idWidth = Math.max(...report.checks.map((c) => c.id.length), 5);
    const regionWidth = Math.max(...report.checks.map((c) => c.region.length), 6);
    lines.push(`${"STATUS".padEnd(6)}  ${"CHECK".padEnd(idWidth)}  ${"REGION".padEnd(regionWidth)}  RESULT`);
    for (const c of report.checks) {
        const needed = c.needed !== undefined ? ` (needed: ${c.needed})` : "";
        lines.push(
            `${c.status.padEnd(6)}  ${c.id.padEnd(idWidth)}  ${c.region.padEnd(regionWidth)}  ${c.message}${needed}`,
        );
        if (c.fix && c.status !== "PASS") lines.push(`${" ".repeat(8)}fix: ${c.fix}`);
    }
    const s = report.summary;
    lines.push("");
    lines.push(
        `${s.PASS} passed, ${s.WARN} warnings, ${s.FAIL} failed, ${s.SKIP} skipped in ` +
            `${(report.durationMs / 1000).toFixed(1)} s` +
            (s.FAIL > 0 ? " — fix each FAIL before `pulumi up`" : ""),
    );
    return lines.join("\n") + "\n";
}
