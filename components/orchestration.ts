import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { ORCHESTRATION_DEFAULTS, SFN_MAX_TASK_TIMEOUT_SECONDS } from "./config/orchestration";
import { serviceRole } from "./iam";

export interface OrchestrationArgs {
    /** Stack environment (`stg`, `prd`): names and the failure subject `[<env>] Batch Execution Failed`. */
    readonly environment: string;
    /** EventBridge schedule in UTC. */
    readonly scheduleExpression: string;
    /** Whether the schedule fires; the rule exists either way so manual runs and toggling need no replacement. */
    readonly scheduleEnabled: boolean;
    /** The container runs `python <batchScriptPath>`. */
    readonly batchScriptPath: string;
    /** Container of the task definition whose command is overridden. */
    readonly containerName: string;
    readonly logRetentionDays: number;
    /**
     * Seconds the batch task may run before its state fails with `States.Timeout` (and alerts), 1 to
     * {@link SFN_MAX_TASK_TIMEOUT_SECONDS}.
     *  @default 3600 (ORCHESTRATION_DEFAULTS.taskTimeoutSeconds)
     */
    readonly taskTimeoutSeconds?: number;
    /** Reused from WeatherService: cluster, task definition and its roles, network. */
    readonly clusterArn: pulumi.Input<string>;
    readonly taskDefinitionArn: pulumi.Input<string>;
    readonly taskRoleArn: pulumi.Input<string>;
    readonly executionRoleArn: pulumi.Input<string>;
    readonly subnetIds: pulumi.Input<pulumi.Input<string>[]>;
    readonly securityGroupId: pulumi.Input<string>;
    /** Alerts topic in this region; failures are published here. */
    readonly alertsTopicArn: pulumi.Input<string>;
}

/** Inputs of the state machine definition, resolved. */
export interface BatchWorkflowParams {
    readonly environment: string;
    readonly clusterArn: string;
    readonly taskDefinitionArn: string;
    readonly subnetIds: string[];
    readonly securityGroupId: string;
    readonly containerName: string;
    readonly batchScriptPath: string;
    readonly alertsTopicArn: string;
    /** `TimeoutSeconds` of the RunTask state. */
    readonly taskTimeoutSeconds: number;
}

/**
 * Error names of the workflow's retrier and catcher. `States.TaskFailed` in a retrier "matches any known error name
 * except for States.Timeout", so a timed-out task is not started again; `States.ALL` in the catcher matches every
 * known error name, `States.Timeout` included (only `States.DataLimitExceeded` and `States.Runtime` escape it), so a
 * timeout alerts like any other failure
 * (https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html#error-handling-error-representation).
 */
export const RETRIED_ERRORS = ["States.TaskFailed"] as const;
export const ALERTED_ERRORS = ["States.ALL"] as const;

/** Exported for tests: rejects a timeout Step Functions would refuse. */
export function validateTaskTimeout(name: string, seconds: number): void {
    if (!Number.isInteger(seconds) || seconds < 1 || seconds > SFN_MAX_TASK_TIMEOUT_SECONDS) {
        throw new Error(
            `Orchestration '${name}': \`taskTimeoutSeconds\` must be an integer from 1 to ` +
                `${SFN_MAX_TASK_TIMEOUT_SECONDS} (Step Functions: positive, at most the 1-year execution limit), ` +
                `got ${seconds}`,
        );
    }
}

/**
 * The Amazon States Language definition: run the batch task on Fargate and wait for it
 * (`.sync`) at most `taskTimeoutSeconds`, retry task failures 3 times with backoff (never a
 * timeout), and on any error, a timeout included, publish to SNS, then fail so the execution
 * itself counts as failed in metrics and history.
 */
