import { strict as assert } from "assert";
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import { AddressInfo } from "net";
import * as aws from "@pulumi/aws";
import { Alerts } from "../../components/alerts";
import {
    alarmConsoleUrl,
    formatAlert,
    makeSlackNotifier,
    SlackMessage,
    SlackRejected,
    slackNotifierFromEnv,
    SnsRecord,
    webhookFromSecret,
} from "../../functions/alerts/slack";
import { jsonLogger } from "../../functions/syncBatch/log";
import { checkPlan } from "../../policy/rules";
import { json, Plan, planFor, runComponent } from "../harness";
import { invokeLambda, writeLambdaPackage } from "../support/lambdaArtifact";
import { LambdaFunctionInputs, PolicyDocument } from "../support/planShapes";
import { SecretsManagerServer, startSecretsManager } from "../support/secretsManagerServer";

const WEBHOOK = "https://hooks.slack.com/services/T0ARTIFACT/B0ARTIFACT/artifactWebhookToken42";
const REGION = "ap-northeast-1";
const TOPIC = `arn:aws:sns:${REGION}:123456789012:ops-platform-prd-alerts-${REGION}`;

/** A CloudWatch alarm notification exactly as SNS delivers it to Lambda. */
function alarmRecord(state: "ALARM" | "OK" | "INSUFFICIENT_DATA", old = "OK"): SnsRecord {
    const message = {
        AlarmName: "sync-batch-prd-errors",
        AlarmDescription:
            "sync-batch prd failed; published data is unchanged. Logs: aws logs tail /aws/lambda/sync-batch-prd --since 1h",
        AWSAccountId: "123456789012",
        AlarmConfigurationUpdatedTimestamp: "2026-11-20T10:00:00.000+0000",
        NewStateValue: state,
        NewStateReason:
            "Threshold Crossed: 1 out of the last 1 datapoints [1.0 (23/11/26 15:05:00)] was greater than or equal to the threshold (1.0) (minimum 1 datapoint for OK -> ALARM transition).",
        StateChangeTime: "2026-11-23T15:10:12.345+0000",
        Region: "Asia Pacific (Tokyo)",
        AlarmArn: `arn:aws:cloudwatch:${REGION}:123456789012:alarm:sync-batch-prd-errors`,
        OldStateValue: old,
        OKActions: [],
        AlarmActions: [TOPIC],
        InsufficientDataActions: [],
        Trigger: {
            MetricName: "Errors",
            Namespace: "AWS/Lambda",
            StatisticType: "Statistic",
            Statistic: "SUM",
            Dimensions: [{ value: "sync-batch-prd", name: "FunctionName" }],
            Period: 300,
            EvaluationPeriods: 1,
            ComparisonOperator: "GreaterThanOrEqualToThreshold",
            Threshold: 1.0,
            TreatMissingData: "notBreaching",
        },
    };
    return {
        Sns: {
            MessageId: `m-${state}`,
            TopicArn: TOPIC,
            Subject: `ALARM: "sync-batch-prd-errors" in Asia Pacific (Tokyo)`,
            Message: JSON.stringify(message),
            Timestamp: "2026-11-23T15:10:12.400Z",
        },
    };
}

const plainRecord = (subject: string | null, message: string): SnsRecord => ({
    Sns: {
        MessageId: "m-plain",
        TopicArn: TOPIC,
        Subject: subject,
        Message: message,
        Timestamp: "2026-11-23T01:00:00.000Z",
    },
});

/** A message as the fake Slack received it, with the webhook path it was posted to. */
type ReceivedMessage = SlackMessage & { path: string | undefined };

/** A JSON log line of the notifier. */
interface LogLine {
    level: string;
    problem?: string;
    [field: string]: unknown;
}

/** The URL a fetch was asked for, whichever form it was given in. */
const href = (input: string | URL | Request): string =>
    typeof input === "string" ? input : input instanceof URL ? input.href : input.url;

/** A loopback Slack webhook: answers from a script of statuses, records every body. */
interface FakeSlack {
    readonly url: string;
    readonly bodies: ReceivedMessage[];
    /** `hang`: read the request, never answer (a stalled Slack). */
    script: { status: number; body?: string; retryAfter?: string; hang?: boolean }[];
    close(): Promise<void>;
}

