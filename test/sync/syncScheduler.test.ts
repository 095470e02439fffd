import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import * as aws from "@pulumi/aws";
import { Client } from "pg";
import { ConfigError, ConfigReader } from "../../components/config/validate";
import { readSyncConfig, SyncConfig } from "../../components/config/sync";
import { SYNC_PACKAGES, SyncScheduler, syncNames, validateSyncSchedulerArgs } from "../../components/syncScheduler";
import { SyncResult } from "../../functions/syncBatch";
import { checkPlan } from "../../policy/rules";
import { json, Plan, runComponent } from "../harness";
import { LambdaFunctionInputs, PolicyDocument } from "../support/planShapes";
import { startPostgres, TestPostgres } from "../support/postgres";
import {
    channelId,
    channelResource,
    fakeChannel,
    Json,
    startYouTubeServer,
    videoId,
    videoResource,
    YouTubeServer,
} from "../support/youtubeServer";
import { invokeLambda, LambdaArtifact, writeLambdaPackage } from "../support/lambdaArtifact";
import { SecretsManagerServer, startSecretsManager } from "../support/secretsManagerServer";

const ROOT = path.resolve(__dirname, "..", "..");
const ACCOUNT = "123456789012";
const REGION = "ap-northeast-1";

/** The stack settings handed to the lead for Pulumi.<stack>.yaml (raw strings, as Pulumi passes them). */
const RAW: Record<"stg" | "prd", Record<string, string>> = {
    stg: {
        syncSubnetIds: '["subnet-0a1b2c3d4e5f60718","subnet-0a1b2c3d4e5f60729"]',
        syncSecurityGroupIds: '["sg-0a1b2c3d4e5f60730"]',
        syncDbHost: "shirogane-stg.abcdefghijkl.ap-northeast-1.rds.amazonaws.com",
        syncDbPasswordSecretArn:
            "arn:aws:secretsmanager:ap-northeast-1:000000000000:secret:rds-db-credentials/shirogane-stg-AbCdEf",
        syncYoutubeApiKeySecretArn:
            "arn:aws:secretsmanager:ap-northeast-1:000000000000:secret:sync-batch/stg/youtube-api-key-GhIjKl",
        syncChannelIds: `["${channelId("stgone")}"]`,
        syncQuotaBudget: "2000",
    },
    prd: {
        // The seed's twice-daily variant: 12:00 and 18:00 JST.
        syncScheduleExpressions: '["cron(0 3 * * ? *)","cron(0 9 * * ? *)"]',
        syncSubnetIds: '["subnet-0b1b2c3d4e5f60718","subnet-0b1b2c3d4e5f60729","subnet-0b1b2c3d4e5f6072a"]',
        syncSecurityGroupIds: '["sg-0b1b2c3d4e5f60730"]',
        syncDbHost: "shirogane.abcdefghijkl.ap-northeast-1.rds.amazonaws.com",
        syncDbPasswordSecretArn:
            "arn:aws:secretsmanager:ap-northeast-1:000000000000:secret:rds-db-credentials/shirogane-MnOpQr",
        syncYoutubeApiKeySecretArn:
            "arn:aws:secretsmanager:ap-northeast-1:000000000000:secret:sync-batch/prd/youtube-api-key-StUvWx",
        syncChannelIds: `["${channelId("prdone")}","${channelId("prdtwo")}"]`,
    },
};

function parse(stack: string, raw: Record<string, string | undefined>): SyncConfig {
    const r = new ConfigReader(stack, raw);
    const c = readSyncConfig(r, stack);
    r.checkUnknown();
    r.finish();
    return c;
}

function problems(stack: "stg" | "prd", overrides: Record<string, string | undefined>): string[] {
    try {
        parse(stack, { ...RAW[stack], ...overrides });
    } catch (e) {
        assert.ok(e instanceof ConfigError, `expected ConfigError, got ${String(e)}`);
        return e.problems.map((p) => p.message);
    }
    return [];
}

const topicArn = (stack: string) => `arn:aws:sns:${REGION}:${ACCOUNT}:ops-platform-${stack}-alerts-${REGION}`;

