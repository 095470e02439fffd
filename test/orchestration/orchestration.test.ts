import { strict as assert } from "assert";
import * as aws from "@pulumi/aws";
import { ConfigError, parseStackConfig } from "../../components/config";
import { MINIMAL_CONFIG } from "../support/minimalConfig";
import {
    batchWorkflowDefinition,
    Orchestration,
    taskDefinitionFamilyArn,
    validateTaskTimeout,
} from "../../components/orchestration";
import validateAsl from "asl-validator";
import { json, Plan, planFor, runComponent } from "../harness";

const ACCOUNT = "123456789012";

/** A retrier or catcher of the definition, as far as these tests read it. */
interface ErrorHandler {
    ErrorEquals: string[];
    Next?: string;
    MaxAttempts?: number;
}

/** A state of the definition, as far as these tests read it. */
interface AslState {
    Type: string;
    Resource?: string;
    Parameters?: unknown;
    ResultPath?: string;
    TimeoutSeconds?: number;
    Retry?: ErrorHandler[];
    Catch?: ErrorHandler[];
    Next?: string;
}

interface AslDefinition {
    StartAt: string;
    States: Record<string, AslState>;
}

/** The state machine's inputs in the plan; `definition` is the ASL as a JSON string. */
interface StateMachineInputs {
    definition: string;
    loggingConfiguration: unknown;
    tracingConfiguration: unknown;
}

interface PolicyStatement {
    Sid?: string;
    Effect: string;
    Action: string[];
    Resource?: unknown;
    Principal?: unknown;
    Condition?: unknown;
}

interface PolicyDocument {
    Statement: PolicyStatement[];
}

/** Errors no wildcard takes: States.ALL "can't catch the States.DataLimitExceeded terminal error or Runtime error types". */
const TERMINAL_ERRORS = ["States.DataLimitExceeded", "States.Runtime"];

/**
 * Whether `errorEquals` takes `error`, as Step Functions documents error names
 * (https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html#error-handling-error-representation):
 * `States.ALL` is "a wildcard that matches any known error name" except the terminal ones; `States.TaskFailed`, "when
 * used in a retry or catch, ... acts as a wildcard that matches any known error name except for States.Timeout"; any
 * other name matches itself.
 */
function takes(errorEquals: readonly string[], error: string): boolean {
    return errorEquals.some((name) => {
        if (name === error) return true;
        if (TERMINAL_ERRORS.includes(error)) return false;
        if (name === "States.ALL") return true;
        return name === "States.TaskFailed" && error !== "States.Timeout";
    });
}

/** The handler that gets `error`: Step Functions scans retriers, and then catchers, in their order. */
const firstTaking = (handlers: ErrorHandler[] | undefined, error: string) =>
    (handlers ?? []).find((h) => takes(h.ErrorEquals, error));

