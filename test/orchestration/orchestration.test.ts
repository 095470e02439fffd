import { strict as assert } from "assert";
import { ConfigError, parseStackConfig } from "../../components/config";
import { MINIMAL_CONFIG } from "../support/minimalConfig";
import { batchWorkflowDefinition, taskDefinitionFamilyArn } from "../../components/orchestration";
import { json, Plan, planFor } from "../harness";

const validateAsl = require("asl-validator") as (d: unknown) => {
    isValid: boolean;
    errors: { "Error code": string; Message: string }[];
};
const ACCOUNT = "123456789012";

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
        }) as any;
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
                const sm = p().inputs("aws:sfn/stateMachine:StateMachine", "orchestration-workflow");
                const def = json(sm.definition);
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
                assert.deepEqual(run.Retry, [
                    { ErrorEquals: ["States.TaskFailed"], IntervalSeconds: 30, MaxAttempts: 3, BackoffRate: 2.0 },
                ]);
                assert.deepEqual(run.Catch, [
                    { ErrorEquals: ["States.ALL"], ResultPath: "$.error", Next: "NotifyFailure" },
                ]);
                assert.equal(def.States[run.Next].Type, "Succeed");
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
                assert.equal(def.States[notify.Next].Type, "Fail");
            });

            it("logs everything with execution data to its log group and traces with X-Ray", () => {
                const sm = p().inputs("aws:sfn/stateMachine:StateMachine", "orchestration-workflow");
                const lg = p().inputs("aws:cloudwatch/logGroup:LogGroup", "orchestration-logs");
                assert.equal(lg.name, `/aws/stepfunctions/${stack}-sample-batch-workflow`);
                assert.equal(lg.retentionInDays, stack === "stg" ? 7 : 30);
                assert.deepEqual(sm.loggingConfiguration, {
                    level: "ALL",
                    includeExecutionData: true,
                    logDestination: `arn:aws:logs:ap-northeast-1:${ACCOUNT}:log-group:/aws/stepfunctions/${stack}-sample-batch-workflow:*`,
                });
                assert.deepEqual(sm.tracingConfiguration, { enabled: true });
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
                const statements = json(
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
                    json(p().inputs("aws:iam/role:Role", "orchestration-sfn").assumeRolePolicy).Statement[0].Principal,
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
                    json(p().inputs("aws:iam/rolePolicy:RolePolicy", "orchestration-schedule").policy).Statement,
                    [{ Sid: "StartWorkflow", Effect: "Allow", Action: ["states:StartExecution"], Resource: smArn }],
                );
                assert.deepEqual(
                    json(p().inputs("aws:iam/role:Role", "orchestration-schedule").assumeRolePolicy).Statement[0]
                        .Principal,
                    { Service: "events.amazonaws.com" },
                );
            });

            it("exports the state machine ARN, schedule name and log group", () => {
                assert.deepEqual(p().outputs.orchestration, {
                    region: "ap-northeast-1",
                    stateMachineArn: smArn,
                    scheduleName: `${stack}-sample-batch-workflow-schedule`,
                    logGroupName: `/aws/stepfunctions/${stack}-sample-batch-workflow`,
                });
            });
        });
    }

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
    });
});