async function planSync(stack: "stg" | "prd", overrides: Record<string, string> = {}): Promise<Plan> {
    const { region: _, ...config } = parse(stack, { ...RAW[stack], ...overrides });
    return runComponent(() => {
        const provider = new aws.Provider(`aws-${REGION}`, { region: REGION });
        new SyncScheduler(
            "sync",
            { ...config, environment: stack, alertsTopicArn: topicArn(stack) },
            { providers: [provider] },
        );
    }, stack);
}

const T = {
    fn: "aws:lambda/function:Function",
    role: "aws:iam/role:Role",
    rolePolicy: "aws:iam/rolePolicy:RolePolicy",
    rule: "aws:cloudwatch/eventRule:EventRule",
    target: "aws:cloudwatch/eventTarget:EventTarget",
    permission: "aws:lambda/permission:Permission",
    alarm: "aws:cloudwatch/metricAlarm:MetricAlarm",
    logGroup: "aws:cloudwatch/logGroup:LogGroup",
    invoke: "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig",
    metricFilter: "aws:cloudwatch/logMetricFilter:LogMetricFilter",
};

describe("SyncScheduler configuration", () => {
    it("applies the documented defaults (JST 00:00 schedule, enabled only in prd)", () => {
        const stg = parse("stg", RAW.stg);
        assert.deepEqual(stg, {
            region: "ap-northeast-1",
            scheduleExpressions: ["cron(0 15 * * ? *)"],
            scheduleEnabled: false,
            subnetIds: ["subnet-0a1b2c3d4e5f60718", "subnet-0a1b2c3d4e5f60729"],
            securityGroupIds: ["sg-0a1b2c3d4e5f60730"],
            dbHost: "shirogane-stg.abcdefghijkl.ap-northeast-1.rds.amazonaws.com",
            dbPort: 5432,
            dbName: "shirogane",
            dbUsername: "postgres",
            dbSslMode: "verify-full",
            dbPasswordSecretArn: RAW.stg.syncDbPasswordSecretArn,
            youtubeApiKeySecretArn: RAW.stg.syncYoutubeApiKeySecretArn,
            channelIds: [channelId("stgone")],
            quotaBudget: 2000,
            logRetentionDays: 7,
            timeoutSeconds: 900,
            memoryMb: 512,
        });
        const prd = parse("prd", RAW.prd);
        assert.deepEqual(prd.scheduleExpressions, ["cron(0 3 * * ? *)", "cron(0 9 * * ? *)"]);
        assert.equal(prd.scheduleEnabled, true);
        assert.equal(prd.quotaBudget, 10000);
    });

    const cases: [string, Record<string, string | undefined>, string][] = [
        [
            "requires the RDS subnets",
            { syncSubnetIds: undefined },
            'ops-platform:syncSubnetIds: expected a list of at least 1 a subnet id (subnet-…), it is not set. Fix: set it in Pulumi.stg.yaml as a YAML list, e.g. ops-platform:syncSubnetIds: ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"]',
        ],
        [
            "rejects a malformed subnet id",
            { syncSubnetIds: '["subnet-1","subnet-0a1b2c3d4e5f60718"]' },
            'ops-platform:syncSubnetIds: expected every item to be a subnet id (subnet-…) ("subnet-1" is not a subnet id), got "[\\"subnet-1\\",\\"subnet-0a1b2c3d4e5f60718\\"]". Fix: set it in Pulumi.stg.yaml as a YAML list, e.g. ops-platform:syncSubnetIds: ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"]',
        ],
        [
            "rejects more security groups than Lambda accepts",
            { syncSecurityGroupIds: JSON.stringify(Array.from({ length: 6 }, (_, i) => `sg-0a1b2c3d4e5f6073${i}`)) },
            'ops-platform:syncSecurityGroupIds: expected at most 5 items (the Lambda VPC limit), got "[\\"sg-0a1b2c3d4e5f60730\\",\\"sg-0a1b2c3d4e5f60731\\",\\"sg-0a1b2c3d4e5f60732\\",\\"sg-0a1b2c3d4e5f60733\\",\\"sg-0a1b2c3d4e5f60734\\",\\"sg-0a1b2c3d4e5f60735\\"]". Fix: remove 1 from the list in Pulumi.stg.yaml',
        ],
        [
            "rejects a schedule expression EventBridge would refuse",
            { syncScheduleExpressions: '["cron(0 15 * * * *)"]' },
            'ops-platform:syncScheduleExpressions: expected every item to be an EventBridge schedule expression in UTC (exactly one of day-of-month and day-of-week must be \'?\'), got "[\\"cron(0 15 * * * *)\\"]". Fix: set it in Pulumi.stg.yaml as a YAML list, e.g. ops-platform:syncScheduleExpressions: ["cron(0 3 * * ? *)", "cron(0 9 * * ? *)"]',
        ],
        [
            "rejects a partial secret ARN that IAM would not match",
            {
                syncDbPasswordSecretArn:
                    "arn:aws:secretsmanager:ap-northeast-1:000000000000:secret:rds-db-credentials/shirogane-stg",
            },
            'ops-platform:syncDbPasswordSecretArn: expected the full ARN of the Secrets Manager secret holding the DB password, in ap-northeast-1 (arn:aws:secretsmanager:ap-northeast-1:<account>:secret:<name>-<6 characters>; aws secretsmanager describe-secret --secret-id <name> --query ARN), got "arn:aws:secretsmanager:ap-northeast-1:000000000000:secret:rds-db-credentials/shirogane-stg". Fix: pulumi config set syncDbPasswordSecretArn arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:rds-db-credentials/shirogane-AbCdEf --stack stg',
        ],
        [
            "rejects a secret in another region",
            { syncYoutubeApiKeySecretArn: "arn:aws:secretsmanager:us-east-1:000000000000:secret:yt-AbCdEf" },
            'ops-platform:syncYoutubeApiKeySecretArn: expected the full ARN of the Secrets Manager secret holding the YouTube Data API key, in ap-northeast-1 (arn:aws:secretsmanager:ap-northeast-1:<account>:secret:<name>-<6 characters>; aws secretsmanager describe-secret --secret-id <name> --query ARN), got "arn:aws:secretsmanager:us-east-1:000000000000:secret:yt-AbCdEf". Fix: pulumi config set syncYoutubeApiKeySecretArn arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:sync-batch/youtube-api-key-AbCdEf --stack stg',
        ],
        [
            "requires the RDS host",
            { syncDbHost: undefined },
            "ops-platform:syncDbHost: expected the host name of the RDS endpoint, it is not set. Fix: pulumi config set syncDbHost shirogane.abcdefghijkl.ap-northeast-1.rds.amazonaws.com --stack stg",
        ],
        [
            "rejects a channel handle where an id belongs",
            { syncChannelIds: '["@shirogane"]' },
            'ops-platform:syncChannelIds: expected every item to be a YouTube channel id ("UC" and 22 more characters, from https://www.youtube.com/channel/<id>) ("@shirogane" is not a channel id), got "[\\"@shirogane\\"]". Fix: set it in Pulumi.stg.yaml as a YAML list, e.g. ops-platform:syncChannelIds: ["UCxxxxxxxxxxxxxxxxxxxxxx"]',
        ],
        [
            "rejects a timeout that would not outlast the 600 s alarm",
            { syncTimeoutSeconds: "600" },
            'ops-platform:syncTimeoutSeconds: expected an integer from 660 to 900, got "600". Fix: pulumi config set syncTimeoutSeconds 900 --stack stg',
        ],
        [
            "rejects an unknown TLS mode",
            { syncDbSslMode: "prefer" },
            'ops-platform:syncDbSslMode: expected one of verify-full, require, disable, got "prefer". Fix: pulumi config set syncDbSslMode verify-full --stack stg',
        ],
        [
            "rejects a retention CloudWatch does not offer",
            { syncLogRetentionDays: "10" },
            'ops-platform:syncLogRetentionDays: expected a CloudWatch Logs retention in days (one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653), got "10". Fix: pulumi config set syncLogRetentionDays 7 --stack stg',
        ],
    ];
    for (const [title, overrides, message] of cases) {
        it(title, () => assert.deepEqual(problems("stg", overrides), [message]));
    }

    it("refuses component args that cannot be built, naming each", () => {
        const { region: _, ...c } = parse("stg", RAW.stg);
        assert.throws(
            () =>
                validateSyncSchedulerArgs("sync", {
                    ...c,
                    subnetIds: [],
                    timeoutSeconds: 600,
                    environment: "stg",
                    alertsTopicArn: "t",
                }),
            {
                message:
                    "SyncScheduler 'sync': `subnetIds` must list the RDS subnets, got none; `timeoutSeconds` must be above the 600 s Duration alarm so slow runs alarm before Lambda kills them, got 600",
            },
        );
    });
});

