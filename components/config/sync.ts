import { CHANNEL_ID, DB_SSL_MODES, DbSslMode } from "../../functions/syncBatch/constants";
import {
    AWS_REGIONS,
    AwsRegion,
    ConfigReader,
    SECURITY_GROUP_ID,
    scheduleExpressionError,
    SUBNET_ID,
} from "./validate";

/** SyncScheduler settings (keys `sync*`). */
export interface SyncConfig {
    /** Region of the existing RDS instance and its VPC. */
    readonly region: AwsRegion;
    /** EventBridge schedules in UTC; each fires the sync Lambda. */
    readonly scheduleExpressions: string[];
    /** Whether the schedules fire; the manual-trigger rule is always enabled. */
    readonly scheduleEnabled: boolean;
    /** Existing private subnets that reach the RDS instance (and the internet through NAT). */
    readonly subnetIds: string[];
    /** Existing security groups the RDS instance admits on its port. */
    readonly securityGroupIds: string[];
    readonly dbHost: string;
    readonly dbPort: number;
    readonly dbName: string;
    readonly dbUsername: string;
    readonly dbSslMode: DbSslMode;
    /** Full ARN of the secret holding the DB password (plain, or RDS JSON with `password`). */
    readonly dbPasswordSecretArn: string;
    /** Full ARN of the secret holding the YouTube Data API key. */
    readonly youtubeApiKeySecretArn: string;
    /** Channels always synced, besides `youtube_channels` rows with sync_enabled. */
    readonly channelIds: string[];
    /** YouTube quota units one run may spend. */
    readonly quotaBudget: number;
    readonly logRetentionDays: number;
    readonly timeoutSeconds: number;
    readonly memoryMb: number;
}

/** The Duration alarm threshold: a run longer than this is reported before Lambda kills it. */
export const SYNC_DURATION_ALARM_SECONDS = 600;

export const SYNC_DEFAULTS = {
    region: "ap-northeast-1" as AwsRegion,
    /** 15:00 UTC = 00:00 JST. */
    scheduleExpressions: ["cron(0 15 * * ? *)"],
    dbPort: 5432,
    dbName: "shirogane",
    dbUsername: "postgres",
    dbSslMode: "verify-full" as DbSslMode,
    quotaBudget: 10_000,
    logRetentionDays: 7,
    /** Lambda's maximum; above the 600 s Duration alarm so slow runs alarm before they are killed. */
    timeoutSeconds: 900,
    memoryMb: 512,
};

/** A secret name as Secrets Manager allows it: letters, digits and `/_+=.@-`. */
const SECRET_NAME = String.raw`[\w/+=.@-]+`;
const UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";
/**
 * The name RDS gives a master-user secret it manages (`ManageMasterUserPassword`): `rds!db-<uuid>` for an instance,
 * `rds!cluster-<uuid>` for an Aurora cluster. The `!` is allowed only there.
 */
const RDS_MANAGED_SECRET_NAME = `rds!(?:db|cluster)-${UUID}`;
/** The 6 random characters Secrets Manager appends to the name in every ARN. */
const SECRET_ARN_SUFFIX = "-[A-Za-z0-9]{6}";

/** Full Secrets Manager ARN: IAM matches the 6-character suffix, so partial ARNs grant nothing. */
function secretArnPattern(region: string): RegExp {
    const name = `(?:${RDS_MANAGED_SECRET_NAME}|${SECRET_NAME})`;
    return new RegExp(`^arn:aws:secretsmanager:${region}:\\d{12}:secret:${name}${SECRET_ARN_SUFFIX}$`);
}

const HOSTNAME =
    /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const PG_IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_$]{0,62}$/;

/** stringList that must be set: the reader's lists fall back to a default when unset (absent, `""` or `[]`). */
function requiredList(
    r: ConfigReader,
    key: string,
    opts: { item: (s: string) => string | undefined; itemExpected: string; example: string; maxItems?: number },
): string[] {
    const list = r.stringList(key, { default: [], minItems: 1, ...opts });
    if (!r.isSet(key)) {
        r.fail(
            key,
            `a list of at least 1 ${opts.itemExpected}`,
            undefined,
            `set it in Pulumi.${r.stack}.yaml as a YAML list, e.g. ops-platform:${key}: ${opts.example}`,
        );
    }
    if (opts.maxItems !== undefined && list.length > opts.maxItems) {
        r.fail(
            key,
            `at most ${opts.maxItems} items (the Lambda VPC limit)`,
            JSON.stringify(list),
            `remove ${list.length - opts.maxItems} from the list in Pulumi.${r.stack}.yaml`,
        );
    }
    return list;
}