describe("Orchestration", function () {
    this.timeout(60000);
    const plans: Record<string, Plan> = {};
    before(async () => {
        plans.stg = await planFor("stg");
        plans.prd = await planFor("prd");
    });

    it("the ASL validator rejects a broken definition (so a passing check means something)", () => {
        const broken = batchWorkflowDefinition({
            environment: "stg",
            clusterArn: "c",
            taskDefinitionArn: "t",
            subnetIds: [],
            securityGroupId: "sg",
            containerName: "app",
            batchScriptPath: "x.py",
            alertsTopicArn: "arn",
            taskTimeoutSeconds: 3600,
        });
        broken.States.RunBatchTask.Catch[0].Next = "Missing";
        const result = validateAsl(broken);
        assert.equal(result.isValid, false);
        assert.ok(result.errors.some((e) => /Missing/.test(e.Message)));
    });

    it("widens a task definition revision ARN to the family", () => {
        assert.equal(
            taskDefinitionFamilyArn(`arn:aws:ecs:ap-northeast-1:${ACCOUNT}:task-definition/weather-prd:12`),
            `arn:aws:ecs:ap-northeast-1:${ACCOUNT}:task-definition/weather-prd:*`,
        );
    });

    for (const stack of ["stg", "prd"]) {
        describe(`${stack} stack`, () => {
            const p = () => plans[stack];
            const topic = `arn:aws:sns:ap-northeast-1:${ACCOUNT}:ops-platform-${stack}-alerts-ap-northeast-1`;
            const smArn = `arn:aws:states:ap-northeast-1:${ACCOUNT}:stateMachine:${stack}-sample-batch-workflow`;

            it("defines a valid state machine with the exact task, retry, catch and notification", () => {
                const sm = p().inputs<StateMachineInputs>(
                    "aws:sfn/stateMachine:StateMachine",
                    "orchestration-workflow",
                );
                const def = json<AslDefinition>(sm.definition);
                const result = validateAsl(def);
                assert.deepEqual(result.errors, []);
                assert.equal(result.isValid, true);
                assert.equal(def.StartAt, "RunBatchTask");
                const run = def.States.RunBatchTask;
                assert.equal(run.Resource, "arn:aws:states:::ecs:runTask.sync");
                const azs = stack === "stg" ? ["a", "c"] : ["a", "c", "d"];
                assert.deepEqual(run.Parameters, {
                    LaunchType: "FARGATE",
                    PlatformVersion: "LATEST",
                    Cluster: `arn:aws:ecs:ap-northeast-1:${ACCOUNT}:cluster/weather-${stack}-cluster`,
                    TaskDefinition: `arn:aws:ecs:ap-northeast-1:${ACCOUNT}:task-definition/weather-${stack}:1`,
                    NetworkConfiguration: {
                        AwsvpcConfiguration: {
                            Subnets: azs.map((az) => `weather-private-ap-northeast-1${az}-id`),
                            SecurityGroups: ["weather-tasks-sg-id"],
                            AssignPublicIp: "DISABLED",
                        },
                    },
                    Overrides: {
                        ContainerOverrides: [{ Name: "app", Command: ["python", "src/batch/nightly_comments.py"] }],
                    },
                });
                assert.equal(run.ResultPath, "$.taskResult");
                assert.equal(run.TimeoutSeconds, 3600);
                assert.deepEqual(run.Retry, [
                    { ErrorEquals: ["States.TaskFailed"], IntervalSeconds: 30, MaxAttempts: 3, BackoffRate: 2.0 },
                ]);
                assert.deepEqual(run.Catch, [
                    { ErrorEquals: ["States.ALL"], ResultPath: "$.error", Next: "NotifyFailure" },
                ]);
                assert.equal(def.States[String(run.Next)].Type, "Succeed");
                const notify = def.States.NotifyFailure;
                assert.equal(notify.Resource, "arn:aws:states:::sns:publish");
                assert.deepEqual(notify.Parameters, {
                    TopicArn: topic,
                    Subject: `[${stack}] Batch Execution Failed`,
                    Message: {
                        "error.$": "$.error.Error",
                        "cause.$": "$.error.Cause",
                        "executionName.$": "$$.Execution.Name",
                        "timestamp.$": "$$.State.EnteredTime",
                    },
                });
                assert.equal(def.States[String(notify.Next)].Type, "Fail");
            });

            it("times the batch task out after 3600 s and alerts on States.Timeout without retrying it", () => {
                // Step Functions "Using timeouts to avoid stuck workflow executions"
                // (https://docs.aws.amazon.com/step-functions/latest/dg/sfn-stuck-execution.html): without TimeoutSeconds
                // the .sync state waits for a task that may never end. The catcher is States.ALL, which already takes
                // States.Timeout (see takes()); the States.TaskFailed retrier does not, so a timeout is not re-run.
                const def = json<AslDefinition>(
                    p().inputs<StateMachineInputs>("aws:sfn/stateMachine:StateMachine", "orchestration-workflow")
                        .definition,
                );
                const run = def.States.RunBatchTask;
                assert.equal(run.TimeoutSeconds, 3600);
                assert.equal(firstTaking(run.Retry, "States.Timeout"), undefined);
                assert.equal(firstTaking(run.Catch, "States.Timeout")?.Next, "NotifyFailure");
                for (const error of ["States.TaskFailed", "States.Permissions"]) {
                    assert.equal(firstTaking(run.Retry, error)?.MaxAttempts, 3, error);
                    assert.equal(firstTaking(run.Catch, error)?.Next, "NotifyFailure", error);
                }
                // States.ALL must stand alone in the last catcher (concepts-error-handling, "Fallback states").
                assert.deepEqual(
                    (run.Catch ?? []).map((c) => c.ErrorEquals),
                    [["States.ALL"]],
                );
            });

            it("logs everything with execution data to its log group and traces with X-Ray", () => {
                const sm = p().inputs<StateMachineInputs>(
                    "aws:sfn/stateMachine:StateMachine",
                    "orchestration-workflow",
                );
                const lg = p().inputs("aws:cloudwatch/logGroup:LogGroup", "orchestration-logs");
                assert.equal(lg.name, `/aws/vendedlogs/states/${stack}-sample-batch-workflow`);
                assert.equal(lg.retentionInDays, stack === "stg" ? 7 : 30);
                assert.deepEqual(sm.loggingConfiguration, {
                    level: "ALL",
                    includeExecutionData: true,
                    logDestination: `arn:aws:logs:ap-northeast-1:${ACCOUNT}:log-group:/aws/vendedlogs/states/${stack}-sample-batch-workflow:*`,
                });
                assert.deepEqual(sm.tracingConfiguration, { enabled: true });
            });

            // Step Functions "Avoiding CloudWatch Logs resource policy size restrictions"
            // (https://docs.aws.amazon.com/step-functions/latest/dg/bp-cwl.html): the resource policy Step Functions
            // updates for each log group is limited to 5120 characters; prefix log group names with /aws/vendedlogs/.
            it("keeps its execution log group under /aws/vendedlogs/states/", () => {
                const lg = p().inputs<{ name: string }>("aws:cloudwatch/logGroup:LogGroup", "orchestration-logs");
                assert.ok(lg.name.startsWith("/aws/vendedlogs/states/"), lg.name);
                assert.equal(lg.name, `/aws/vendedlogs/states/${stack}-sample-batch-workflow`);
            });

            it("creates the state machine only after its role policy", () => {
                const sm = p().get("aws:sfn/stateMachine:StateMachine", "orchestration-workflow");
                const policy = p().get("aws:iam/rolePolicy:RolePolicy", "orchestration-sfn");
                assert.ok(
                    (p().run.dependencies?.[sm.urn] ?? []).includes(policy.urn),
                    `state machine depends on ${(p().run.dependencies?.[sm.urn] ?? []).join(", ")}`,
                );
            });

            it("grants the state machine exactly the documented statements and no * action", () => {
                const statements = json<PolicyDocument>(
                    p().inputs("aws:iam/rolePolicy:RolePolicy", "orchestration-sfn").policy,
                ).Statement;
                assert.deepEqual(statements, [
                    {
                        Sid: "RunBatchTask",
                        Effect: "Allow",
                        Action: ["ecs:RunTask"],
                        Resource: `arn:aws:ecs:ap-northeast-1:${ACCOUNT}:task-definition/weather-${stack}:*`,
                        Condition: {
                            ArnEquals: {
                                "ecs:cluster": `arn:aws:ecs:ap-northeast-1:${ACCOUNT}:cluster/weather-${stack}-cluster`,
                            },
                        },
                    },
                    {
                        Sid: "TrackBatchTask",
                        Effect: "Allow",
                        Action: ["ecs:StopTask", "ecs:DescribeTasks"],
                        Resource: `arn:aws:ecs:ap-northeast-1:${ACCOUNT}:task/weather-${stack}-cluster/*`,
                    },
                    {
                        Sid: "PassTaskRoles",
                        Effect: "Allow",
                        Action: ["iam:PassRole"],
                        Resource: [
                            `arn:aws:iam::${ACCOUNT}:role/weather-task`,
                            `arn:aws:iam::${ACCOUNT}:role/weather-execution`,
                        ],
                        Condition: { StringEquals: { "iam:PassedToService": "ecs-tasks.amazonaws.com" } },
                    },
                    {
                        Sid: "SyncIntegrationRule",
                        Effect: "Allow",
                        Action: ["events:PutTargets", "events:PutRule", "events:DescribeRule"],
                        Resource: `arn:aws:events:ap-northeast-1:${ACCOUNT}:rule/StepFunctionsGetEventsForECSTaskRule`,
                    },
                    { Sid: "NotifyFailure", Effect: "Allow", Action: ["sns:Publish"], Resource: topic },
                    {
                        Sid: "LogDelivery",
                        Effect: "Allow",
                        Action: [
                            "logs:CreateLogDelivery",
                            "logs:GetLogDelivery",
                            "logs:UpdateLogDelivery",
                            "logs:DeleteLogDelivery",
                            "logs:ListLogDeliveries",
                            "logs:PutResourcePolicy",
                            "logs:DescribeResourcePolicies",
                            "logs:DescribeLogGroups",
                        ],
                        Resource: "*",
                    },
                    {
                        Sid: "Tracing",
                        Effect: "Allow",
                        Action: [
                            "xray:PutTraceSegments",
                            "xray:PutTelemetryRecords",
                            "xray:GetSamplingRules",
                            "xray:GetSamplingTargets",
                        ],
                        Resource: "*",
                    },
                ]);
                for (const s of statements)
                    for (const a of s.Action) assert.ok(!a.includes("*"), `${s.Sid} grants ${a}`);
                assert.deepEqual(
                    json<PolicyDocument>(p().inputs("aws:iam/role:Role", "orchestration-sfn").assumeRolePolicy)
                        .Statement[0].Principal,
                    { Service: "states.amazonaws.com" },
                );
            });

            it(`schedules at 02:00 JST, ${stack === "prd" ? "ENABLED" : "DISABLED"}, starting only this state machine`, () => {
                const rule = p().inputs("aws:cloudwatch/eventRule:EventRule", "orchestration-schedule");
                assert.equal(rule.scheduleExpression, "cron(0 17 * * ? *)");
                assert.equal(rule.state, stack === "prd" ? "ENABLED" : "DISABLED");
                const target = p().inputs("aws:cloudwatch/eventTarget:EventTarget", "orchestration-schedule");
                assert.equal(target.arn, smArn);
                assert.deepEqual(target.inputTransformer, {
                    inputPaths: { time: "$.time" },
                    inputTemplate: '{"triggerSource":"EventBridge","timestamp":<time>}',
                });
                assert.deepEqual(
                    json<PolicyDocument>(p().inputs("aws:iam/rolePolicy:RolePolicy", "orchestration-schedule").policy)
                        .Statement,
                    [{ Sid: "StartWorkflow", Effect: "Allow", Action: ["states:StartExecution"], Resource: smArn }],
                );
                assert.deepEqual(
                    json<PolicyDocument>(p().inputs("aws:iam/role:Role", "orchestration-schedule").assumeRolePolicy)
                        .Statement[0].Principal,
                    { Service: "events.amazonaws.com" },
                );
            });

            it("exports the state machine ARN, schedule name and log group", () => {
                assert.deepEqual(p().outputs.orchestration, {
                    region: "ap-northeast-1",
                    stateMachineArn: smArn,
                    scheduleName: `${stack}-sample-batch-workflow-schedule`,
                    logGroupName: `/aws/vendedlogs/states/${stack}-sample-batch-workflow`,
                });
            });
        });
    }

    describe("task timeout", () => {
        const build = (taskTimeoutSeconds?: number) => () => {
            const provider = new aws.Provider("aws-ap-northeast-1", { region: "ap-northeast-1" });
            new Orchestration(
                "orchestration",
                {
                    environment: "stg",
                    scheduleExpression: "cron(0 17 * * ? *)",
                    scheduleEnabled: false,
                    batchScriptPath: "src/batch/nightly.py",
                    containerName: "app",
                    logRetentionDays: 7,
                    taskTimeoutSeconds,
                    clusterArn: `arn:aws:ecs:ap-northeast-1:${ACCOUNT}:cluster/weather-stg-cluster`,
                    taskDefinitionArn: `arn:aws:ecs:ap-northeast-1:${ACCOUNT}:task-definition/weather-stg:3`,
                    taskRoleArn: `arn:aws:iam::${ACCOUNT}:role/weather-task`,
                    executionRoleArn: `arn:aws:iam::${ACCOUNT}:role/weather-execution`,
                    subnetIds: ["subnet-a", "subnet-c"],
                    securityGroupId: "sg-tasks",
                    alertsTopicArn: `arn:aws:sns:ap-northeast-1:${ACCOUNT}:alerts`,
                },
                { providers: [provider] },
            );
        };
        const timeoutOf = async (taskTimeoutSeconds?: number) => {
            const plan = await runComponent(build(taskTimeoutSeconds));
            const def = json<AslDefinition>(
                plan.inputs<StateMachineInputs>("aws:sfn/stateMachine:StateMachine", "orchestration-workflow")
                    .definition,
            );
            return def.States.RunBatchTask.TimeoutSeconds;
        };

        it("sets the RunTask state's TimeoutSeconds from taskTimeoutSeconds, 3600 when left out", async () => {
            assert.equal(await timeoutOf(5400), 5400);
            assert.equal(await timeoutOf(undefined), 3600);
        });

        // Task state: TimeoutSeconds "Must be a positive, non-zero integer"
        // (https://docs.aws.amazon.com/step-functions/latest/dg/amazon-states-language-task-state.html); a task cannot
        // outlive a Standard execution, at most 1 year
        // (https://docs.aws.amazon.com/step-functions/latest/dg/limits-overview.html).
        it("rejects a task timeout Step Functions would refuse: below 1 s, above 1 year, or fractional", () => {
            for (const ok of [1, 3600, 31536000]) validateTaskTimeout("o", ok);
            for (const bad of [0, -5, 31536001, 1.5])
                assert.throws(() => validateTaskTimeout("o", bad), {
                    message:
                        "Orchestration 'o': `taskTimeoutSeconds` must be an integer from 1 to 31536000 " +
                        `(Step Functions: positive, at most the 1-year execution limit), got ${bad}`,
                });
        });
    });

    describe("config validation", () => {
        const base = MINIMAL_CONFIG;
        const messages = (raw: Record<string, string | undefined>) => {
            try {
                parseStackConfig("stg", raw);
                return [];
            } catch (e) {
                return (e as ConfigError).problems.map((x) => x.message);
            }
        };
        it("rejects a schedule with both day fields set", () => {
            assert.deepEqual(messages({ ...base, orchestrationScheduleExpression: "cron(0 17 * * * *)" }), [
                "ops-platform:orchestrationScheduleExpression: expected an EventBridge schedule expression (exactly one of day-of-month and day-of-week must be '?'), got \"cron(0 17 * * * *)\". Fix: pulumi config set orchestrationScheduleExpression 'cron(0 17 * * ? *)' --stack stg",
            ]);
        });
        it("rejects a batch script path that is not a Python file", () => {
            assert.deepEqual(messages({ ...base, orchestrationBatchScriptPath: "run batch.sh" }), [
                'ops-platform:orchestrationBatchScriptPath: expected the path of the Python batch script inside the container (e.g. src/batch/nightly.py), got "run batch.sh". Fix: pulumi config set orchestrationBatchScriptPath src/batch/nightly.py --stack stg',
            ]);
        });
        it("requires the batch script path", () => {
            assert.equal(messages({ ...base, orchestrationBatchScriptPath: undefined }).length, 1);
        });
        it("reads orchestrationTaskTimeoutSeconds, 3600 by default, and rejects values outside 1 s to 1 year", () => {
            assert.equal(parseStackConfig("stg", base).orchestration.taskTimeoutSeconds, 3600);
            assert.equal(
                parseStackConfig("stg", { ...base, orchestrationTaskTimeoutSeconds: "7200" }).orchestration
                    .taskTimeoutSeconds,
                7200,
            );
            for (const bad of ["0", "31536001", "1h"])
                assert.deepEqual(messages({ ...base, orchestrationTaskTimeoutSeconds: bad }), [
                    `ops-platform:orchestrationTaskTimeoutSeconds: expected an integer from 1 to 31536000, got "${bad}". Fix: pulumi config set orchestrationTaskTimeoutSeconds 3600 --stack stg`,
                ]);
        });
    });
});