async function startFakeSlack(): Promise<FakeSlack> {
    const state = { bodies: [] as ReceivedMessage[], script: [] as FakeSlack["script"] };
    const handle = async (req: http.IncomingMessage, res: http.ServerResponse) => {
        let body = "";
        for await (const c of req) body += c;
        state.bodies.push({ path: req.url, ...(JSON.parse(body) as SlackMessage) });
        const next = state.script.shift() ?? { status: 200, body: "ok" };
        if (next.hang) return;
        res.writeHead(next.status, {
            "content-type": "text/plain",
            ...(next.retryAfter ? { "retry-after": next.retryAfter } : {}),
        });
        res.end(next.body ?? (next.status === 200 ? "ok" : "error"));
    };
    // A handler that throws surfaces as an unhandled rejection, which fails the test run.
    const server = http.createServer((req, res) => void handle(req, res));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as AddressInfo).port;
    return Object.assign(state, {
        url: `http://127.0.0.1:${port}/services/T0/B0/x`,
        close: () =>
            new Promise<void>((r) => {
                server.closeAllConnections();
                server.close(() => r());
            }),
    });
}

describe("Slack notifier: formatting", () => {
    it("formats an alarm going to ALARM with state change, reason, region, description and a console link", () => {
        const m = formatAlert(alarmRecord("ALARM"), "prd");
        assert.equal(m.text, ":rotating_light: [prd] sync-batch-prd-errors is ALARM");
        const a = m.attachments[0];
        assert.equal(a.color, "#d00000");
        assert.equal(a.title, "sync-batch-prd-errors");
        assert.equal(
            a.title_link,
            `https://${REGION}.console.aws.amazon.com/cloudwatch/home?region=${REGION}#alarmsV2:alarm/sync-batch-prd-errors`,
        );
        assert.match(
            a.text,
            /^Threshold Crossed: 1 out of the last 1 datapoints .* \(minimum 1 datapoint for OK -&gt; ALARM transition\)\.$/,
        );
        assert.deepEqual(a.fields, [
            { title: "State", value: ":white_check_mark: OK → :rotating_light: ALARM", short: true },
            { title: "Region", value: REGION, short: true },
            {
                title: "Description",
                value: "sync-batch prd failed; published data is unchanged. Logs: aws logs tail /aws/lambda/sync-batch-prd --since 1h",
                short: false,
            },
        ]);
        assert.equal(a.ts, Math.floor(Date.parse("2026-11-23T15:10:12.400Z") / 1000));
    });

    it("marks recovery green and missing data grey, with an emoji for each state", () => {
        const ok = formatAlert(alarmRecord("OK", "ALARM"), "stg");
        assert.deepEqual(
            [ok.text, ok.attachments[0].color, ok.attachments[0].fields![0].value],
            [
                ":white_check_mark: [stg] sync-batch-prd-errors is OK",
                "#2eb67d",
                ":rotating_light: ALARM → :white_check_mark: OK",
            ],
        );
        const missing = formatAlert(alarmRecord("INSUFFICIENT_DATA"), "stg");
        assert.deepEqual(
            [missing.text, missing.attachments[0].color, missing.attachments[0].fields![0].value],
            [
                ":grey_question: [stg] sync-batch-prd-errors is INSUFFICIENT_DATA",
                "#9e9e9e",
                ":white_check_mark: OK → :grey_question: INSUFFICIENT_DATA",
            ],
        );
    });

    it("takes the region from the alarm ARN for the console link, even for a us-east-1 alarm on the same formatter", () => {
        const rec = alarmRecord("ALARM");
        const msg = JSON.parse(rec.Sns.Message) as Record<string, unknown>;
        msg.AlarmName = "fs-prd dispatcher 5xx";
        msg.AlarmArn = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:fs-prd dispatcher 5xx";
        const a = formatAlert({ Sns: { ...rec.Sns, Message: JSON.stringify(msg) } }, "prd").attachments[0];
        assert.equal(
            a.title_link,
            "https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#alarmsV2:alarm/fs-prd%20dispatcher%205xx",
        );
        assert.deepEqual(a.fields![1], { title: "Region", value: "us-east-1", short: true });
    });

    it("passes other messages through with their subject, escaping Slack markup and truncating long bodies", () => {
        const m = formatAlert(
            plainRecord(
                "[prd] Spot price at 95% of on-demand: Spot capacity lowered",
                `maxvCpus <400> & more ${"x".repeat(5000)}`,
            ),
            "prd",
        );
        assert.equal(
            m.text,
            ":information_source: [prd] Spot price at 95% of on-demand: Spot capacity lowered",
            "the publisher's [prd] prefix is not repeated",
        );
        assert.equal(m.attachments[0].title, "Spot price at 95% of on-demand: Spot capacity lowered");
        assert.ok(m.attachments[0].text.startsWith("maxvCpus &lt;400&gt; &amp; more xxx"));
        assert.equal(m.attachments[0].text.length, 3000);
        assert.ok(m.attachments[0].text.endsWith("…"));
        assert.equal(formatAlert(plainRecord(null, '{"not":"an alarm"}'), "prd").attachments[0].title, "Notification");
    });

    it("shows a JSON object message (the orchestration failure) as one line per field", () => {
        const m = formatAlert(
            plainRecord(
                "[stg] Batch Execution Failed",
                JSON.stringify({
                    error: "States.TaskFailed",
                    cause: '{"StopCode":"EssentialContainerExited"}',
                    executionName: "nightly-2026-11-23",
                    timestamp: "2026-11-22T17:03:11.000Z",
                }),
            ),
            "stg",
        );
        assert.equal(m.text, ":information_source: [stg] Batch Execution Failed");
        assert.equal(
            m.attachments[0].text,
            'error: States.TaskFailed\ncause: {"StopCode":"EssentialContainerExited"}\nexecutionName: nightly-2026-11-23\ntimestamp: 2026-11-22T17:03:11.000Z',
        );
    });

    it("links alarm names with spaces and slashes safely", () => {
        assert.equal(
            alarmConsoleUrl("us-east-1", "fs prd/dlq depth"),
            "https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#alarmsV2:alarm/fs%20prd%2Fdlq%20depth",
        );
    });
});

