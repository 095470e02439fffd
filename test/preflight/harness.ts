/**
 * Runs the preflight in this process against the loopback AWS stand-ins: the SDK clients find them through
 * AWS_ENDPOINT_URL and take credentials from the environment, exactly as on an operator's machine.
 */
import { runPreflight, PreflightReport, CheckResult } from "../../scripts/lib/preflight";
import { FakeAccount } from "../support/aws/account";
import { FakeAws, startFakeAws } from "../support/aws/server";
import { ACCESS_KEY_ID, healthyAccount, NOW, STG_OVERRIDES, toolsDir, Tools } from "./fixtures";

/**
 * Environment of a machine with credentials in the environment and no profile, SSO or instance metadata;
 * `accessKeyId` null: no credentials at all.
 */
export function awsEnv(
    endpoint: string,
    accessKeyId: string | null = ACCESS_KEY_ID,
): Record<string, string | undefined> {
    return {
        AWS_ENDPOINT_URL: endpoint,
        AWS_ACCESS_KEY_ID: accessKeyId ?? undefined,
        AWS_SECRET_ACCESS_KEY: accessKeyId === null ? undefined : "fake-secret-access-key",
        AWS_SESSION_TOKEN: undefined,
        AWS_PROFILE: undefined,
        AWS_DEFAULT_PROFILE: undefined,
        AWS_CONFIG_FILE: "/nonexistent/aws-config",
        AWS_SHARED_CREDENTIALS_FILE: "/nonexistent/aws-credentials",
        AWS_EC2_METADATA_DISABLED: "true",
        AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: undefined,
        AWS_CONTAINER_CREDENTIALS_FULL_URI: undefined,
        AWS_WEB_IDENTITY_TOKEN_FILE: undefined,
        AWS_REGION: undefined,
    };
}

/** Sets `vars` in process.env for the duration of `fn`. */
export async function withEnv<T>(vars: Record<string, string | undefined>, fn: () => Promise<T>): Promise<T> {
    const saved: Record<string, string | undefined> = {};
    for (const [k, v] of Object.entries(vars)) {
        saved[k] = process.env[k];
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
    }
    try {
        return await fn();
    } finally {
        for (const [k, v] of Object.entries(saved)) {
            if (v === undefined) delete process.env[k];
            else process.env[k] = v;
        }
    }
}

export interface RunOptions {
    /** Changes to the healthy account before the run. */
    account?: (a: FakeAccount) => void;
    /** Config keys (unqualified, or namespaced like aws:allowedAccountIds) replacing the stack file's, on top of STG_OVERRIDES. */
    config?: Record<string, string>;
    stack?: string;
    tools?: Tools;
    checkSecretKeys?: boolean;
    accessKeyId?: string;
    /** No credentials anywhere (environment, files, metadata). */
    noCredentials?: boolean;
    /** Replaces the stand-in's endpoint (an unreachable one). */
    endpoint?: string;
    /** Use the stack file's values as they are (no STG_OVERRIDES). */
    asCommitted?: boolean;
    /** The preflight's clock (the runner key's expiry); fixtures' NOW unless given. */
    now?: Date;
}

export interface Run {
    report: PreflightReport;
    account: FakeAccount;
    check(id: string, region?: string): CheckResult;
}

export async function preflight(options: RunOptions = {}): Promise<Run> {
    const account = healthyAccount();
    options.account?.(account);
    const fake: FakeAws = await startFakeAws(account);
    try {
        const config: Record<string, string> = options.asCommitted ? {} : { ...STG_OVERRIDES };
        for (const [k, v] of Object.entries(options.config ?? {}))
            config[k.includes(":") ? k : `ops-platform:${k}`] = v;
        const report = await withEnv(
            awsEnv(
                options.endpoint ?? fake.endpoint,
                options.noCredentials ? null : (options.accessKeyId ?? ACCESS_KEY_ID),
            ),
            () =>
                runPreflight({
                    stack: options.stack ?? "stg",
                    config,
                    checkSecretKeys: options.checkSecretKeys,
                    env: { PATH: toolsDir(options.tools) },
                    now: options.now ?? NOW,
                }),
        );
        return {
            report,
            account,
            check(id: string, region?: string) {
                const found = report.checks.filter((c) => c.id === id && (region === undefined || c.region === region));
                if (found.length !== 1) {
                    throw new Error(
                        `expected one check ${id}${region ? ` in ${region}` : ""}, got ${found.length}:\n` +
                            JSON.stringify(report.checks, null, 2),
                    );
                }
                return found[0];
            },
        };
    } finally {
        await fake.close();
    }
}