export function batchWorkflowDefinition(p: BatchWorkflowParams) {
    return {
        Comment: `${p.environment} nightly batch: ECS RunTask with SNS notification on failure`,
        StartAt: "RunBatchTask",
        States: {
            RunBatchTask: {
                Type: "Task",
                Resource: "arn:aws:states:::ecs:runTask.sync",
                Parameters: {
                    LaunchType: "FARGATE",
                    PlatformVersion: "LATEST",
                    Cluster: p.clusterArn,
                    TaskDefinition: p.taskDefinitionArn,
                    NetworkConfiguration: {
                        AwsvpcConfiguration: {
                            Subnets: p.subnetIds,
                            SecurityGroups: [p.securityGroupId],
                            AssignPublicIp: "DISABLED",
                        },
                    },
                    Overrides: {
                        ContainerOverrides: [{ Name: p.containerName, Command: ["python", p.batchScriptPath] }],
                    },
                },
                // Without it the state waits as long as the execution may live (a year): a task that never
                // exits would never alert (https://docs.aws.amazon.com/step-functions/latest/dg/sfn-stuck-execution.html).
                TimeoutSeconds: p.taskTimeoutSeconds,
                ResultPath: "$.taskResult",
                Retry: [{ ErrorEquals: [...RETRIED_ERRORS], IntervalSeconds: 30, MaxAttempts: 3, BackoffRate: 2.0 }],
                Catch: [{ ErrorEquals: [...ALERTED_ERRORS], ResultPath: "$.error", Next: "NotifyFailure" }],
                Next: "Succeeded",
            },
            NotifyFailure: {
                Type: "Task",
                Resource: "arn:aws:states:::sns:publish",
                Parameters: {
                    TopicArn: p.alertsTopicArn,
                    Subject: `[${p.environment}] Batch Execution Failed`,
                    Message: {
                        "error.$": "$.error.Error",
                        "cause.$": "$.error.Cause",
                        "executionName.$": "$$.Execution.Name",
                        "timestamp.$": "$$.State.EnteredTime",
                    },
                },
                ResultPath: "$.notification",
                Next: "ExecutionFailed",
            },
            ExecutionFailed: {
                Type: "Fail",
                Error: "BatchExecutionFailed",
                Cause: "The batch task failed after retries; the failure was published to the alerts topic.",
            },
            Succeeded: { Type: "Succeed" },
        },
    };
}

/** Where the workflow's execution log group lives: the vended-logs prefix Step Functions recommends. */
export const SFN_LOG_GROUP_PREFIX = "/aws/vendedlogs/states/";

/** The rule Step Functions manages in the account for `.sync` ECS tasks. */
const SFN_ECS_EVENTS_RULE = "StepFunctionsGetEventsForECSTaskRule";

/** `…:task-definition/family:12` → `…:task-definition/family:*`: ECS authorizes RunTask on revision ARNs. */
export function taskDefinitionFamilyArn(taskDefinitionArn: string): string {
    return taskDefinitionArn.replace(/:\d+$/, ":*");
}

/**
 * EventBridge → Step Functions → ECS RunTask on WeatherService's cluster and task definition,
 * publishing to the alerts topic on failure (seed 002).
 */
export class Orchestration extends pulumi.ComponentResource {
    public readonly stateMachineArn: pulumi.Output<string>;
    public readonly scheduleName: pulumi.Output<string>;
    public readonly logGroupName: pulumi.Output<string>;

