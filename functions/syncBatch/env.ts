/**
 * Production wiring from the Lambda environment the SyncScheduler component sets. Only
 * non-secret settings live in the environment: the DB password and the YouTube key are read
 * from Secrets Manager on each run through the ARNs given here.
 */
import { Client } from "pg";
import { DB_SSL_MODES, DbSslMode } from "./constants";
import { DEFAULT_QUOTA_BUDGET, YOUTUBE_API_BASE_URL } from "./youtube";
import type { SyncDeps } from "./handler";
import type { Logger } from "./log";
import type { SecretGetter } from "./secrets";

/** Environment variables the function reads; the component sets each of them. */
export const SYNC_ENV = {
    dbHost: "DB_HOST",
    dbPort: "DB_PORT",
    dbName: "DB_NAME",
    dbUsername: "DB_USERNAME",
    dbSslMode: "DB_SSL_MODE",
    dbPasswordSecretArn: "DB_PASSWORD_SECRET_ARN",
    youtubeApiKeySecretArn: "YOUTUBE_API_KEY_SECRET_ARN",
    channelIds: "YOUTUBE_CHANNEL_IDS",
    quotaBudget: "YOUTUBE_QUOTA_BUDGET",
    /** Not set in AWS; lets the artifact test point the function at a loopback API. */
    youtubeBaseUrl: "YOUTUBE_API_BASE_URL",
} as const;

function required(env: NodeJS.ProcessEnv, name: string): string {
    const v = env[name];
    if (v === undefined || v.trim() === "") {
        throw new Error(
            `sync-batch: environment variable ${name} is not set; it is set by the SyncScheduler component, ` +
                "so redeploy the stack (pulumi up) rather than editing the function",
        );
    }
    return v.trim();
}

/** pg `ssl` option for a mode. verify-full trusts the RDS CAs via NODE_EXTRA_CA_CERTS. */
export function sslOption(mode: DbSslMode): false | { rejectUnauthorized: boolean } {
    if (mode === "disable") return false;
    return { rejectUnauthorized: mode === "verify-full" };
}

/** SyncDeps from `process.env`, a secret getter and a logger. */
export function syncDepsFromEnv(env: NodeJS.ProcessEnv, getSecret: SecretGetter, logger: Logger): SyncDeps {
    const host = required(env, SYNC_ENV.dbHost);
    const portText = env[SYNC_ENV.dbPort]?.trim() || "5432";
    const port = Number(portText);
    if (!/^\d+$/.test(portText) || port < 1 || port > 65535) {
        throw new Error(`sync-batch: ${SYNC_ENV.dbPort} must be a TCP port (1-65535), got ${JSON.stringify(portText)}`);
    }
    const sslMode = (env[SYNC_ENV.dbSslMode]?.trim() || "verify-full") as DbSslMode;
    if (!(DB_SSL_MODES as readonly string[]).includes(sslMode)) {
        throw new Error(
            `sync-batch: ${SYNC_ENV.dbSslMode} must be one of ${DB_SSL_MODES.join(", ")}, ` +
                `got ${JSON.stringify(sslMode)}`,
        );
    }
    const budgetText = env[SYNC_ENV.quotaBudget]?.trim() || String(DEFAULT_QUOTA_BUDGET);
    if (!/^\d+$/.test(budgetText) || Number(budgetText) < 1) {
        throw new Error(
            `sync-batch: ${SYNC_ENV.quotaBudget} must be a positive integer of quota units, ` +
                `got ${JSON.stringify(budgetText)}`,
        );
    }
    const database = required(env, SYNC_ENV.dbName);
    const user = required(env, SYNC_ENV.dbUsername);
    const channelIds = (env[SYNC_ENV.channelIds] ?? "")
        .split(",")
        .map((s) => s.trim())
        .filter((s) => s !== "");
    return {
        async connect(password) {
            const client = new Client({
                host,
                port,
                database,
                user,
                password,
                ssl: sslOption(sslMode),
                application_name: "sync-batch",
                connectionTimeoutMillis: 15_000,
                // A hung statement must fail the run well before the Lambda timeout.
                statement_timeout: 300_000,
            });
            await client.connect();
            return client;
        },
        getSecret,
        dbPasswordSecretId: required(env, SYNC_ENV.dbPasswordSecretArn),
        youtubeApiKeySecretId: required(env, SYNC_ENV.youtubeApiKeySecretArn),
        youtubeBaseUrl: env[SYNC_ENV.youtubeBaseUrl]?.trim() || YOUTUBE_API_BASE_URL,
        channelIds,
        quotaBudget: Number(budgetText),
        logger,
    };
}