describe("Slack notifier: delivery", function () {
    this.timeout(30000);
    let slack: FakeSlack;
    let waits: number[];
    let logs: LogLine[];
    before(async () => {
        slack = await startFakeSlack();
    });
    after(() => slack.close());
    beforeEach(() => {
        slack.bodies.length = 0;
        slack.script = [];
        waits = [];
        logs = [];
    });
    const notifier = () =>
        makeSlackNotifier({
            webhookUrl: () => Promise.resolve(slack.url),
            environment: "prd",
            log: jsonLogger({}, (l) => logs.push(JSON.parse(l) as LogLine)),
            sleep: (ms) => {
                waits.push(ms);
                return Promise.resolve();
            },
        });

    it("posts one message per SNS record", async () => {
        assert.deepEqual(await notifier()({ Records: [alarmRecord("ALARM"), plainRecord("s", "m")] }), { posted: 2 });
        assert.deepEqual(
            slack.bodies.map((b) => b.text),
            [":rotating_light: [prd] sync-batch-prd-errors is ALARM", ":information_source: [prd] s"],
        );
        assert.equal(slack.bodies[0].path, "/services/T0/B0/x");
    });

    it("waits as long as Retry-After asks on 429 and backs off on 5xx, then delivers", async () => {
        slack.script = [{ status: 429, retryAfter: "2" }, { status: 503 }, { status: 200 }];
        assert.deepEqual(await notifier()({ Records: [alarmRecord("ALARM")] }), { posted: 1 });
        assert.equal(slack.bodies.length, 3);
        assert.deepEqual(waits, [2000, 1000]);
        assert.ok(
            logs.every((l) => !JSON.stringify(l).includes(slack.url)),
            "the webhook URL is never logged",
        );
    });

    it("gives up after four attempts and throws, so Lambda retries the event and its dead-letter queue keeps the alert", async () => {
        slack.script = Array.from({ length: 4 }, () => ({ status: 500, body: "internal_error" }));
        await assert.rejects(
            notifier()({ Records: [alarmRecord("ALARM")] }),
            /^Error: Slack post failed after 4 attempts \(HTTP 500 internal_error\); Lambda retries the event, then its dead-letter queue keeps it$/,
        );
        assert.equal(slack.bodies.length, 4);
        assert.deepEqual(waits, [500, 1000, 2000]);
    });

    it("caps a long Retry-After at the longest wait", async () => {
        slack.script = [{ status: 429, retryAfter: "120" }, { status: 200 }];
        assert.deepEqual(await notifier()({ Records: [plainRecord("s", "m")] }), { posted: 1 });
        assert.deepEqual(waits, [8000]);
    });

    it("abandons a post Slack does not answer and retries it", async () => {
        slack.script = [{ status: 0, hang: true }, { status: 200 }];
        const n = makeSlackNotifier({
            webhookUrl: () => Promise.resolve(slack.url),
            environment: "prd",
            log: jsonLogger({}, (l) => logs.push(JSON.parse(l) as LogLine)),
            sleep: (ms) => {
                waits.push(ms);
                return Promise.resolve();
            },
            attemptTimeoutMs: 200,
        });
        assert.deepEqual(await n({ Records: [plainRecord("s", "m")] }), { posted: 1 });
        assert.equal(slack.bodies.length, 2);
        assert.equal(logs[0].level, "WARN");
        assert.match(logs[0].problem ?? "", /^network error: .*(abort|timeout)/i);
    });

    it("stops retrying when the next attempt would not fit in the time budget, so the function fails before its timeout", async () => {
        let clock = 0;
        slack.script = Array.from({ length: 4 }, () => ({ status: 429, retryAfter: "8" }));
        const n = makeSlackNotifier({
            webhookUrl: () => Promise.resolve(slack.url),
            environment: "prd",
            log: jsonLogger({}, () => undefined),
            now: () => clock,
            sleep: (ms) => {
                waits.push(ms);
                clock += ms;
                return Promise.resolve();
            },
        });
        await assert.rejects(
            n({ Records: [plainRecord("s", "m")] }),
            /^Error: Slack post failed after 3 attempts \(HTTP 429 error; no time left within 22000 ms for another attempt\); Lambda retries/,
        );
        assert.deepEqual(waits, [8000, 8000]);
        assert.equal(slack.bodies.length, 3);
    });

    it("keeps the webhook URL out of errors and logs when the connection fails", async () => {
        const url = "https://hooks.slack.com/services/T0/B0/leakyToken99";
        const n = makeSlackNotifier({
            webhookUrl: () => Promise.resolve(url),
            environment: "prd",
            log: jsonLogger({}, (l) => logs.push(JSON.parse(l) as LogLine)),
            sleep: () => Promise.resolve(),
            attempts: 2,
            fetch: () => Promise.reject(new TypeError(`fetch failed: connect ETIMEDOUT ${url}`)),
        });
        await assert.rejects(
            n({ Records: [plainRecord("s", "m")] }),
            (e: Error) =>
                e.message.includes("network error: fetch failed: connect ETIMEDOUT <webhook>") &&
                !e.message.includes("leakyToken99"),
        );
        assert.equal(logs.length, 1);
        assert.ok(!JSON.stringify(logs).includes("leakyToken99"));
    });

    it("does not retry a message Slack refuses for good", async () => {
        slack.script = [{ status: 404, body: "no_service" }];
        await assert.rejects(
            notifier()({ Records: [alarmRecord("ALARM")] }),
            (e: Error) => e instanceof SlackRejected && /HTTP 404 no_service/.test(e.message),
        );
        assert.equal(slack.bodies.length, 1);
    });

    it("rereads a refused webhook's secret and posts to the new URL after a rotation; a refusal of the current URL still throws", async () => {
        const oldUrl = "https://hooks.slack.com/services/T0/B0/oldToken";
        const newUrl = "https://hooks.slack.com/services/T0/B1/newToken";
        let stored = oldUrl;
        let reads = 0;
        const webhook = webhookFromSecret(() => {
            reads++;
            return Promise.resolve(stored);
        }, "arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:w-AbCdEf");
        // Stands in for DNS: hooks.slack.com reaches the loopback Slack.
        const toLoopback: typeof fetch = (url, init) =>
            fetch(href(url).replace("https://hooks.slack.com", new URL(slack.url).origin), init);
        const n = makeSlackNotifier({
            webhookUrl: webhook,
            environment: "prd",
            log: jsonLogger({}, (l) => logs.push(JSON.parse(l) as LogLine)),
            sleep: () => Promise.resolve(),
            fetch: toLoopback,
        });
        assert.deepEqual(await n({ Records: [plainRecord("s", "m")] }), { posted: 1 });
        stored = newUrl;
        slack.script = [{ status: 404, body: "no_service" }];
        assert.deepEqual(await n({ Records: [plainRecord("s", "m")] }), { posted: 1 });
        assert.deepEqual(
            slack.bodies.map((b) => b.path),
            ["/services/T0/B0/oldToken", "/services/T0/B0/oldToken", "/services/T0/B1/newToken"],
        );
        assert.equal(reads, 2);
        slack.script = [{ status: 410, body: "channel_is_archived" }];
        await assert.rejects(
            n({ Records: [plainRecord("s", "m")] }),
            (e: Error) => e instanceof SlackRejected && /HTTP 410 channel_is_archived/.test(e.message),
        );
        assert.equal(reads, 3);
        assert.equal(slack.bodies.length, 4);
        assert.ok(!JSON.stringify(logs).includes("Token"), "no webhook in the logs");
    });

    it("refuses to start without its two environment variables", () => {
        const get = () => Promise.resolve(WEBHOOK);
        const log = jsonLogger({}, () => undefined);
        assert.throws(
            () => slackNotifierFromEnv({ ALERTS_ENVIRONMENT: "prd" }, get, log),
            /^Error: SLACK_WEBHOOK_SECRET_ARN is not set; the Alerts component sets it/,
        );
        assert.throws(
            () => slackNotifierFromEnv({ SLACK_WEBHOOK_SECRET_ARN: "arn:x" }, get, log),
            /^Error: ALERTS_ENVIRONMENT is not set; the Alerts component sets it/,
        );
    });

    it("reads the webhook secret once, rejects a value that is not a webhook without echoing it, and retries a failed read", async () => {
        const reads: string[] = [];
        let value = WEBHOOK;
        let fail = true;
        const get = webhookFromSecret((id) => {
            reads.push(id);
            if (fail) {
                fail = false;
                return Promise.reject(new Error("throttled"));
            }
            return Promise.resolve(value);
        }, "arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:w-AbCdEf");
        await assert.rejects(get(), /throttled/);
        assert.equal(await get(), WEBHOOK);
        assert.equal(await get(), WEBHOOK);
        assert.equal(reads.length, 2);
        value = "https://example.com/hook/secret-token-123";
        const bad = webhookFromSecret(() => Promise.resolve(value), "arn:…:secret:w-AbCdEf");
        await assert.rejects(
            bad(),
            (e: Error) =>
                /secret arn:…:secret:w-AbCdEf does not hold a Slack Incoming Webhook URL/.test(e.message) &&
                !e.message.includes("secret-token-123"),
        );
    });
});

