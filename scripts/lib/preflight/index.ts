/**
 * `npm run preflight`: read-only checks of the AWS account and of this machine before `pulumi up`.
 *
 * The stack configuration is read as the program reads it (the CLI's validation in ../stackConfig.ts, then the
 * program's own readers in components/config); what the stack needs from the account comes from the stack's
 * offline plan (./requirements.ts). Credentials come from the SDK's default chain; every call is read-only and
 * bounded by a timeout.
 */
import * as fs from "fs";
import * as path from "path";
import {
    FORM_SENDER_REQUIRED_SECRETS,
    parseStackConfig,
    PROJECT,
    PROJECT_DIR,
    secretConfigured,
    StackConfig,
} from "../../../components/config";
import { weatherAppPathProblem } from "../../../components/config/weather";
import { OfflineRun, readStackFile } from "../offlineEngine";
import { planStack } from "../plan";
import { AccountInputs, accountChecks, callerIdentity, Clients, identityChecks } from "./accountChecks";
import { CREDENTIALS_HELP, describeError, resolveCredentials } from "./aws";
import { CheckResult, PreflightReport, summarize } from "./report";
import { requirementsFromPlan } from "./requirements";
import { runnerKeyChecks } from "./runnerKey";
import { supabaseSecretChecks, SupabaseSecretsInput } from "./supabaseSecrets";
import { toolingChecks } from "./tooling";

export { formatReport, exitCodeOf } from "./report";
export type { PreflightReport, CheckResult } from "./report";

/**
 * The JSON keys the sync function accepts in its secrets, first present wins (functions/syncBatch/handler.ts
 * passes these lists to `secretValue`; a plain, non-JSON value is accepted too).
 */
export const DB_PASSWORD_FIELDS = ["password"] as const;
export const YOUTUBE_API_KEY_FIELDS = ["apiKey", "YOUTUBE_API_KEY", "api_key", "key"] as const;

/**
 * IAM actions the preflight calls (README "Preflight"); `secretsmanager:GetSecretValue` (and `kms:Decrypt` on a
 * customer key) only with --check-secret-keys.
 */
export const PREFLIGHT_PERMISSIONS = [
    "sts:GetCallerIdentity",
    "servicequotas:GetServiceQuota",
    "servicequotas:GetAWSDefaultServiceQuota",
    "ec2:DescribeAccountAttributes",
    "ec2:DescribeAddresses",
    "ec2:DescribeVpcs",
    "ec2:DescribeSubnets",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeRouteTables",
    "lambda:GetAccountSettings",
    "iam:GetRole",
    "apigateway:GET",
    "acm:DescribeCertificate",
    "secretsmanager:DescribeSecret",
    "secretsmanager:GetSecretValue",
] as const;

export interface PreflightOptions {
    readonly stack: string;
    /** Read secret values to check their JSON keys (`--check-secret-keys`). */
    readonly checkSecretKeys?: boolean;
    /** Fully qualified config keys replacing the stack file's values, as planStack takes them. */
    readonly config?: Record<string, string>;
    /** Environment for the local tools (PATH); the CLI passes process.env. */
    readonly env?: NodeJS.ProcessEnv;
    /** Leave out the local tooling checks (`--skip-tooling`), e.g. on a machine that only checks the account. */
    readonly skipTooling?: boolean;
    /** The clock the runner key's expiry is compared with; the tests pin it. Defaults to now. */
    readonly now?: Date;
}

/** The stack's typed configuration, read from its stack file as the program reads it. */
function readConfig(
    stack: string,
    overrides: Record<string, string>,
): { config: StackConfig; allowed: string[]; configured: SupabaseSecretsInput["configured"] } {
    const file = readStackFile(stack);
    const merged = { ...file.config, ...overrides };
    const prefix = `${PROJECT}:`;
    const raw: Record<string, string> = {};
    for (const [k, v] of Object.entries(merged)) if (k.startsWith(prefix)) raw[k.slice(prefix.length)] = v;
    const secretKeys = file.encryptedKeys.filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length));
    const config = parseStackConfig(stack, raw, secretKeys);
    // The AWS provider's allowedAccountIds (stack file `aws:allowedAccountIds`), a JSON list when set.
    let allowed: string[] = [];
    const allowedRaw = merged["aws:allowedAccountIds"];
    if (allowedRaw) {
        try {
            allowed = (JSON.parse(allowedRaw) as unknown[]).map(String);
        } catch {
            allowed = [allowedRaw];
        }
    }
    const configured = Object.fromEntries(
        FORM_SENDER_REQUIRED_SECRETS.map((s) => [s.key, secretConfigured(merged, file.encryptedKeys, s.key)]),
    ) as SupabaseSecretsInput["configured"];
    return { config, allowed, configured };
}

/**
 * Plans by their inputs (Pulumi.yaml, the stack file, the overrides): a plan is a pure function of them, and a
 * process that checks the same stack again (a watch loop, the tests) need not run the program again.
 */
