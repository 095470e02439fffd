/**
 * A healthy fake account for the stg stack (every check passes), the config overrides that replace the stack
 * file's REPLACE-ME values with ARNs of that account, and stand-in executables for the local tooling checks.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { mintRunnerJwt } from "../../scripts/mintRunnerKey";
import { emptyRegion, FakeAccount } from "../support/aws/account";

export const ACCOUNT = "111122223333";
export const ACCESS_KEY_ID = "AKIAPREFLIGHTTEST0001";
export const WEATHER_REGION = "ap-northeast-1";
export const FORM_SENDER_REGION = "us-east-1";
export const CERT_ARN = `arn:aws:acm:${WEATHER_REGION}:${ACCOUNT}:certificate/22222222-2222-2222-2222-222222222222`;
export const DB_SECRET_ARN = `arn:aws:secretsmanager:${WEATHER_REGION}:${ACCOUNT}:secret:rds-db-credentials/shirogane-stg-AbCdEf`;
export const YT_SECRET_ARN = `arn:aws:secretsmanager:${WEATHER_REGION}:${ACCOUNT}:secret:sync-batch/stg/youtube-api-key-GhIjKl`;
/** Values the secrets hold; no report may contain them. */
export const DB_PASSWORD = "pw-must-never-be-printed";
export const YT_KEY = "AIzaMustNeverBePrinted";
/** The clock of every preflight run in these tests (the runner key's expiry is compared with it). */
export const NOW = new Date("2026-11-27T12:00:00Z");
/** The secret stg's FormSenderBatch creates for the runner's own key (jobDefinition.ts), as AWS names it. */
export const RUNNER_KEY_NAME = "/fs-runner/stg/supabase/runner-key";
export const RUNNER_KEY_ARN = `arn:aws:secretsmanager:${FORM_SENDER_REGION}:${ACCOUNT}:secret:${RUNNER_KEY_NAME}-MnOpQr`;
/** The Supabase URL and service-role key secrets stg's FormSenderBatch creates (jobDefinition.ts), as AWS names them. */
export const SUPABASE_URL_NAME = "/fs-runner/stg/supabase/url";
const FS_SECRET_ARN = `arn:aws:secretsmanager:${FORM_SENDER_REGION}:${ACCOUNT}:secret:`;
export const SUPABASE_URL_ARN = `${FS_SECRET_ARN}${SUPABASE_URL_NAME}-AbCdEf`;
export const SUPABASE_KEY_NAME = "/fs-runner/stg/supabase/key";
export const SUPABASE_KEY_ARN = `${FS_SECRET_ARN}${SUPABASE_KEY_NAME}-GhIjKl`;
/** The service-role key the healthy account holds; no report may contain it. */
export const SERVICE_ROLE_KEY = "sb_secret_ServiceRoleMustNeverBePrinted";
/** The publishable key and signing secret of the runner keys below; no report may contain either, nor a token. */
export const PUBLISHABLE_KEY = "sb_publishable_MustNeverBePrinted";
const JWT_SECRET = "jwt-secret-must-never-be-printed";

/**
 * A runner key as `npm run mint-runner-key` writes it (its own minting code): issued `issuedDaysAgo` days before
 * {@link NOW}, valid for `days`, for `role`.
 */
export function runnerKeyValue(opts: { days?: number; issuedDaysAgo?: number; role?: string } = {}): {
    value: string;
    token: string;
} {
    const issued = NOW.getTime() - (opts.issuedDaysAgo ?? 0) * 86_400_000;
    const token = mintRunnerJwt({ secret: JWT_SECRET }, opts.days ?? 90, issued, opts.role);
    return { value: JSON.stringify({ apikey: PUBLISHABLE_KEY, access_token: token }), token };
}

/** Pulumi.stg.yaml's sync subnets and security group. */
export const SYNC_SUBNETS = ["subnet-0a1b2c3d4e5f60718", "subnet-0a1b2c3d4e5f60729"];
export const SYNC_SG = "sg-0a1b2c3d4e5f60730";
export const RDS_VPC = "vpc-0rds0000000000001";
export const APIGW_ROLE = "apigw-cloudwatch";

/** stg with this account's ARNs and a prebuilt weather image (no build context needed on this machine). */
export const STG_OVERRIDES: Record<string, string> = {
    "ops-platform:weatherCertificateArn": CERT_ARN,
    "ops-platform:syncDbPasswordSecretArn": DB_SECRET_ARN,
    "ops-platform:syncYoutubeApiKeySecretArn": YT_SECRET_ARN,
    "ops-platform:weatherImageUri": `${ACCOUNT}.dkr.ecr.${WEATHER_REGION}.amazonaws.com/weather-app:1.0.0`,
};

export const LINKED_ROLES = [
    "AWSServiceRoleForBatch",
    "AWSServiceRoleForEC2Spot",
    "AWSServiceRoleForECS",
    "AWSServiceRoleForElasticLoadBalancing",
    "AWSServiceRoleForApplicationAutoScaling_ECSService",
];