describe("Alerts with a Slack webhook", function () {
    this.timeout(120000);
    let withSlack: Plan;
    let without: Plan;
    const T = { fn: "aws:lambda/function:Function", rolePolicy: "aws:iam/rolePolicy:RolePolicy" };
    const build = (slackWebhookUrl?: string) => () => {
        const provider = new aws.Provider(`aws-${REGION}`, { region: REGION });
        new Alerts(
            `alerts-${REGION}`,
            { email: "ops@example.com", region: REGION, environment: "prd", slackWebhookUrl },
            { providers: [provider] },
        );
    };
    before(async () => {
        withSlack = await runComponent(build(WEBHOOK), "prd");
        without = await runComponent(build(undefined), "prd");
    });

    it("creates only the topic, its policy and the e-mail subscription without a webhook", () => {
        assert.deepEqual(
            without.resources
                .filter((r) => r.custom && r.type !== "pulumi:providers:aws")
                .map((r) => r.type)
                .sort(),
            ["aws:sns/topic:Topic", "aws:sns/topicPolicy:TopicPolicy", "aws:sns/topicSubscription:TopicSubscription"],
        );
    });

    it("subscribes a least-privilege notifier Lambda reading the webhook from its own secret", () => {
        const fnName = `ops-platform-prd-alerts-slack-${REGION}`;
        const secretArn = `arn:aws:secretsmanager:${REGION}:123456789012:secret:ops-platform/prd/alerts/slack-webhook-${REGION}-AbCdEf`;
        const dlqArn = `arn:aws:sqs:${REGION}:123456789012:${fnName}-dlq`;
        const { code, ...fn } = withSlack.inputs(T.fn, `alerts-${REGION}-slack`);
        assert.ok(code, "the function has a serialized code archive");
        assert.deepEqual(fn, {
            name: fnName,
            description: `Posts ${REGION} alerts to Slack`,
            role: `arn:aws:iam::123456789012:role/alerts-${REGION}-slack`,
            handler: "__index.handler",
            runtime: "nodejs22.x",
            timeout: 30,
            memorySize: 128,
            environment: { variables: { SLACK_WEBHOOK_SECRET_ARN: secretArn, ALERTS_ENVIRONMENT: "prd" } },
            deadLetterConfig: { targetArn: dlqArn },
            tracingConfig: { mode: "Active" },
            loggingConfig: { logFormat: "Text", logGroup: `/aws/lambda/${fnName}` },
        });
        assert.deepEqual(withSlack.inputs("aws:secretsmanager/secret:Secret", `alerts-${REGION}-slack-webhook`), {
            name: `ops-platform/prd/alerts/slack-webhook-${REGION}`,
            description: "Slack Incoming Webhook URL the alerts notifier posts to (alertSlackWebhookUrl)",
            recoveryWindowInDays: 7,
        });
        assert.deepEqual(
            withSlack.inputs("aws:secretsmanager/secretVersion:SecretVersion", `alerts-${REGION}-slack-webhook`),
            { secretId: secretArn, secretString: "[secret]" },
        );
        assert.deepEqual(withSlack.inputs("aws:sqs/queue:Queue", `alerts-${REGION}-slack-dlq`), {
            name: `${fnName}-dlq`,
            messageRetentionSeconds: 14 * 24 * 3600,
            sqsManagedSseEnabled: true,
        });
        assert.deepEqual(withSlack.inputs("aws:cloudwatch/logGroup:LogGroup", `alerts-${REGION}-slack-logs`), {
            name: `/aws/lambda/${fnName}`,
            retentionInDays: 14,
        });
        assert.deepEqual(
            json<PolicyDocument>(withSlack.inputs("aws:iam/role:Role", `alerts-${REGION}-slack`).assumeRolePolicy)
                .Statement,
            [{ Effect: "Allow", Principal: { Service: "lambda.amazonaws.com" }, Action: "sts:AssumeRole" }],
        );
        assert.deepEqual(
            json<PolicyDocument>(withSlack.inputs(T.rolePolicy, `alerts-${REGION}-slack`).policy).Statement,
            [
                {
                    Sid: "Logs",
                    Effect: "Allow",
                    Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
                    Resource: `arn:aws:logs:${REGION}:123456789012:log-group:/aws/lambda/${fnName}:*`,
                },
                { Sid: "ReadWebhook", Effect: "Allow", Action: ["secretsmanager:GetSecretValue"], Resource: secretArn },
                { Sid: "DeadLetters", Effect: "Allow", Action: ["sqs:SendMessage"], Resource: dlqArn },
                {
                    Sid: "Tracing",
                    Effect: "Allow",
                    Action: ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
                    Resource: "*",
                },
            ],
        );
        assert.deepEqual(
            withSlack.inputs(
                "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig",
                `alerts-${REGION}-slack-invoke`,
            ),
            {
                functionName: fnName,
                maximumRetryAttempts: 2,
                maximumEventAgeInSeconds: 6 * 3600,
            },
        );
        assert.deepEqual(withSlack.inputs("aws:sns/topicSubscription:TopicSubscription", `alerts-${REGION}-slack`), {
            topic: TOPIC,
            protocol: "lambda",
            endpoint: `arn:aws:lambda:${REGION}:123456789012:function:${fnName}`,
        });
        assert.deepEqual(withSlack.inputs("aws:lambda/permission:Permission", `alerts-${REGION}-slack`), {
            action: "lambda:InvokeFunction",
            function: fnName,
            principal: "sns.amazonaws.com",
            sourceArn: TOPIC,
        });
        assert.deepEqual(withSlack.inputs("aws:cloudwatch/metricAlarm:MetricAlarm", `alerts-${REGION}-slack-dlq`), {
            name: `${fnName}-dlq`,
            alarmDescription: `Alerts that could not be posted to Slack are waiting in ${fnName}-dlq (webhook revoked or Slack down); the e-mail copy was sent`,
            namespace: "AWS/SQS",
            metricName: "ApproximateNumberOfMessagesVisible",
            dimensions: { QueueName: `${fnName}-dlq` },
            statistic: "Maximum",
            period: 300,
            evaluationPeriods: 1,
            threshold: 1,
            comparisonOperator: "GreaterThanOrEqualToThreshold",
            treatMissingData: "notBreaching",
            alarmActions: [TOPIC],
        });
    });

    it("creates the function after its role policy and log group, and subscribes it only once SNS may invoke it", () => {
        const deps = (type: string, name: string) => withSlack.run.dependencies?.[withSlack.get(type, name).urn] ?? [];
        const fnDeps = deps(T.fn, `alerts-${REGION}-slack`);
        for (const [type, name] of [
            [T.rolePolicy, `alerts-${REGION}-slack`],
            ["aws:cloudwatch/logGroup:LogGroup", `alerts-${REGION}-slack-logs`],
        ]) {
            assert.ok(
                fnDeps.includes(withSlack.get(type, name).urn),
                `function depends on ${name}: ${fnDeps.join(", ")}`,
            );
        }
        assert.ok(
            deps("aws:sns/topicSubscription:TopicSubscription", `alerts-${REGION}-slack`).includes(
                withSlack.get("aws:lambda/permission:Permission", `alerts-${REGION}-slack`).urn,
            ),
        );
    });

    it("passes every rule of the policy pack", () => {
        assert.deepEqual(
            checkPlan(withSlack.resources).map((v) => `${v.rule}: ${v.message}`),
            [],
        );
    });

    describe("deployment artifact", () => {
        let slack: FakeSlack;
        let sm: SecretsManagerServer;
        let preload: string;
        before(async () => {
            slack = await startFakeSlack();
            sm = await startSecretsManager((id) =>
                id.includes(":secret:ops-platform/prd/alerts/slack-webhook-")
                    ? WEBHOOK
                    : id.endsWith(":secret:not-a-webhook")
                      ? "https://example.com/hook/leakToken77"
                      : undefined,
            );
            // Stands in for DNS: https://hooks.slack.com/… reaches the loopback Slack.
            preload = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "slack-route-")), "route.js");
            fs.writeFileSync(
                preload,
                `const real = globalThis.fetch;
globalThis.fetch = (url, init) => real(String(url).replace(/^https:\\/\\/hooks\\.slack\\.com/, ${JSON.stringify(new URL(slack.url).origin)}), init);\n`,
            );
        });
        after(async () => {
            await Promise.all([slack.close(), sm.close()]);
            fs.rmSync(path.dirname(preload), { recursive: true, force: true });
        });

        it("runs in a fresh node process: reads the webhook from Secrets Manager and posts the alarm; the code carries no webhook", async () => {
            const fn = withSlack.inputs<LambdaFunctionInputs>(T.fn, `alerts-${REGION}-slack`);
            const artifact = writeLambdaPackage(fn.code);
            try {
                assert.deepEqual(artifact.packages, [], "the AWS SDK comes from the runtime; nothing else is needed");
                assert.ok(!artifact.text.includes("artifactWebhookToken42"));
                const out = await invokeLambda(
                    artifact.dir,
                    {
                        Records: [
                            {
                                EventSource: "aws:sns",
                                EventVersion: "1.0",
                                EventSubscriptionArn: `${TOPIC}:sub`,
                                ...alarmRecord("ALARM"),
                            },
                        ],
                    },
                    {
                        ...fn.environment?.variables,
                        AWS_REGION: REGION,
                        AWS_ACCESS_KEY_ID: "AKIDARTIFACTTEST",
                        AWS_SECRET_ACCESS_KEY: "artifact-test",
                        AWS_ENDPOINT_URL_SECRETS_MANAGER: sm.endpoint,
                        NODE_OPTIONS: `--require ${preload}`,
                    },
                );
                assert.deepEqual(
                    out.foreign.filter((m) => m !== preload),
                    [],
                );
                assert.deepEqual(out.result, { posted: 1 });
                assert.equal(slack.bodies.length, 1);
                assert.equal(slack.bodies[0].path, "/services/T0ARTIFACT/B0ARTIFACT/artifactWebhookToken42");
                assert.equal(slack.bodies[0].text, ":rotating_light: [prd] sync-batch-prd-errors is ALARM");
                assert.deepEqual(sm.requests, [fn.environment?.variables?.SLACK_WEBHOOK_SECRET_ARN]);
                assert.ok(
                    !JSON.stringify(out.logs).includes("artifactWebhookToken42"),
                    "the webhook never reaches the logs",
                );
            } finally {
                artifact.remove();
            }
        });

        it("fails the invocation, naming the secret but not its value, when the secret holds no Slack webhook", async () => {
            const fn = withSlack.inputs<LambdaFunctionInputs>(T.fn, `alerts-${REGION}-slack`);
            const artifact = writeLambdaPackage(fn.code);
            const secretArn = `arn:aws:secretsmanager:${REGION}:123456789012:secret:not-a-webhook`;
            try {
                await assert.rejects(
                    invokeLambda(
                        artifact.dir,
                        { Records: [alarmRecord("ALARM")] },
                        {
                            ...fn.environment?.variables,
                            SLACK_WEBHOOK_SECRET_ARN: secretArn,
                            AWS_REGION: REGION,
                            AWS_ACCESS_KEY_ID: "AKIDARTIFACTTEST",
                            AWS_SECRET_ACCESS_KEY: "artifact-test",
                            AWS_ENDPOINT_URL_SECRETS_MANAGER: sm.endpoint,
                        },
                    ),
                    (e: Error) =>
                        e.message.includes(`secret ${secretArn} does not hold a Slack Incoming Webhook URL`) &&
                        !e.message.includes("leakToken77"),
                );
            } finally {
                artifact.remove();
            }
        });
    });
});