const plans = new Map<string, Promise<OfflineRun>>();
function planFor(stack: string, overrides: Record<string, string> | undefined): Promise<OfflineRun> {
    const read = (f: string) => fs.readFileSync(path.join(PROJECT_DIR, f), "utf8");
    const key = JSON.stringify([stack, read("Pulumi.yaml"), read(`Pulumi.${stack}.yaml`), overrides ?? {}]);
    let plan = plans.get(key);
    if (!plan) {
        plan = planStack(stack, { config: overrides });
        plans.set(key, plan);
        plan.catch(() => plans.delete(key));
    }
    return plan;
}

const nodeMajorRequired = (): number => {
    const pkg = JSON.parse(fs.readFileSync(require.resolve("@pulumi/pulumi/package.json"), "utf8")) as {
        engines?: { node?: string };
    };
    return Number(/(\d+)/.exec(pkg.engines?.node ?? "")?.[1] ?? 22);
};

/** Runs every check for `stack`; never throws for a failed check, only for an unreadable stack configuration. */
export async function runPreflight(options: PreflightOptions): Promise<PreflightReport> {
    const started = Date.now();
    const { stack } = options;
    const { config, allowed, configured } = readConfig(stack, options.config ?? {});
    const checks: CheckResult[] = [];

    const tooling = options.skipTooling
        ? Promise.resolve([] as CheckResult[])
        : toolingChecks({ projectDir: PROJECT_DIR, env: options.env ?? process.env, nodeMajor: nodeMajorRequired() });
    const appPath = weatherAppPathProblem(config.weather, stack, PROJECT_DIR);
    if (appPath !== undefined) {
        checks.push({ id: "config.weatherAppPath", region: "local", status: "FAIL", message: appPath.message });
    }

    const identityRegion = config.formSender.region;
    let account: string | undefined;
    let principal: string | undefined;
    let credentials;
    try {
        credentials = await resolveCredentials();
    } catch (err) {
        checks.push({
            id: "identity",
            region: identityRegion,
            status: "FAIL",
            message: err instanceof Error ? err.message : String(err),
            fix: CREDENTIALS_HELP,
        });
    }
    if (credentials) {
        const clients = new Clients(credentials.provider);
        try {
            // The plan (CPU-bound, seconds) overlaps the identity call; it is only awaited when that succeeds.
            const planning = planFor(stack, options.config);
            planning.catch(() => undefined);
            let identity;
            try {
                identity = await callerIdentity(clients, identityRegion);
            } catch (err) {
                checks.push({
                    id: "identity",
                    region: identityRegion,
                    status: "FAIL",
                    // No policy can deny GetCallerIdentity: a refusal means the credentials themselves are bad.
                    message: `the credentials were not accepted or AWS did not answer: ${describeError(err)}`,
                    fix: CREDENTIALS_HELP,
                });
            }
            if (identity) {
                account = identity.account;
                principal = identity.arn;
                const plan = await planning;
                const input: AccountInputs = {
                    stack,
                    requirements: requirementsFromPlan(plan),
                    weatherRegion: config.weather.region,
                    certificateArn: config.weather.certificateArn,
                    syncRegion: config.sync.region,
                    syncSubnetIds: config.sync.subnetIds,
                    syncSecurityGroupIds: config.sync.securityGroupIds,
                    secrets: [
                        {
                            key: "syncDbPasswordSecretArn",
                            arn: config.sync.dbPasswordSecretArn,
                            fields: DB_PASSWORD_FIELDS,
                        },
                        {
                            key: "syncYoutubeApiKeySecretArn",
                            arn: config.sync.youtubeApiKeySecretArn,
                            fields: YOUTUBE_API_KEY_FIELDS,
                        },
                    ],
                    allowedAccountIds: allowed,
                    checkSecretKeys: options.checkSecretKeys ?? false,
                };
                const [inAccount, runnerKey, supabase] = await Promise.all([
                    accountChecks(clients, input),
                    runnerKeyChecks(clients, {
                        stack,
                        environment: config.environment,
                        region: config.formSender.region,
                        checkSecretKeys: input.checkSecretKeys,
                        now: options.now ?? new Date(),
                    }),
                    supabaseSecretChecks(clients, {
                        stack,
                        environment: config.environment,
                        region: config.formSender.region,
                        configured,
                        checkSecretKeys: input.checkSecretKeys,
                    }),
                ]);
                checks.push(
                    ...identityChecks(input, identity, identityRegion),
                    ...inAccount,
                    ...runnerKey,
                    ...supabase,
                );
            }
        } finally {
            clients.destroy();
        }
    }
    if (account === undefined) {
        checks.push({
            id: "account",
            region: "-",
            status: "SKIP",
            message: "account checks (quotas, roles, certificate, secrets, network) need working credentials",
        });
    }
    checks.push(...(await tooling));
    return { stack, account, principal, checks, summary: summarize(checks), durationMs: Date.now() - started };
}