    constructor(name: string, args: OrchestrationArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("ops:orchestration:Orchestration", name, {}, opts);
        const env = args.environment;
        const taskTimeoutSeconds = args.taskTimeoutSeconds ?? ORCHESTRATION_DEFAULTS.taskTimeoutSeconds;
        validateTaskTimeout(name, taskTimeoutSeconds);
        const workflow = `${env}-sample-batch-workflow`;
        const parent = { parent: this };

        // Enabling logging makes Step Functions add the group to the account's CloudWatch Logs resource policy,
        // limited to 5120 characters; a /aws/vendedlogs/ prefix keeps the policy from reaching that limit
        // (https://docs.aws.amazon.com/step-functions/latest/dg/bp-cwl.html).
        const logGroup = new aws.cloudwatch.LogGroup(
            `${name}-logs`,
            {
                name: `${SFN_LOG_GROUP_PREFIX}${workflow}`,
                retentionInDays: args.logRetentionDays,
            },
            parent,
        );

        // region and account come from the cluster ARN: arn:aws:ecs:<region>:<account>:cluster/<name>
        const arnParts = pulumi.output(args.clusterArn).apply((arn) => {
            const [, , , region, account, resource] = arn.split(":");
            return { region, account, clusterName: resource.replace(/^cluster\//, "") };
        });
        const regionAccount = pulumi.interpolate`${arnParts.region}:${arnParts.account}`;
        const machine = serviceRole(
            `${name}-sfn`,
            {
                service: "states.amazonaws.com",
                description: `${workflow}: run the batch task, pass its roles, notify failures`,
                statements: [
                    {
                        Sid: "RunBatchTask",
                        Effect: "Allow",
                        Action: ["ecs:RunTask"],
                        Resource: pulumi.output(args.taskDefinitionArn).apply(taskDefinitionFamilyArn),
                        Condition: { ArnEquals: { "ecs:cluster": args.clusterArn } },
                    },
                    {
                        Sid: "TrackBatchTask",
                        Effect: "Allow",
                        Action: ["ecs:StopTask", "ecs:DescribeTasks"],
                        Resource: pulumi.interpolate`arn:aws:ecs:${regionAccount}:task/${arnParts.clusterName}/*`,
                    },
                    {
                        Sid: "PassTaskRoles",
                        Effect: "Allow",
                        Action: ["iam:PassRole"],
                        Resource: [args.taskRoleArn, args.executionRoleArn],
                        Condition: { StringEquals: { "iam:PassedToService": "ecs-tasks.amazonaws.com" } },
                    },
                    {
                        // The .sync integration waits on this AWS-managed rule for task state changes.
                        Sid: "SyncIntegrationRule",
                        Effect: "Allow",
                        Action: ["events:PutTargets", "events:PutRule", "events:DescribeRule"],
                        Resource: pulumi.interpolate`arn:aws:events:${regionAccount}:rule/${SFN_ECS_EVENTS_RULE}`,
                    },
                    { Sid: "NotifyFailure", Effect: "Allow", Action: ["sns:Publish"], Resource: args.alertsTopicArn },
                    {
                        // CloudWatch Logs vended log delivery supports no resource-level permissions:
                        // https://docs.aws.amazon.com/step-functions/latest/dg/cw-logs.html
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
                        // X-Ray trace segment and sampling APIs have no resource-level permissions.
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
                ],
            },
            this,
        );

        const definition = pulumi
            .all([args.clusterArn, args.taskDefinitionArn, args.subnetIds, args.securityGroupId, args.alertsTopicArn])
            .apply(([clusterArn, taskDefinitionArn, subnetIds, securityGroupId, alertsTopicArn]) =>
                JSON.stringify(
                    batchWorkflowDefinition({
                        environment: env,
                        clusterArn,
                        taskDefinitionArn,
                        subnetIds,
                        securityGroupId,
                        alertsTopicArn,
                        containerName: args.containerName,
                        batchScriptPath: args.batchScriptPath,
                        taskTimeoutSeconds,
                    }),
                ),
            );
        const stateMachine = new aws.sfn.StateMachine(
            `${name}-workflow`,
            {
                name: workflow,
                type: "STANDARD",
                roleArn: machine.role.arn,
                definition,
                loggingConfiguration: {
                    level: "ALL",
                    includeExecutionData: true,
                    logDestination: pulumi.interpolate`${logGroup.arn}:*`,
                },
                tracingConfiguration: { enabled: true },
            },
            {
                parent: this,
                // CreateStateMachine checks the managed-rule permission of the role: the policy must exist first.
                dependsOn: [machine.policy],
            },
        );

        const schedule = new aws.cloudwatch.EventRule(
            `${name}-schedule`,
            {
                name: `${workflow}-schedule`,
                description: `Starts ${workflow} (${args.scheduleExpression}, UTC)`,
                scheduleExpression: args.scheduleExpression,
                state: args.scheduleEnabled ? "ENABLED" : "DISABLED",
            },
            parent,
        );
        const starter = serviceRole(
            `${name}-schedule`,
            {
                service: "events.amazonaws.com",
                description: `${workflow}: EventBridge may start this state machine only`,
                statements: [
                    {
                        Sid: "StartWorkflow",
                        Effect: "Allow",
                        Action: ["states:StartExecution"],
                        Resource: stateMachine.arn,
                    },
                ],
            },
            this,
        );
        new aws.cloudwatch.EventTarget(
            `${name}-schedule`,
            {
                rule: schedule.name,
                arn: stateMachine.arn,
                roleArn: starter.role.arn,
                inputTransformer: {
                    inputPaths: { time: "$.time" },
                    inputTemplate: '{"triggerSource":"EventBridge","timestamp":<time>}',
                },
            },
            { parent: this, dependsOn: [starter.policy] },
        );

        this.stateMachineArn = stateMachine.arn;
        this.scheduleName = schedule.name;
        this.logGroupName = logGroup.name;
        this.registerOutputs({
            stateMachineArn: this.stateMachineArn,
            scheduleName: this.scheduleName,
            logGroupName: this.logGroupName,
        });
    }
}