describe("SyncScheduler component", function () {
    this.timeout(120000);
    const plans: Partial<Record<"stg" | "prd", Plan>> = {};
    before(async () => {
        plans.stg = await planSync("stg");
        plans.prd = await planSync("prd");
    });

    for (const stack of ["stg", "prd"] as const) {
        describe(`${stack} stack`, () => {
            const p = () => plans[stack]!;
            const names = syncNames(stack);
            const raw = RAW[stack];
            const fnArn = `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${names.function}`;

            it("puts every resource under the component on the ap-northeast-1 provider", () => {
                const comp = p().get("ops:sync:SyncScheduler", "sync");
                const tokyo = new Set(
                    p()
                        .inRegion(REGION)
                        .map((r) => r.urn),
                );
                const custom = p()
                    .descendants(comp.urn)
                    .filter((r) => r.custom);
                assert.equal(custom.length, stack === "prd" ? 18 : 15);
                for (const r of custom) assert.ok(tokyo.has(r.urn), r.urn);
            });

            it("configures the Lambda exactly: runtime, size, timeout, VPC, tracing, logs, environment", () => {
                const fn = p().inputs<LambdaFunctionInputs>(T.fn, "sync-function");
                const { code, ...rest } = fn;
                assert.deepEqual(rest, {
                    name: names.function,
                    description: "YouTube Data API → CSV → COPY → PostgreSQL sync (channels, videos, daily stats)",
                    role: `arn:aws:iam::${ACCOUNT}:role/sync-function`,
                    runtime: "nodejs22.x",
                    handler: "__index.handler",
                    timeout: 900,
                    memorySize: 512,
                    vpcConfig: {
                        subnetIds: JSON.parse(raw.syncSubnetIds) as string[],
                        securityGroupIds: JSON.parse(raw.syncSecurityGroupIds) as string[],
                    },
                    environment: {
                        variables: {
                            DB_HOST: raw.syncDbHost,
                            DB_PORT: "5432",
                            DB_NAME: "shirogane",
                            DB_USERNAME: "postgres",
                            DB_SSL_MODE: "verify-full",
                            DB_PASSWORD_SECRET_ARN: raw.syncDbPasswordSecretArn,
                            YOUTUBE_API_KEY_SECRET_ARN: raw.syncYoutubeApiKeySecretArn,
                            YOUTUBE_CHANNEL_IDS: (JSON.parse(raw.syncChannelIds) as string[]).join(","),
                            YOUTUBE_QUOTA_BUDGET: stack === "stg" ? "2000" : "10000",
                            NODE_EXTRA_CA_CERTS: "/var/runtime/ca-cert.pem",
                        },
                    },
                    tracingConfig: { mode: "Active" },
                    loggingConfig: { logFormat: "Text", logGroup: names.logGroup },
                });
                assert.ok((code.assets["__index.js"].text ?? "").length > 1000);
            });

            it("grants the role its two secrets, its log group, VPC ENIs and X-Ray, nothing else", () => {
                assert.deepEqual(json<PolicyDocument>(p().inputs(T.role, "sync-function").assumeRolePolicy).Statement, [
                    { Effect: "Allow", Principal: { Service: "lambda.amazonaws.com" }, Action: "sts:AssumeRole" },
                ]);
                assert.deepEqual(json<PolicyDocument>(p().inputs(T.rolePolicy, "sync-function").policy), {
                    Version: "2012-10-17",
                    Statement: [
                        {
                            Sid: "Logs",
                            Effect: "Allow",
                            Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
                            Resource: `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:${names.logGroup}:*`,
                        },
                        {
                            Sid: "ReadSecrets",
                            Effect: "Allow",
                            Action: ["secretsmanager:GetSecretValue"],
                            Resource: [raw.syncDbPasswordSecretArn, raw.syncYoutubeApiKeySecretArn],
                        },
                        {
                            Sid: "VpcNetworkInterfaces",
                            Effect: "Allow",
                            Action: [
                                "ec2:CreateNetworkInterface",
                                "ec2:DescribeNetworkInterfaces",
                                "ec2:DescribeSubnets",
                                "ec2:DeleteNetworkInterface",
                                "ec2:AssignPrivateIpAddresses",
                                "ec2:UnassignPrivateIpAddresses",
                            ],
                            Resource: "*",
                        },
                        {
                            Sid: "Tracing",
                            Effect: "Allow",
                            Action: ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
                            Resource: "*",
                        },
                    ],
                });
                assert.equal(
                    p().ofType("aws:iam/rolePolicyAttachment:RolePolicyAttachment").length,
                    0,
                    "no managed policies",
                );
            });

            // AWS managed policy AWSLambdaVPCAccessExecutionRole, policy version v3 (default), edited January 05, 2024
            // (https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSLambdaVPCAccessExecutionRole.html):
            // its EC2 actions, all on "*", are what Lambda needs to manage a VPC function's network interfaces.
            it("grants every EC2 action of AWSLambdaVPCAccessExecutionRole v3, ec2:DescribeSubnets included", () => {
                const managedPolicyV3Ec2 = [
                    "ec2:CreateNetworkInterface",
                    "ec2:DescribeNetworkInterfaces",
                    "ec2:DescribeSubnets",
                    "ec2:DeleteNetworkInterface",
                    "ec2:AssignPrivateIpAddresses",
                    "ec2:UnassignPrivateIpAddresses",
                ];
                const statements = json<{ Statement: { Sid: string; Action: string[]; Resource: unknown }[] }>(
                    p().inputs<{ policy: string }>(T.rolePolicy, "sync-function").policy,
                ).Statement;
                const vpc = statements.find((s) => s.Sid === "VpcNetworkInterfaces");
                assert.deepEqual(vpc?.Action, managedPolicyV3Ec2);
                assert.equal(vpc?.Resource, "*");
            });

            it("keeps 7 days of logs in the function's own log group, created before the function", () => {
                assert.deepEqual(p().inputs(T.logGroup, "sync-logs"), { name: names.logGroup, retentionInDays: 7 });
            });

            it("schedules from the UTC cron list and routes manual-trigger events to the function", () => {
                const expressions: string[] =
                    stack === "stg" ? ["cron(0 15 * * ? *)"] : ["cron(0 3 * * ? *)", "cron(0 9 * * ? *)"];
                const labels = expressions.map((_, i) => `sync-schedule${i === 0 ? "" : `-${i + 1}`}`);
                assert.deepEqual(
                    p()
                        .ofType(T.rule)
                        .map((r) => r.name),
                    [...labels, "sync-manual"],
                );
                expressions.forEach((expr, i) => {
                    assert.deepEqual(p().inputs(T.rule, labels[i]), {
                        name: names.scheduleRule(i),
                        description: `sync-batch ${stack}: ${expr} (UTC)`,
                        scheduleExpression: expr,
                        state: stack === "prd" ? "ENABLED" : "DISABLED",
                    });
                });
                assert.equal(names.scheduleRule(0), `sync-batch-${stack}-schedule`);
                const manual = p().inputs(T.rule, "sync-manual");
                assert.equal(manual.state, "ENABLED");
                assert.deepEqual(json(manual.eventPattern), {
                    source: ["batch-scheduler"],
                    "detail-type": ["manual-trigger"],
                });
                for (const label of [...labels, "sync-manual"]) {
                    const ruleName = p().inputs<{ name: string }>(T.rule, label).name;
                    const ruleArn = `arn:aws:cloudwatch:${REGION}:${ACCOUNT}:eventrule/${ruleName}`;
                    assert.deepEqual(p().inputs(T.target, label), { rule: ruleName, arn: fnArn });
                    assert.deepEqual(p().inputs(T.permission, label), {
                        action: "lambda:InvokeFunction",
                        function: names.function,
                        principal: "events.amazonaws.com",
                        sourceArn: ruleArn,
                    });
                }
            });

            it("alarms to the alerts topic on Errors ≥ 1 and Duration > 600 s", () => {
                const common = {
                    namespace: "AWS/Lambda",
                    dimensions: { FunctionName: names.function },
                    period: 300,
                    evaluationPeriods: 1,
                    treatMissingData: "notBreaching",
                    alarmActions: [topicArn(stack)],
                };
                assert.deepEqual(p().inputs(T.alarm, "sync-errors"), {
                    ...common,
                    name: names.errorsAlarm,
                    metricName: "Errors",
                    statistic: "Sum",
                    threshold: 1,
                    comparisonOperator: "GreaterThanOrEqualToThreshold",
                    alarmDescription: `sync-batch ${stack} failed; published data is unchanged. Logs: aws logs tail ${names.logGroup} --since 1h`,
                });
                assert.deepEqual(p().inputs(T.alarm, "sync-duration"), {
                    ...common,
                    name: names.durationAlarm,
                    metricName: "Duration",
                    statistic: "Maximum",
                    threshold: 600000,
                    comparisonOperator: "GreaterThanThreshold",
                    alarmDescription: `sync-batch ${stack} ran longer than 600 s (timeout 900 s)`,
                });
            });

            it("alarms to the alerts topic on a partial run, counted by a metric filter on the function's logs", () => {
                assert.deepEqual(p().inputs(T.metricFilter, "sync-partial-runs"), {
                    name: names.partialMetricFilter,
                    logGroupName: names.logGroup,
                    pattern: '"sync partial: channels skipped"',
                    metricTransformation: {
                        name: "PartialRuns",
                        namespace: `OpsPlatform/Sync/${stack}`,
                        value: "1",
                        defaultValue: "0",
                    },
                });
                assert.deepEqual(p().inputs(T.alarm, "sync-partial"), {
                    name: names.partialAlarm,
                    namespace: `OpsPlatform/Sync/${stack}`,
                    metricName: "PartialRuns",
                    statistic: "Sum",
                    period: 300,
                    evaluationPeriods: 1,
                    threshold: 1,
                    comparisonOperator: "GreaterThanOrEqualToThreshold",
                    treatMissingData: "notBreaching",
                    alarmActions: [topicArn(stack)],
                    alarmDescription:
                        `sync-batch ${stack} skipped channels (run status partial); the other channels were ` +
                        "published. Reasons: youtube_sync_runs.skipped_channels of the latest run. " +
                        `Logs: aws logs tail ${names.logGroup} --since 1h --filter-pattern '"sync partial: channels skipped"'`,
                });
            });

            it("passes every rule of the policy pack", () => {
                assert.deepEqual(
                    checkPlan(p().resources).map((v) => `${v.rule}: ${v.message}`),
                    [],
                );
            });

            it("retries a failed asynchronous run once, not twice", () => {
                assert.deepEqual(p().inputs(T.invoke, "sync-invoke"), {
                    functionName: names.function,
                    maximumRetryAttempts: 1,
                    maximumEventAgeInSeconds: 3600,
                });
            });
        });
    }

    it("omits the RDS CA bundle when TLS is not verified", async () => {
        const plan = await planSync("stg", { syncDbSslMode: "require" });
        const vars = plan.inputs<LambdaFunctionInputs>(T.fn, "sync-function").environment?.variables;
        assert.equal(vars?.DB_SSL_MODE, "require");
        assert.equal(vars?.NODE_EXTRA_CA_CERTS, undefined);
    });

    it("ships only pg, pg-copy-streams and csv-stringify (with their dependencies), leaving the AWS SDK to the runtime", () => {
        const assets = plans.stg!.inputs<LambdaFunctionInputs>(T.fn, "sync-function").code.assets;
        const pkgs = Object.keys(assets)
            .filter((k) => k.startsWith("node_modules/"))
            .map((k) => k.slice("node_modules/".length));
        for (const wanted of SYNC_PACKAGES) assert.ok(pkgs.includes(wanted), `missing ${wanted}`);
        const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
            dependencies: Record<string, string>;
        };
        const rootDeps = Object.keys(manifest.dependencies);
        for (const banned of rootDeps.filter((d) => !(SYNC_PACKAGES as readonly string[]).includes(d))) {
            assert.ok(!pkgs.includes(banned), `bundles ${banned}`);
        }
        assert.ok(
            !pkgs.some(
                (p) =>
                    p.startsWith("@pulumi/") ||
                    p === "playwright-core" ||
                    p.startsWith("@supabase/") ||
                    p.startsWith("@aws-sdk/") ||
                    p.startsWith("@smithy/"),
            ),
            pkgs.join(", "),
        );
    });
});

