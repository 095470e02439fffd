import { strict as assert } from "assert";
import {
    ConfigError,
    parseStackConfig,
    scheduleExpressionError,
    SECRET_KEYS,
    WEATHER_API_KEY_NAMES,
} from "../../components/config";
import { planFor } from "../harness";
import { MINIMAL_CONFIG } from "../support/minimalConfig";

/** A complete, valid stg configuration. */
const VALID = MINIMAL_CONFIG;

/**
 * The problems parseStackConfig reports for VALID with `overrides`. Secret keys among the overrides count as set with
 * `--secret` unless `plaintext` says otherwise.
 */
function problems(overrides: Record<string, string | undefined>, stack = "stg", plaintext = false): string[] {
    const secretKeys = plaintext ? [] : SECRET_KEYS.filter((k) => k in overrides);
    try {
        parseStackConfig(stack, { ...VALID, ...overrides }, secretKeys);
    } catch (e) {
        assert.ok(e instanceof ConfigError, `expected ConfigError, got ${String(e)}`);
        return e.problems.map((p) => p.message);
    }
    return [];
}

describe("stack configuration", () => {
    it("accepts a minimal valid configuration and applies documented defaults", () => {
        const c = parseStackConfig("stg", VALID);
        assert.equal(c.environment, "stg");
        assert.equal(c.weather.region, "ap-northeast-1");
        assert.deepEqual(c.weather.availabilityZones, ["ap-northeast-1a", "ap-northeast-1c"]);
        assert.equal(c.weather.natGateways, "single");
        assert.equal(c.weather.maxTasks, 4);
        assert.equal(c.orchestration.scheduleExpression, "cron(0 17 * * ? *)");
        assert.equal(c.orchestration.scheduleEnabled, false);
        assert.equal(parseStackConfig("prd", { ...VALID, environment: "prd" }).orchestration.scheduleEnabled, true);
    });

    it("defaults the environment to the stack name for stg and prd only", () => {
        const { environment: _, ...noEnv } = VALID;
        assert.equal(parseStackConfig("prd", noEnv).environment, "prd");
        assert.deepEqual(problems({ environment: undefined }, "dev"), [
            "ops-platform:environment: expected one of stg, prd, it is not set. Fix: pulumi config set environment stg --stack dev",
        ]);
    });

    const cases: [string, Record<string, string | undefined>, string][] = [
        [
            "rejects an unknown environment",
            { environment: "production" },
            'ops-platform:environment: expected one of stg, prd, got "production". Fix: pulumi config set environment stg --stack stg',
        ],
        [
            "rejects a malformed alert e-mail",
            { alertEmail: "ops-at-example.com" },
            'ops-platform:alertEmail: expected an e-mail address for alarm notifications, got "ops-at-example.com". Fix: pulumi config set alertEmail ops-alerts@example.com --stack stg',
        ],
        [
            "requires the certificate ARN",
            { weatherCertificateArn: undefined },
            "ops-platform:weatherCertificateArn: expected an ACM certificate ARN (arn:aws:acm:ap-northeast-1:<account>:certificate/<id>), it is not set. Fix: pulumi config set weatherCertificateArn arn:aws:acm:ap-northeast-1:123456789012:certificate/00000000-0000-0000-0000-000000000000 --stack stg",
        ],
        [
            "rejects a certificate ARN of another service",
            { weatherCertificateArn: "arn:aws:iam::123456789012:server-certificate/x" },
            'ops-platform:weatherCertificateArn: expected an ACM certificate ARN (arn:aws:acm:ap-northeast-1:<account>:certificate/<id>), got "arn:aws:iam::123456789012:server-certificate/x". Fix: pulumi config set weatherCertificateArn arn:aws:acm:ap-northeast-1:123456789012:certificate/00000000-0000-0000-0000-000000000000 --stack stg',
        ],
        [
            "rejects a certificate from another region",
            { weatherCertificateArn: "arn:aws:acm:us-east-1:123456789012:certificate/abc" },
            'ops-platform:weatherCertificateArn: expected a certificate in the ALB\'s region ap-northeast-1 (an ALB can only use certificates from its own region), got "arn:aws:acm:us-east-1:123456789012:certificate/abc". Fix: request or import the certificate in ap-northeast-1 and set its ARN',
        ],
        [
            "rejects an unknown region",
            { weatherRegion: "tokyo" },
            'ops-platform:weatherRegion: expected one of us-east-1, us-east-2, us-west-1, us-west-2, ap-northeast-1, ap-northeast-2, ap-northeast-3, ap-southeast-1, ap-southeast-2, ap-south-1, eu-west-1, eu-west-2, eu-central-1, ca-central-1, sa-east-1, got "tokyo". Fix: pulumi config set weatherRegion ap-northeast-1 --stack stg',
        ],
        [
            "rejects a CIDR outside /16-/24",
            { weatherVpcCidr: "10.0.0.0/8" },
            'ops-platform:weatherVpcCidr: expected an IPv4 CIDR block from /16 to /24, got "10.0.0.0/8". Fix: pulumi config set weatherVpcCidr 10.20.0.0/16 --stack stg',
        ],
        [
            "rejects a single availability zone",
            { weatherAvailabilityZones: '["ap-northeast-1a"]' },
            'ops-platform:weatherAvailabilityZones: expected a list of at least 2 items, got "[\\"ap-northeast-1a\\"]". Fix: set it in Pulumi.stg.yaml as a YAML list, e.g. ops-platform:weatherAvailabilityZones: ["ap-northeast-1a", "ap-northeast-1c"]',
        ],
        [
            "rejects an availability zone of another region",
            { weatherAvailabilityZones: '["ap-northeast-1a","us-east-1b"]' },
            'ops-platform:weatherAvailabilityZones: expected every item to be an availability zone of ap-northeast-1 ("us-east-1b" is not an AZ of ap-northeast-1), got "[\\"ap-northeast-1a\\",\\"us-east-1b\\"]". Fix: set it in Pulumi.stg.yaml as a YAML list, e.g. ops-platform:weatherAvailabilityZones: ["ap-northeast-1a", "ap-northeast-1c"]',
        ],
        [
            "rejects an unknown NAT mode",
            { weatherNatGateways: "two" },
            'ops-platform:weatherNatGateways: expected one of single, perAz, got "two". Fix: pulumi config set weatherNatGateways single --stack stg',
        ],
        [
            "rejects a non-integer task count",
            { weatherMaxTasks: "four" },
            'ops-platform:weatherMaxTasks: expected an integer from 1 to 20, got "four". Fix: pulumi config set weatherMaxTasks 4 --stack stg',
        ],
        [
            "rejects max tasks below min tasks",
            { weatherMinTasks: "3", weatherMaxTasks: "2" },
            'ops-platform:weatherMaxTasks: expected a value ≥ weatherMinTasks (3), got "2". Fix: pulumi config set weatherMaxTasks 4 --stack stg',
        ],
        [
            "rejects an out-of-range CPU target",
            { weatherCpuTargetPercent: "120" },
            'ops-platform:weatherCpuTargetPercent: expected an integer from 10 to 95, got "120". Fix: pulumi config set weatherCpuTargetPercent 70 --stack stg',
        ],
        [
            "rejects a retention CloudWatch does not offer",
            { weatherLogRetentionDays: "10" },
            'ops-platform:weatherLogRetentionDays: expected a CloudWatch Logs retention in days (one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653), got "10". Fix: pulumi config set weatherLogRetentionDays 30 --stack stg',
        ],
        [
            "rejects an image URI without tag or digest",
            { weatherImageUri: "registry.example.com/weather" },
            'ops-platform:weatherImageUri: expected a container image reference with a tag or digest (<registry>/<repo>:<tag>), got "registry.example.com/weather". Fix: pulumi config set weatherImageUri 123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/weather-app:1.4.2 --stack stg',
        ],
        [
            "requires an app path or an image URI",
            { weatherAppPath: undefined },
            "ops-platform:weatherAppPath: expected the app source directory to build the image from (or weatherImageUri for a prebuilt image), it is not set. Fix: pulumi config set weatherAppPath ../weather-comment-generator --stack stg or pulumi config set weatherImageUri <registry>/<repo>:<tag> --stack stg",
        ],
        [
            "rejects a boolean that is not true/false",
            { orchestrationScheduleEnabled: "yes" },
            'ops-platform:orchestrationScheduleEnabled: expected true or false, got "yes". Fix: pulumi config set orchestrationScheduleEnabled false --stack stg',
        ],
        [
            "rejects a malformed schedule expression",
            { orchestrationScheduleExpression: "cron(0 17 * * *)" },
            "ops-platform:orchestrationScheduleExpression: expected an EventBridge schedule expression (cron needs 6 fields (minutes hours day-of-month month day-of-week year), got 5), got \"cron(0 17 * * *)\". Fix: pulumi config set orchestrationScheduleExpression 'cron(0 17 * * ? *)' --stack stg",
        ],
        [
            "requires the batch script path",
            { orchestrationBatchScriptPath: undefined },
            "ops-platform:orchestrationBatchScriptPath: expected the path of the Python batch script inside the container (e.g. src/batch/nightly.py), it is not set. Fix: pulumi config set orchestrationBatchScriptPath src/batch/nightly.py --stack stg",
        ],
        [
            "rejects an unknown key and suggests the close one",
            { weatherMaxTask: "4" },
            "ops-platform:weatherMaxTask: unknown configuration key. Fix: did you mean 'weatherMaxTasks'? run pulumi config rm weatherMaxTask --stack stg (keys are declared in Pulumi.yaml)",
        ],
        [
            "rejects a malformed API-keys secret without echoing it",
            { weatherApiKeys: "sk-live-not-json" },
            'ops-platform:weatherApiKeys: expected a JSON object with a string value for each of WXTECH_API_KEY, OPENAI_API_KEY, GEMINI_API_KEY, ANTHROPIC_API_KEY and no other key (the weather task reads all four; ECS does not start it when one is missing), got "[secret]". Fix: pulumi config set --secret weatherApiKeys \'{"WXTECH_API_KEY":"…","OPENAI_API_KEY":"…","GEMINI_API_KEY":"…","ANTHROPIC_API_KEY":"…"}\' --stack stg',
        ],
        [
            "rejects API keys that lack one the weather task reads, naming the missing ones and not the values",
            { weatherApiKeys: '{"WXTECH_API_KEY":"wx-3f9a","OPENAI_API_KEY":"sk-3f9a"}' },
            'ops-platform:weatherApiKeys: expected a JSON object with a string value for each of WXTECH_API_KEY, OPENAI_API_KEY, GEMINI_API_KEY, ANTHROPIC_API_KEY and no other key (the weather task reads all four; ECS does not start it when one is missing); missing GEMINI_API_KEY, ANTHROPIC_API_KEY, got "[secret]". Fix: pulumi config set --secret weatherApiKeys \'{"WXTECH_API_KEY":"…","OPENAI_API_KEY":"…","GEMINI_API_KEY":"…","ANTHROPIC_API_KEY":"…"}\' --stack stg',
        ],
        [
            "rejects API keys with a key the weather task does not read",
            {
                weatherApiKeys: JSON.stringify({
                    ...Object.fromEntries(WEATHER_API_KEY_NAMES.map((k) => [k, "v"])),
                    MAPS_API_KEY: "v",
                }),
            },
            'ops-platform:weatherApiKeys: expected a JSON object with a string value for each of WXTECH_API_KEY, OPENAI_API_KEY, GEMINI_API_KEY, ANTHROPIC_API_KEY and no other key (the weather task reads all four; ECS does not start it when one is missing), got "[secret]". Fix: pulumi config set --secret weatherApiKeys \'{"WXTECH_API_KEY":"…","OPENAI_API_KEY":"…","GEMINI_API_KEY":"…","ANTHROPIC_API_KEY":"…"}\' --stack stg',
        ],
        [
            "rejects a webhook URL that is not Slack's without echoing it",
            { alertSlackWebhookUrl: "https://example.com/hook?token=abc" },
            'ops-platform:alertSlackWebhookUrl: expected a Slack Incoming Webhook URL (https://hooks.slack.com/services/T…/B…/…), got "[secret]". Fix: copy the URL from the Slack app\'s Incoming Webhooks page, then pulumi config set --secret alertSlackWebhookUrl <url> --stack stg',
        ],
    ];
    for (const [title, overrides, message] of cases) {
        it(title, () => assert.deepEqual(problems(overrides), [message]));
    }

    it("requires exactly the API keys the weather task definition references", async () => {
        const plan = await planFor("stg");
        const [container] = JSON.parse(
            plan.inputs<{ containerDefinitions: string }>("aws:ecs/taskDefinition:TaskDefinition", "weather-task")
                .containerDefinitions,
        ) as { secrets: { name: string }[] }[];
        assert.deepEqual(
            [...WEATHER_API_KEY_NAMES],
            container.secrets.map((s) => s.name),
        );
    });

    it("reports every problem at once", () => {
        const found = problems({ alertEmail: "x", weatherNatGateways: "none", weatherMaxTasks: "0" });
        assert.equal(found.length, 3);
        assert.match(
            new ConfigError(
                "stg",
                found.map((m) => ({ key: "", message: m })),
            ).message,
            /^Invalid configuration for stack 'stg' \(3 problems\):/,
        );
    });

    it("refuses each secret key set in plain text, naming the key and the fix but never the value", () => {
        const values: Record<(typeof SECRET_KEYS)[number], string> = {
            weatherApiKeys: JSON.stringify(Object.fromEntries(WEATHER_API_KEY_NAMES.map((k) => [k, "plain-3f9a"]))),
            formSenderSupabaseUrl: "https://plain3f9a.supabase.co",
            formSenderSupabaseServiceRoleKey: "sb_secret_plain3f9a",
            alertSlackWebhookUrl: "https://hooks.slack.com/services/T0PLAIN/B0PLAIN/plain3f9a",
        };
        for (const key of SECRET_KEYS) {
            assert.deepEqual(problems({ [key]: values[key] }), [], `${key} set with --secret`);
            assert.deepEqual(problems({ [key]: values[key] }, "stg", true), [
                `ops-platform:${key}: expected a value set with --secret (encrypted in the stack file, never plain text), got "[secret]". Fix: pulumi config set --secret ${key} <value> --stack stg (it replaces the plain-text value)`,
            ]);
            // "" is the declared default: unset, so neither secret nor refused.
            assert.deepEqual(problems({ [key]: "" }, "stg", true), [], `${key} = ""`);
        }
    });

    it('reads "" and [] (the declared defaults of derived values) exactly as an absent key', () => {
        const { environment: _, ...withoutEnvironment } = VALID;
        const absent = parseStackConfig("prd", withoutEnvironment);
        const declaredDefaults = {
            ...VALID,
            environment: "",
            weatherAvailabilityZones: "[]",
            weatherImageUri: "",
            syncChannelIds: "[]",
            orchestrationScheduleEnabled: "",
        };
        assert.deepEqual(parseStackConfig("prd", declaredDefaults), absent);
        assert.deepEqual(absent.weather.availabilityZones, ["ap-northeast-1a", "ap-northeast-1c"]);
        assert.equal(absent.orchestration.scheduleEnabled, true);
    });

    it("still requires a required list declared without default when it is set to []", () => {
        assert.deepEqual(problems({ syncSubnetIds: "[]" }), [
            'ops-platform:syncSubnetIds: expected a list of at least 1 a subnet id (subnet-…), it is not set. Fix: set it in Pulumi.stg.yaml as a YAML list, e.g. ops-platform:syncSubnetIds: ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"]',
        ]);
    });

    it("accepts the ARN of an RDS-managed master-user secret (rds!db-<uuid>, rds!cluster-<uuid>)", () => {
        // As `aws rds describe-db-instances --query 'DBInstances[].MasterUserSecret.SecretArn'` prints it.
        const instance =
            "arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:rds!db-c930822c-5d1e-4b1f-8e0a-9f2d3b7c6a41-jWJfpp";
        const cluster =
            "arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:rds!cluster-0f8e2a6d-3c4b-4e5f-a1b2-c3d4e5f60718-Xy12Zq";
        for (const arn of [instance, cluster]) {
            assert.deepEqual(problems({ syncDbPasswordSecretArn: arn }), [], arn);
            assert.equal(
                parseStackConfig("stg", { ...VALID, syncDbPasswordSecretArn: arn }).sync.dbPasswordSecretArn,
                arn,
            );
        }
        // `!` belongs only to RDS's names; Secrets Manager refuses it in any other.
        const [bad] = problems({
            syncDbPasswordSecretArn: "arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:db!password-AbCdEf",
        });
        assert.match(bad, /^ops-platform:syncDbPasswordSecretArn: expected the full ARN of the Secrets Manager secret/);
    });

    describe("schedule expressions", () => {
        const valid = [
            "cron(0 17 * * ? *)",
            "cron(0 3,9 * * ? *)",
            "cron(0/15 * ? * MON-FRI *)",
            "rate(15 minutes)",
            "rate(1 hour)",
            "cron(30 2 L * ? 2026)",
        ];
        for (const e of valid) it(`accepts ${e}`, () => assert.equal(scheduleExpressionError(e), undefined));
        const invalid: [string, string][] = [
            ["cron(0 17 * * * *)", "exactly one of day-of-month and day-of-week must be '?'"],
            ["cron(0 25 * * ? *)", 'cron hours field "25" is not valid (range 0-23)'],
            ["rate(1 minutes)", "use '1 minute'"],
            ["rate(5 minute)", "use '5 minutes'"],
            ["every day", "must start with rate( or cron("],
        ];
        for (const [e, why] of invalid) it(`rejects ${e}`, () => assert.equal(scheduleExpressionError(e), why));
    });
});