export function readSyncConfig(r: ConfigReader, env: string): SyncConfig {
    const d = SYNC_DEFAULTS;
    const region = r.oneOf("syncRegion", AWS_REGIONS, { default: d.region });
    const scheduleExpressions = r.stringList("syncScheduleExpressions", {
        default: d.scheduleExpressions,
        minItems: 1,
        item: scheduleExpressionError,
        itemExpected: "an EventBridge schedule expression in UTC",
        // The seed's twice-daily variant: 12:00 and 18:00 JST.
        example: `["cron(0 3 * * ? *)", "cron(0 9 * * ? *)"]`,
    });
    const secretArn = (key: string, what: string, example: string) =>
        r.string(key, {
            pattern: secretArnPattern(region),
            expected:
                `the full ARN of the Secrets Manager secret holding ${what}, in ${region} ` +
                `(arn:aws:secretsmanager:${region}:<account>:secret:<name>-<6 characters>; ` +
                "aws secretsmanager describe-secret --secret-id <name> --query ARN)",
            example: `arn:aws:secretsmanager:${region}:123456789012:secret:${example}-AbCdEf`,
        });
    const timeoutSeconds = r.integer("syncTimeoutSeconds", {
        default: d.timeoutSeconds,
        min: SYNC_DURATION_ALARM_SECONDS + 60,
        max: 900,
    });
    return {
        region,
        scheduleExpressions,
        // Each run spends YouTube quota and writes the database, so only prd schedules by default.
        scheduleEnabled: r.boolean("syncScheduleEnabled", { default: env === "prd" }),
        subnetIds: requiredList(r, "syncSubnetIds", {
            maxItems: 16,
            item: (s) => (SUBNET_ID.test(s) ? undefined : `${JSON.stringify(s)} is not a subnet id`),
            itemExpected: "a subnet id (subnet-…)",
            example: '["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"]',
        }),
        securityGroupIds: requiredList(r, "syncSecurityGroupIds", {
            maxItems: 5,
            item: (s) => (SECURITY_GROUP_ID.test(s) ? undefined : `${JSON.stringify(s)} is not a security group id`),
            itemExpected: "a security group id (sg-…)",
            example: '["sg-0123456789abcdef0"]',
        }),
        dbHost: r.string("syncDbHost", {
            pattern: HOSTNAME,
            expected: "the host name of the RDS endpoint",
            example: `shirogane.abcdefghijkl.${region}.rds.amazonaws.com`,
        }),
        dbPort: r.integer("syncDbPort", { default: d.dbPort, min: 1, max: 65535 }),
        dbName: r.string("syncDbName", {
            default: d.dbName,
            pattern: PG_IDENTIFIER,
            expected: "a PostgreSQL database name",
            example: d.dbName,
        }),
        dbUsername: r.string("syncDbUsername", {
            default: d.dbUsername,
            pattern: PG_IDENTIFIER,
            expected: "a PostgreSQL user name",
            example: d.dbUsername,
        }),
        dbSslMode: r.oneOf("syncDbSslMode", DB_SSL_MODES, { default: d.dbSslMode }),
        dbPasswordSecretArn: secretArn("syncDbPasswordSecretArn", "the DB password", "rds-db-credentials/shirogane"),
        youtubeApiKeySecretArn: secretArn(
            "syncYoutubeApiKeySecretArn",
            "the YouTube Data API key",
            "sync-batch/youtube-api-key",
        ),
        channelIds: r.stringList("syncChannelIds", {
            default: [],
            item: (s) => (CHANNEL_ID.test(s) ? undefined : `${JSON.stringify(s)} is not a channel id`),
            itemExpected:
                'a YouTube channel id ("UC" and 22 more characters, from https://www.youtube.com/channel/<id>)',
            example: '["UCxxxxxxxxxxxxxxxxxxxxxx"]',
        }),
        quotaBudget: r.integer("syncQuotaBudget", { default: d.quotaBudget, min: 1, max: 1_000_000 }),
        logRetentionDays: r.logRetention("syncLogRetentionDays", d.logRetentionDays),
        timeoutSeconds,
        memoryMb: r.integer("syncMemoryMb", { default: d.memoryMb, min: 128, max: 10240 }),
    };
}
