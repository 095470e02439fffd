import * as path from "path";
import { unsetSecretWarnings } from "../../components/config";
import { nodeVersionWarning, OfflineRun, PlannedResource, readStackFile, ROOT, runOffline } from "./offlineEngine";

/** The program's default export (index.ts): the Pulumi CLI calls it without options. */
type Program = (options: { warn?: (message: string) => void }) => unknown;

/**
 * Runs the program for `stack` from its stack file (validated as the Pulumi CLI validates it); `overrides` replace
 * or add config keys (tests). Problems of this machine that would stop `pulumi preview`/`up` but not the plan (an
 * old Node, a missing build context) are returned as `warnings`.
 */
export async function planStack(
    stack: string,
    overrides: { config?: Record<string, string>; secretKeys?: string[] } = {},
): Promise<OfflineRun> {
    const file = readStackFile(stack);
    const warnings: string[] = [];
    const node = nodeVersionWarning();
    if (node !== undefined) warnings.push(node);
    // Loaded on first use: the program pulls in every component and provider SDK.
    const { default: program } = (await import(path.join(ROOT, "index.ts"))) as { default: Program };
    const run = await runOffline(
        () =>
            program({
                warn: (message) =>
                    warnings.push(`${message} (\`pulumi preview\` and \`pulumi up\` stop here; the plan goes on)`),
            }),
        {
            stack,
            config: { ...file.config, ...overrides.config },
            secretKeys: overrides.secretKeys,
        },
    );
    // Unset Supabase secrets do not stop pulumi up, but every call to the deployed API fails (components/config).
    const config = { ...file.config, ...overrides.config };
    warnings.push(...unsetSecretWarnings(stack, config, [...file.encryptedKeys, ...(overrides.secretKeys ?? [])]));
    return { ...run, warnings };
}

/** Each warning as a block that stands out in a terminal or CI log. */
export function formatWarnings(warnings: readonly string[]): string {
    return warnings.map((w) => `!! WARNING: ${w}\n`).join("");
}

/** Inputs worth a glance per resource type, in display order. */
const KEY_INPUTS: Record<string, string[]> = {
    "aws:ec2/vpc:Vpc": ["cidrBlock"],
    "aws:ec2/subnet:Subnet": ["availabilityZone", "cidrBlock", "mapPublicIpOnLaunch"],
    "aws:ec2/securityGroupRule:SecurityGroupRule": [
        "type",
        "protocol",
        "fromPort",
        "toPort",
        "cidrBlocks",
        "sourceSecurityGroupId",
    ],
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": [
        "ipProtocol",
        "fromPort",
        "toPort",
        "cidrIpv4",
        "referencedSecurityGroupId",
    ],
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": [
        "ipProtocol",
        "fromPort",
        "toPort",
        "cidrIpv4",
        "referencedSecurityGroupId",
    ],
    "aws:lb/listener:Listener": ["port", "protocol", "sslPolicy"],
    "aws:lb/targetGroup:TargetGroup": ["port", "protocol", "targetType"],
    "aws:ecs/taskDefinition:TaskDefinition": ["family", "cpu", "memory"],
    "aws:ecs/service:Service": ["desiredCount", "launchType"],
    "aws:cloudwatch/logGroup:LogGroup": ["name", "retentionInDays"],
    "aws:lambda/function:Function": ["runtime", "timeout", "memorySize"],
    "aws:cloudwatch/eventRule:EventRule": ["scheduleExpression", "state"],
    "aws:cloudwatch/metricAlarm:MetricAlarm": ["metricName", "comparisonOperator", "threshold"],
};

function scalar(v: unknown): string | undefined {
    if (typeof v === "string")
        return v.length > 60
            ? JSON.stringify(v.slice(0, 57) + "...")
            : /\s/.test(v) || v === ""
              ? JSON.stringify(v)
              : v;
    if (typeof v === "number" || typeof v === "boolean") return String(v);
    if (Array.isArray(v) && v.every((x) => typeof x === "string" || typeof x === "number") && v.length <= 4)
        return `[${v.join(",")}]`;
    return undefined;
}

function keyProps(r: PlannedResource): string {
    const keys = KEY_INPUTS[r.type] ?? Object.keys(r.inputs).filter((k) => k !== "tags" && k !== "tagsAll");
    const parts: string[] = [];
    for (const k of keys) {
        const s = scalar(r.inputs[k]);
        if (s !== undefined) parts.push(`${k}=${s}`);
        if (parts.length === 5) break;
    }
    return parts.join(" ");
}

/** Marks a resource `pulumi destroy` and replacements refuse to delete (`protect: true`). */
const protectedMark = (r: PlannedResource) => (r.protect ? "  [protected]" : "");

/** The human-readable plan: warnings, a tree per component, then outputs and GAS properties. */
export function formatPlanText(plan: OfflineRun): string {
    const children = new Map<string | null, PlannedResource[]>();
    for (const r of plan.resources) {
        const list = children.get(r.parent) ?? [];
        list.push(r);
        children.set(r.parent, list);
    }
    const count = (urn: string): number => (children.get(urn) ?? []).reduce((n, c) => n + 1 + count(c.urn), 0);
    const regionOf = new Map(
        plan.resources.filter((r) => r.type === "pulumi:providers:aws").map((r) => [r.urn, String(r.inputs.region)]),
    );
    const lines: string[] = [];
    lines.push(`Offline plan of ${plan.project} stack '${plan.stack}' (mock engine: no credentials, no cloud calls)`);
    if (plan.warnings?.length) lines.push("", formatWarnings(plan.warnings));
    lines.push(`${plan.resources.length} resources\n`);
    const walk = (r: PlannedResource, indent: string, last: boolean, top: boolean) => {
        const kids = children.get(r.urn) ?? [];
        const region = r.provider ? regionOf.get(r.provider) : undefined;
        if (top) {
            const where = region ? `  [${region}]` : "";
            const size = kids.length ? `  (${count(r.urn)} resources)` : "";
            lines.push(`${r.type}  ${r.name}${protectedMark(r)}${where}${size}  ${keyProps(r)}`.trimEnd());
        } else {
            const branch = last ? "└─ " : "├─ ";
            const detail = r.custom ? keyProps(r) : `(${count(r.urn)} resources)`;
            lines.push(`${indent}${branch}${r.type}  ${r.name}${protectedMark(r)}  ${detail}`.trimEnd());
        }
        kids.forEach((k, i) => walk(k, top ? "  " : indent + (last ? "   " : "│  "), i === kids.length - 1, false));
    };
    const stackRes = plan.resources.find((r) => r.type === "pulumi:pulumi:Stack");
    for (const r of children.get(stackRes?.urn ?? null) ?? []) {
        walk(r, "", true, true);
        lines.push("");
    }
    const { gasScriptProperties, ...outputs } = plan.outputs;
    lines.push("Outputs:");
    for (const [k, v] of Object.entries(outputs))
        lines.push(`  ${k}: ${typeof v === "string" ? v : JSON.stringify(v)}`);
    if (gasScriptProperties && typeof gasScriptProperties === "object") {
        lines.push("", "GAS Script Properties (paste with npm run gas-config after pulumi up):");
        for (const [k, v] of Object.entries(gasScriptProperties)) lines.push(`  ${k} = ${v}`);
    }
    return lines.join("\n") + "\n";
}