/** An account where stg passes every check (quotas well above what stg asks for). */
export function healthyAccount(accountId: string = ACCOUNT): FakeAccount {
    const us = emptyRegion();
    us.appliedQuotas = { "ec2/L-34B43A08": 64, "ec2/L-1216C47A": 64, "lambda/L-B99A9384": 1000 };
    // VPCs per Region has no applied value in a fresh account: the AWS default answers.
    us.defaultQuotas = { "vpc/L-F678F1CE": 5, "ec2/L-0263D0A3": 5 };
    us.vpcs = [{ vpcId: "vpc-0default00000000a", name: undefined }];
    us.apiGatewayCloudwatchRoleArn = `arn:aws:iam::${accountId}:role/${APIGW_ROLE}`;
    const ap = emptyRegion();
    ap.appliedQuotas = { "fargate/L-3032A538": 16, "ec2/L-0263D0A3": 5, "lambda/L-B99A9384": 1000 };
    ap.defaultQuotas = { "vpc/L-F678F1CE": 5 };
    ap.accountAttributes = { "vpc-max-elastic-ips": "5", "supported-platforms": "VPC" };
    ap.addresses = [{ allocationId: "eipalloc-0rdsnat0000000001", publicIp: "203.0.113.10", name: "rds-nat" }];
    ap.vpcs = [{ vpcId: RDS_VPC, name: "rds" }];
    ap.subnets = SYNC_SUBNETS.map((subnetId, i) => ({
        subnetId,
        vpcId: RDS_VPC,
        availabilityZone: `${WEATHER_REGION}${"ac"[i]}`,
    }));
    ap.securityGroups = [{ groupId: SYNC_SG, vpcId: RDS_VPC, groupName: "rds-clients" }];
    ap.routeTables = [
        {
            routeTableId: "rtb-0private000000001",
            vpcId: RDS_VPC,
            subnetIds: [...SYNC_SUBNETS],
            routes: [
                { destination: "10.0.0.0/16", gatewayId: "local" },
                { destination: "0.0.0.0/0", natGatewayId: "nat-0rds00000000000001" },
            ],
        },
        {
            routeTableId: "rtb-0main00000000001",
            vpcId: RDS_VPC,
            main: true,
            subnetIds: [],
            routes: [{ destination: "0.0.0.0/0", gatewayId: "igw-0rds0000000000001" }],
        },
    ];
    return {
        accountId,
        callerArn: `arn:aws:sts::${accountId}:assumed-role/deploy/preflight`,
        accessKeyIds: [ACCESS_KEY_ID],
        regions: { [FORM_SENDER_REGION]: us, [WEATHER_REGION]: ap },
        roles: [...LINKED_ROLES, APIGW_ROLE],
        certificates: {
            [CERT_ARN.replace(ACCOUNT, accountId)]: {
                domainName: "weather.example.com",
                status: "ISSUED",
                notAfter: new Date("2027-06-30T00:00:00Z"),
            },
        },
        secrets: {
            [DB_SECRET_ARN.replace(ACCOUNT, accountId)]: {
                name: "rds-db-credentials/shirogane-stg",
                value: JSON.stringify({ username: "postgres", password: DB_PASSWORD }),
            },
            [YT_SECRET_ARN.replace(ACCOUNT, accountId)]: { name: "sync-batch/stg/youtube-api-key", value: YT_KEY },
            // Minted after the first pulumi up, 90 days from NOW.
            [RUNNER_KEY_ARN.replace(ACCOUNT, accountId)]: { name: RUNNER_KEY_NAME, value: runnerKeyValue().value },
            // stg's stack file leaves formSenderSupabaseUrl/ServiceRoleKey empty: operators put the values themselves.
            [SUPABASE_URL_ARN.replace(ACCOUNT, accountId)]: {
                name: SUPABASE_URL_NAME,
                value: "https://abcdefghijklmnopqrst.supabase.co",
            },
            [SUPABASE_KEY_ARN.replace(ACCOUNT, accountId)]: { name: SUPABASE_KEY_NAME, value: SERVICE_ROLE_KEY },
        },
        denied: [],
        calls: [],
    };
}

export interface Tools {
    pulumi?: string | null;
    node?: string | null;
    dockerInfo?: string | null;
    buildx?: boolean;
    platforms?: string;
}

/**
 * A directory of stand-in `pulumi`, `node` and `docker` executables printing what the real ones print
 * (`pulumi version` → v3.x, `node --version`, `docker info --format`, `docker buildx version|inspect`); null
 * leaves a tool out (not installed), and `dockerInfo: ""` is a daemon that does not answer.
 */
export function toolsDir(tools: Tools = {}): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "preflight-tools-"));
    const write = (name: string, script: string) => {
        fs.writeFileSync(path.join(dir, name), `#!/bin/sh\n${script}\n`, { mode: 0o755 });
    };
    const pulumi = tools.pulumi === undefined ? "v" + fs.readFileSync(".pulumi-version", "utf8").trim() : tools.pulumi;
    if (pulumi !== null) write("pulumi", `echo ${pulumi}`);
    const node = tools.node === undefined ? "v22.12.0" : tools.node;
    if (node !== null) write("node", `echo ${node}`);
    const info = tools.dockerInfo === undefined ? "28.2.2" : tools.dockerInfo;
    if (info !== null) {
        const platforms = tools.platforms ?? "linux/amd64, linux/amd64/v2, linux/386";
        write(
            "docker",
            [
                'case "$1 $2" in',
                info === ""
                    ? '  "info --format") echo "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?" >&2; exit 1 ;;'
                    : `  "info --format") echo ${info} ;;`,
                tools.buildx === false
                    ? '  "buildx version"|"buildx inspect") echo "docker: \'buildx\' is not a docker command." >&2; exit 1 ;;'
                    : '  "buildx version") echo "github.com/docker/buildx v0.23.0 28c90ea" ;;',
                `  "buildx inspect") printf 'Name:   default\\nDriver: docker\\n\\nNodes:\\nName:      default\\nStatus:    running\\nPlatforms: ${platforms}\\n' ;;`,
                "  *) echo unexpected docker $@ >&2; exit 2 ;;",
                "esac",
            ].join("\n"),
        );
    }
    return dir;
}
