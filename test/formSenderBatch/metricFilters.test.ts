/**
 * The form sender's metric filters against the log events their functions really write: the real handlers run with
 * their default logger, and what reaches stdout is matched with CloudWatch Logs' filter-pattern rules.
 */
import { strict as assert } from "assert";
import { makeBatchEventsHandler } from "../../functions/formSender/batchEvents";
import { makeDispatcher, type RpcClient } from "../../functions/formSender/dispatcher";
import { RPC_RETRY_MESSAGE } from "../../containers/runner/src/job";
import { makeLogger as makeRunnerLogger } from "../../containers/runner/src/log";
import { makeLogger } from "../../functions/formSender/log";
import { makeSpotWatchHandler } from "../../functions/formSender/spotWatch";
import { planFor } from "../harness";
import { matchesFilterPattern } from "../support/cloudwatchFilter";
import { describeCommand } from "../support/sdkStub";

/** Every line `run` writes to process.stdout (how the Lambda runtime hands them to CloudWatch Logs). */
async function stdoutLines(run: () => Promise<unknown>): Promise<string[]> {
    const chunks: string[] = [];
    // eslint-disable-next-line @typescript-eslint/unbound-method -- put back as it was, called on process.stdout
    const original = process.stdout.write;
    process.stdout.write = (chunk: string | Uint8Array) => {
        chunks.push(typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8"));
        return true;
    };
    try {
        await run();
    } finally {
        process.stdout.write = original;
    }
    return chunks.join("").split("\n").filter(Boolean);
}

/**
 * The line Lambda's Node.js runtime writes for `console.log(message)` in the Text log format:
 * aws/aws-lambda-nodejs-runtime-interface-client src/LogPatch.js `logTextToStdout`
 * (`${time}\t${requestId}\t${level.name}\t${util.format(message)}`, newlines turned into \r).
 */
const textFormatConsoleLine = (message: string) =>
    `2026-11-23T01:50:00.000Z\t5f0e6c1e-1f8a-4c53-9a43-7d1c0f4e2b11\tINFO\t${message.replace(/\n/g, "\r")}`;

/**
 * batch-events for one failed plain job whose attempt left one send intent without a result:
 * Supabase and AWS stubbed at their boundaries.
 */
async function batchEventsFailureLines(): Promise<string[]> {
    const db: RpcClient = {
        rpc: (fn) =>
            Promise.resolve({
                data:
                    fn === "get_job_execution"
                        ? { id: "e1", targeting_id: "T1", status: "submitted", job_id: "job-1", metadata: {} }
                        : fn === "mark_send_intents_unknown"
                          ? 1
                          : null,
                error: null,
            }),
    };
    const none = { send: () => Promise.resolve({}) };
    const handler = makeBatchEventsHandler({
        bucket: "fs-configs",
        onDemandQueue: "stg-fs-ondemand",
        batch: none,
        s3: none,
        db: () => Promise.resolve(db),
        log: makeLogger({ component: "batch-events" }),
    });
    return stdoutLines(() =>
        handler({
            "detail-type": "Batch Job State Change",
            source: "aws.batch",
            time: "2026-11-23T01:50:00Z",
            detail: {
                jobId: "job-1",
                jobName: "stg-fs-T1-20261123015000",
                jobQueue: "stg-fs-spot",
                status: "FAILED",
                statusReason: "Essential container in task exited",
                attempts: [{ container: { exitCode: 137 }, statusReason: "Essential container in task exited" }],
                container: { environment: [{ name: "FORM_SENDER_EXECUTION_ID", value: "e1" }] },
            },
        }),
    );
}

/** batch-events for a job cancelled for Spot capacity whose execution allows on-demand: it falls back. */
async function batchEventsFallbackLines(): Promise<string[]> {
    const db: RpcClient = {
        rpc: (fn) =>
            Promise.resolve({
                data:
                    fn === "get_job_execution"
                        ? {
                              id: "e2",
                              targeting_id: "T2",
                              status: "submitted",
                              job_id: "job-2",
                              metadata: { batch: { allow_on_demand_fallback: true } },
                          }
                        : fn === "record_job_fallback"
                          ? true
                          : null,
                error: null,
            }),
    };
    const batch = { send: () => Promise.resolve({ jobId: "job-2-od", jobName: "stg-fs-T2-od" }) };
    const handler = makeBatchEventsHandler({
        bucket: "fs-configs",
        onDemandQueue: "stg-fs-ondemand",
        batch,
        s3: batch,
        db: () => Promise.resolve(db),
        log: makeLogger({ component: "batch-events" }),
    });
    return stdoutLines(() =>
        handler({
            "detail-type": "Batch Job State Change",
            source: "aws.batch",
            time: "2026-11-23T02:20:00Z",
            detail: {
                jobId: "job-2",
                jobName: "stg-fs-T2-20261123015000",
                jobQueue: "stg-fs-spot-then-ondemand",
                status: "FAILED",
                statusReason: "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY - Service cannot fulfill the capacity requested",
                container: { environment: [{ name: "FORM_SENDER_EXECUTION_ID", value: "e2" }] },
            },
        }),
    );
}

/** spot-watch while Spot costs 90 % of on-demand: it lowers capacity. */
async function spotWatchLoweredLines(): Promise<string[]> {
    const client = {
        send(command: unknown): Promise<unknown> {
            switch (describeCommand(command).command) {
                case "DescribeSpotPriceHistoryCommand":
                    return Promise.resolve({
                        SpotPriceHistory: [
                            {
                                InstanceType: "c6a.xlarge",
                                AvailabilityZone: "us-east-1a",
                                SpotPrice: "0.1377",
                                Timestamp: new Date("2026-11-23T01:50:00Z"),
                            },
                        ],
                    });
                case "DescribeComputeEnvironmentsCommand":
                    return Promise.resolve({
                        computeEnvironments: [{ computeEnvironmentArn: "ce", computeResources: { maxvCpus: 16 } }],
                    });
                case "ListJobsCommand": {
                    // One job RUNNABLE for 50 minutes in the Spot queue, no array parents.
                    const { jobStatus } = describeCommand(command).input as { jobStatus?: string };
                    return Promise.resolve({
                        jobSummaryList:
                            jobStatus === "RUNNABLE"
                                ? [{ jobId: "job-9", jobName: "n", createdAt: Date.parse("2026-11-23T01:10:00Z") }]
                                : [],
                    });
                }
                default:
                    return Promise.resolve({});
            }
        },
    };
    const handler = makeSpotWatchHandler({
        computeEnvironment: "ce",
        configuredMaxVcpus: 16,
        onDemandPrices: { "c6a.xlarge": 0.153 },
        topicArn: "arn:aws:sns:us-east-1:123456789012:alerts",
        environment: "stg",
        queues: ["stg-fs-spot"],
        ec2: client,
        batch: client,
        sns: client,
        log: makeLogger({ component: "spot-watch" }),
        now: () => new Date("2026-11-23T02:00:00Z"),
    });
    return stdoutLines(handler);
}

/** The dispatcher while Supabase answers 503: the submit fails with 503 and the failed RPC is logged. */
async function dispatcherSupabaseDownLines(): Promise<string[]> {
    const none = { send: () => Promise.resolve({}) };
    const handler = makeDispatcher({
        env: "stg",
        bucket: "fs-configs",
        queues: { spot: "s", spotThenOnDemand: "so", onDemand: "o" },
        jobDefinition: "jd",
        batch: none,
        s3: none,
        db: () =>
            Promise.resolve({
                rpc: () => Promise.resolve({ data: null, error: { message: "Service Unavailable" }, status: 503 }),
            }),
        presignPut: () => Promise.resolve(""),
        log: makeLogger({ component: "dispatcher" }),
    });
    return stdoutLines(async () => {
        const res = await handler({
            httpMethod: "POST",
            path: "/form-sender/submit",
            resource: "/form-sender/submit",
            body: JSON.stringify({
                targeting_id: "T3",
                client_config: {
                    client: {
                        company_name: "A",
                        last_name: "B",
                        first_name: "C",
                        email: "a@example.com",
                        phone: "03-1234-5678",
                    },
                    message: { body: "x" },
                },
                execution: { run_total: 1 },
            }),
        });
        assert.equal(res.statusCode, 503, res.body);
    });
}

/** The runner's line for a Supabase call it retries, written by its own logger. */
async function runnerRetryLines(): Promise<string[]> {
    const lines: string[] = [];
    makeRunnerLogger((l) => lines.push(l), { run_index: 1 }).warn(RPC_RETRY_MESSAGE, { fn: "claim", attempt: 1 });
    return Promise.resolve(lines);
}

interface MetricFilterInputs {
    readonly name: string;
    readonly logGroupName: string;
    readonly pattern: string;
}

describe("form-sender metric filters", function () {
    this.timeout(120000);

    it("the logger writes each JSON line to stdout as it is, with its fields", async () => {
        const lines = await stdoutLines(() => {
            makeLogger({ component: "batch-events" })("warn", "execution failed", { execution_id: "e1" });
            return Promise.resolve();
        });
        assert.deepEqual(lines, [
            JSON.stringify({
                level: "warn",
                component: "batch-events",
                message: "execution failed",
                execution_id: "e1",
            }),
        ]);
    });

    // CloudWatch Logs, "Using filter patterns to match terms in JSON log events"
    // (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/matching-terms-json-log-events.html): JSON patterns
    // match log events that are JSON objects; a Text-format console.log event starts with the runtime's prefix.
    for (const stack of ["stg", "prd"]) {
        it(`${stack}: each metric filter matches the line its function writes, not a Text-format console.log line`, async () => {
            const plan = await planFor(stack);
            const filters = plan
                .ofType("aws:cloudwatch/logMetricFilter:LogMetricFilter")
                .filter((f) => f.name.startsWith("form-sender-"))
                .map((f) => f.inputs as unknown as MetricFilterInputs);
            const written: Record<string, string[]> = {
                [`/aws/lambda/fs-${stack}-batch-events`]: [
                    ...(await batchEventsFailureLines()),
                    ...(await batchEventsFallbackLines()),
                ],
                [`/aws/lambda/fs-${stack}-spot-watch`]: await spotWatchLoweredLines(),
                [`/aws/lambda/fs-${stack}-dispatcher`]: await dispatcherSupabaseDownLines(),
                [`/aws/batch/fs-${stack}-runner`]: await runnerRetryLines(),
            };
            assert.deepEqual(filters.map((f) => f.name).sort(), [
                `fs-${stack}-backlog`,
                `fs-${stack}-failed-jobs`,
                `fs-${stack}-spot-actions`,
                `fs-${stack}-spot-fallbacks`,
                `fs-${stack}-supabase-errors`,
                `fs-${stack}-supabase-errors-runner`,
                `fs-${stack}-unknown-sends`,
            ]);
            for (const f of filters) {
                const lines = written[f.logGroupName];
                assert.ok(lines, `no function writes to ${f.logGroupName}`);
                const matching = lines.filter((l) => matchesFilterPattern(f.pattern, l));
                assert.equal(matching.length, 1, `${f.name} ${f.pattern} against ${JSON.stringify(lines)}`);
                assert.equal(matchesFilterPattern(f.pattern, textFormatConsoleLine(matching[0])), false, f.name);
            }
        });
    }
});