describe("sync-batch deployment artifact", function () {
    this.timeout(180000);
    const KEY = "AIza-artifact-youtube-key-4f2c";
    const DB_PASSWORD = "test-password"; // what startPostgres() sets
    let pg: TestPostgres;
    let yt: YouTubeServer;
    let sm: SecretsManagerServer;
    let artifact: LambdaArtifact;
    let text: string;
    let vars: Record<string, string>;

    before(async () => {
        const plan = await planSync("stg");
        const fn = plan.inputs<LambdaFunctionInputs>(T.fn, "sync-function");
        vars = fn.environment!.variables!;
        artifact = writeLambdaPackage(fn.code);
        text = artifact.text;
        [pg, yt, sm] = await Promise.all([
            startPostgres(),
            startYouTubeServer({ apiKey: KEY }),
            startSecretsManager({
                [vars.DB_PASSWORD_SECRET_ARN]: JSON.stringify({
                    username: "postgres",
                    password: DB_PASSWORD,
                    engine: "postgres",
                    port: 5432,
                }),
                [vars.YOUTUBE_API_KEY_SECRET_ARN]: KEY,
            }),
        ]);
        await pg.createDatabase(vars.DB_NAME);
        const ch = vars.YOUTUBE_CHANNEL_IDS;
        const ids = Array.from({ length: 75 }, (_, i) => videoId(`art${i}`));
        yt.addChannel(fakeChannel(channelResource(ch, { title: 'Artifact, "channel"' }), ids));
        ids.forEach((id, i) =>
            yt.addVideo(
                videoResource(id, ch, {
                    index: i,
                    title: i === 0 ? '改行\nと, "引用" 😀' : undefined,
                    statistics: i === 1 ? null : undefined,
                }),
            ),
        );
    });
    after(async () => {
        await Promise.all([yt?.close(), sm?.close(), pg?.stop()]);
        artifact?.remove();
    });

    /** Invokes the serialized handler in a fresh node process with the planned environment. */
    async function invoke(event: object) {
        const env: Record<string, string> = {
            ...vars,
            // Local stand-ins for RDS (no TLS), Secrets Manager and the YouTube API.
            DB_HOST: "127.0.0.1",
            DB_PORT: String(pg.port),
            DB_SSL_MODE: "disable",
            YOUTUBE_API_BASE_URL: yt.baseUrl,
            AWS_REGION: REGION,
            AWS_ACCESS_KEY_ID: "AKIDARTIFACTTEST",
            AWS_SECRET_ACCESS_KEY: "artifact-test",
            AWS_ENDPOINT_URL_SECRETS_MANAGER: sm.endpoint,
            AWS_LAMBDA_FUNCTION_NAME: "sync-batch-stg",
        };
        delete env.NODE_EXTRA_CA_CERTS; // the Lambda runtime's CA bundle does not exist here
        return invokeLambda<SyncResult>(artifact.dir, event, env, 900_000);
    }

    it("unpacks to under 30 MB (Lambda allows 250 MB; the default packaging would add playwright and every SDK)", () => {
        const size = (p: string): number => {
            const st = fs.statSync(p);
            return st.isDirectory() ? fs.readdirSync(p).reduce((n, f) => n + size(path.join(p, f)), 0) : st.size;
        };
        const bytes = size(artifact.dir);
        assert.ok(bytes > 1_000_000 && bytes < 30 * 1024 * 1024, `${(bytes / 1024 / 1024).toFixed(1)} MB`);
    });

    it("contains no secret value and no captured configuration", () => {
        assert.ok(!text.includes(KEY));
        assert.ok(!text.includes(DB_PASSWORD));
        assert.ok(!text.includes(vars.DB_PASSWORD_SECRET_ARN), "ARNs come from the environment, not the closure");
        assert.ok(!text.includes("@pulumi"), "the closure references no Pulumi module");
    });

    it("runs a scheduled event in a fresh node process against PostgreSQL, Secrets Manager and the YouTube API", async () => {
        const event = {
            version: "0",
            id: "7bf73129-1428-4cd3-a780-95db273d1602",
            "detail-type": "Scheduled Event",
            source: "aws.events",
            account: ACCOUNT,
            time: "2025-03-01T15:00:00Z",
            region: REGION,
            resources: [`arn:aws:events:${REGION}:${ACCOUNT}:rule/sync-batch-stg-schedule`],
            detail: {},
        };
        const { result, logs, foreign } = await invoke(event);
        assert.deepEqual(foreign, [], "every module came from the bundle or the runtime's SDK");
        assert.equal(result.status, "completed");
        assert.equal(result.trigger, "schedule");
        assert.equal(result.channels, 1);
        assert.equal(result.videos, 75);
        assert.equal(result.snapshots, 74);
        assert.deepEqual(result.quotaCalls, { channels: 1, playlistItems: 2, videos: 2 });
        assert.deepEqual(
            sm.requests.sort(),
            [vars.DB_PASSWORD_SECRET_ARN, vars.YOUTUBE_API_KEY_SECRET_ARN].sort(),
            "both secrets read at run time",
        );
        assert.ok(yt.requests.every((r) => r.params.key === KEY));
        // Log lines that are not JSON stay strings.
        const finished = logs.find(
            (l): l is Json => typeof l === "object" && l !== null && (l as Json).message === "sync finished",
        );
        assert.equal(finished?.level, "INFO");
        assert.equal(finished?.function, "sync-batch");
        assert.equal(finished?.quotaUnits, 5);
        assert.ok(!JSON.stringify(logs).includes(KEY), "the key never reaches the logs");

        const db = new Client({
            host: "127.0.0.1",
            port: pg.port,
            database: vars.DB_NAME,
            user: "postgres",
            password: DB_PASSWORD,
        });
        await db.connect();
        try {
            const t = await db.query<{ title: string }>("SELECT title FROM youtube_videos WHERE video_id = $1", [
                videoId("art0"),
            ]);
            assert.equal(t.rows[0].title, '改行\nと, "引用" 😀');
            assert.equal(
                (await db.query<{ title: string }>("SELECT title FROM youtube_channels")).rows[0].title,
                'Artifact, "channel"',
            );
        } finally {
            await db.end();
        }
    });

    it("runs a manual trigger naming its channels", async () => {
        const { result } = await invoke({
            version: "0",
            id: "1",
            "detail-type": "manual-trigger",
            source: "batch-scheduler",
            account: ACCOUNT,
            time: "2025-03-01T03:00:00Z",
            region: REGION,
            resources: [],
            detail: { channelIds: [vars.YOUTUBE_CHANNEL_IDS] },
        });
        assert.equal(result.trigger, "manual");
        assert.equal(result.status, "completed");
        assert.equal(result.videos, 75);
        assert.equal(result.videosChanged, 0, "same data, same day: nothing rewritten");
    });
});