describe("The program's alerts topics and alertSlackWebhookUrl", function () {
    this.timeout(180000);
    const notifiers = (plan: Plan) =>
        plan
            .ofType("aws:lambda/function:Function")
            .map((r) => r.inputs.name as string)
            .filter((n) => n.includes("-alerts-slack-"))
            .sort();

    it("subscribes a notifier to every region's topic when the secret is set, and never writes the webhook into the plan", async () => {
        const plan = await planFor("prd", { secrets: { alertSlackWebhookUrl: WEBHOOK } });
        assert.deepEqual(notifiers(plan), [
            "ops-platform-prd-alerts-slack-ap-northeast-1",
            "ops-platform-prd-alerts-slack-us-east-1",
        ]);
        const subscriptions = plan
            .ofType("aws:sns/topicSubscription:TopicSubscription")
            .filter((r) => r.inputs.protocol === "lambda")
            .map((r) => r.inputs.topic)
            .sort();
        assert.deepEqual(
            subscriptions,
            ["ap-northeast-1", "us-east-1"].map((r) => `arn:aws:sns:${r}:123456789012:ops-platform-prd-alerts-${r}`),
        );
        assert.ok(!JSON.stringify(plan.resources).includes("artifactWebhookToken42"));
    });

    it("builds no notifier when the secret is not set", async () => {
        assert.deepEqual(notifiers(await planFor("prd")), []);
    });
});
