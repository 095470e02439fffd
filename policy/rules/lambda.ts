/**
 * Lambda: every function states the power it runs with and how long it may run, is traced, and
 * keeps secrets out of its environment (they are read at runtime from Secrets Manager).
 * `aws.lambda.CallbackFunction` registers as `aws:lambda/function:Function`, so it is covered.
 */
import { secretReason } from "../lib/secretPatterns";
import { describe, display, get, isSet, isUnknown } from "../lib/resource";
import { ResourceRule } from "../lib/rule";

const FUNCTION = "aws:lambda/function:Function";

/**
 * Runtimes past (or at) AWS's deprecation date, when function creation and updates are blocked
 * (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html).
 */
export const DEPRECATED_RUNTIMES: readonly string[] = [
    "nodejs",
    "nodejs4.3",
    "nodejs4.3-edge",
    "nodejs6.10",
    "nodejs8.10",
    "nodejs10.x",
    "nodejs12.x",
    "nodejs14.x",
    "nodejs16.x",
    "nodejs18.x",
    "python2.7",
    "python3.6",
    "python3.7",
    "python3.8",
    "python3.9",
    "ruby2.5",
    "ruby2.7",
    "ruby3.2",
    "java8",
    "go1.x",
    "provided",
    "dotnetcore1.0",
    "dotnetcore2.0",
    "dotnetcore2.1",
    "dotnetcore3.1",
    "dotnet5.0",
    "dotnet6",
    "dotnet7",
];

export const lambdaExplicitConfiguration: ResourceRule = {
    scope: "resource",
    name: "lambda-explicit-configuration",
    description: "Every Lambda function sets its role, a supported runtime, a timeout and a memory size explicitly.",
    checkov: ["CKV_AWS_363"],
    enforcementLevel: "mandatory",
    remediation:
        'Pass role (a least-privilege role), runtime: "nodejs22.x", timeout and memorySize to the (Callback)Function.',
    types: [FUNCTION],
    check(r) {
        const out: string[] = [];
        const i = r.inputs;
        if (!isSet(i.role)) out.push(`${describe(r)} has no explicit \`role\``);
        const image = i.packageType === "Image";
        if (!image && !isSet(i.runtime)) out.push(`${describe(r)} has no explicit \`runtime\``);
        if (typeof i.runtime === "string" && DEPRECATED_RUNTIMES.includes(i.runtime))
            out.push(`${describe(r)} uses the deprecated runtime ${i.runtime}`);
        if (!isSet(i.timeout))
            out.push(`${describe(r)} has no explicit \`timeout\` (the 3 s default is a guess, not a decision)`);
        if (!isSet(i.memorySize)) out.push(`${describe(r)} has no explicit \`memorySize\``);
        return out;
    },
};

export const lambdaTracing: ResourceRule = {
    scope: "resource",
    name: "lambda-xray-tracing",
    description: "Every Lambda function has X-Ray active tracing.",
    checkov: ["CKV_AWS_50"],
    enforcementLevel: "mandatory",
    remediation:
        'Set tracingConfig: { mode: "Active" } and allow xray:PutTraceSegments / xray:PutTelemetryRecords in its role.',
    types: [FUNCTION],
    check(r) {
        const mode = get(r.inputs, "tracingConfig", "mode");
        if (mode === "Active" || isUnknown(mode)) return [];
        return [
            `${describe(r)} has tracingConfig.mode ${mode === undefined ? "unset" : `"${display(mode)}"`}, ` +
                'not "Active"',
        ];
    },
};

export const lambdaNoSecretsInEnvironment: ResourceRule = {
    scope: "resource",
    name: "lambda-no-secrets-in-environment",
    description:
        "No Lambda environment variable holds a secret (credential-shaped values, Pulumi secrets, " +
        "or secret-named variables with literal values).",
    checkov: ["CKV_AWS_45"],
    enforcementLevel: "mandatory",
    remediation:
        "Put the secret in Secrets Manager, pass its ARN (e.g. SUPABASE_KEY_SECRET_ARN) " +
        "and read it at runtime with GetSecretValue.",
    types: [FUNCTION],
    check(r) {
        const vars = get(r.inputs, "environment", "variables");
        if (!vars || typeof vars !== "object" || isUnknown(vars)) return [];
        const out: string[] = [];
        for (const [name, value] of Object.entries(vars as Record<string, unknown>)) {
            const why = secretReason(name, value);
            if (why) out.push(`${describe(r)} environment variable ${name}: ${why}`);
        }
        return out;
    },
};

export const LAMBDA_RULES = [lambdaExplicitConfiguration, lambdaTracing, lambdaNoSecretsInEnvironment];
