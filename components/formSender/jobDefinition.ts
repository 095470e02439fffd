/**
 * The runner's job definition and what it needs: the Supabase secrets (URL and service-role key with their values
 * when the stack supplies them; the runner's own key, which operators mint), the job log group, the execution role
 * (pull, log) and the job role (read its client config, the URL and the runner's key), and the SSM parameter that
 * publishes the definition. The functions submit jobs with this definition and pass these roles.
 *
 * The runner opens pages on sites nobody here controls (policy/THREAT_MODEL.md "Hostile sites"), so
 * no secret value is in its container's environment: the definition passes the secrets' ARNs and
 * the runner reads the values at start with the job role (containers/runner/src/secrets.ts), keeping
 * them in memory. Policy rule `batch-runner-no-secret-env` holds every job definition to that.
 *
 * Chromium runs with its sandbox: the environment has no RUNNER_ALLOW_NO_SANDBOX (containers/runner/src/browser.ts
 * refuses to start an unsandboxed browser without it), because the compute environments' hosts give containers a
 * Docker seccomp profile that lets Chromium's namespace sandbox start (chromiumSeccomp.ts, installed by the launch
 * template's user data in compute.ts). A Batch job definition itself could not: LinuxParameters has no capabilities or
 * security options (https://docs.aws.amazon.com/batch/latest/APIReference/API_LinuxParameters.html), and
 * `privileged` would drop seccomp altogether. Policy rule `batch-runner-chromium-sandbox` refuses the override.
 */
import * as aws from "@pulumi/aws";
import * as awsx from "@pulumi/awsx";
import * as pulumi from "@pulumi/pulumi";
import type { FormSenderConfig } from "../config/formSender";
import { serviceRole } from "../iam";
import { FORM_SENDER_LOG_RETENTION_DAYS, type PartContext } from "./context";

/**
 * When Batch retries a runner attempt: lost hosts (Spot reclaims) and image pulls, nothing else. A Spot reclaim shows
 * in the job's status reason ("Host EC2 (instance …) terminated."); an image pull failure shows in the attempt's
 * container reason ("CannotPullContainerError: …") while the job's status reason only says "Task failed to start", so
 * that rule matches `onReason` (AWS Batch "Automated job retries",
 * https://docs.aws.amazon.com/batch/latest/userguide/job_retries.html; aws-cdk aws-batch `Reason.CANNOT_PULL_CONTAINER`
 * is `{ onReason: 'CannotPullContainerError:*' }`). The dispatcher submits jobs with the same rules.
 */
export const JOB_RETRY_RULES = [
    { onStatusReason: "Host EC2*", action: "RETRY" },
    { onReason: "CannotPullContainerError:*", action: "RETRY" },
    { onReason: "*", action: "EXIT" },
] as const;

export interface JobDefinitionInput
    extends
        PartContext,
        Pick<FormSenderConfig, "attemptDurationSeconds" | "jobAttempts" | "jobVcpus" | "jobMemoryMib"> {
    readonly region: pulumi.Output<string>;
    readonly bucket: aws.s3.Bucket;
    readonly repository: aws.ecr.Repository;
    readonly image: awsx.ecr.Image;
    /** Written into the Supabase URL secret when given. */
    readonly supabaseUrl?: pulumi.Input<string>;
    /** Written into the Supabase service-role key secret when given. */
    readonly supabaseServiceRoleKey?: pulumi.Input<string>;
}

/**
 * Name of the secret that holds the runner's own Supabase key; the preflight checks the same name
 * (scripts/lib/preflight/runnerKey.ts).
 */
export const runnerKeySecretName = (env: string): string => `/fs-runner/${env}/supabase/runner-key`;

/** An IAM role with its inline policy, as `serviceRole` returns it. */
export type RoleWithPolicy = ReturnType<typeof serviceRole>;

export interface RunnerJob {
    readonly jobDefinition: aws.batch.JobDefinition;
    readonly supabaseUrlSecret: aws.secretsmanager.Secret;
    readonly supabaseKeySecret: aws.secretsmanager.Secret;
    /** The runner's own key (publishable key + fs_runner JWT), written by `npm run mint-runner-key`. */
    readonly supabaseRunnerKeySecret: aws.secretsmanager.Secret;
    /** The role the runner's container runs as. */
    readonly jobRole: RoleWithPolicy;
    /** The role ECS uses to start the container. */
    readonly executionRole: RoleWithPolicy;
}

export function buildJobDefinition(input: JobDefinitionInput): RunnerJob {
    const { name, prefix, env, parent, region, bucket, repository, image } = input;
    // A deleted secret keeps its name for the recovery window, so a destroy and up within it fails ("a secret with
    // this name is already scheduled for deletion"). Outside prd the secrets go at once (0 = delete without recovery,
    // the only alternative to 7-30 days: https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_DeleteSecret.html).
    const recoveryWindowInDays = env === "prd" ? 7 : 0;
    const supabaseUrl = new aws.secretsmanager.Secret(
        `${name}-supabase-url`,
        {
            name: `/fs-runner/${env}/supabase/url`,
            description: "Supabase project URL for the form-sender runner and functions",
            recoveryWindowInDays,
        },
        { parent, protect: input.protectStateful },
    );
    const supabaseKey = new aws.secretsmanager.Secret(
        `${name}-supabase-key`,
        {
            name: `/fs-runner/${env}/supabase/key`,
            description: "Supabase service-role key for the form-sender runner and functions",
            recoveryWindowInDays,
        },
        { parent, protect: input.protectStateful },
    );
    // The runner's own key (issue 19): the project's publishable key and a JWT for the fs_runner role, which may
    // execute the runner's RPCs and nothing else (supabase/migrations/20261127000300_form_sender_runner_role.sql),
    // instead of the service-role key, which bypasses row-level security for the whole project. Operators write it
    // with `npm run mint-runner-key` (scripts/mintRunnerKey.ts); the program never holds the signing secret, so the
    // secret has no version here, and a job started before it has one stops at once with an error that says so
    // (containers/runner/src/secrets.ts). The job role can read this secret and the URL, not the service-role key.
    const supabaseRunnerKey = new aws.secretsmanager.Secret(
        `${name}-supabase-runner-key`,
        {
            name: runnerKeySecretName(env),
            description:
                "Form-sender runner's Supabase key (npm run mint-runner-key): publishable key and fs_runner JWT",
            recoveryWindowInDays,
        },
        { parent, protect: input.protectStateful },
    );
    if (input.supabaseUrl !== undefined)
        new aws.secretsmanager.SecretVersion(
            `${name}-supabase-url`,
            { secretId: supabaseUrl.id, secretString: pulumi.secret(input.supabaseUrl) },
            { parent },
        );
    if (input.supabaseServiceRoleKey !== undefined)
        new aws.secretsmanager.SecretVersion(
            `${name}-supabase-key`,
            { secretId: supabaseKey.id, secretString: pulumi.secret(input.supabaseServiceRoleKey) },
            { parent },
        );
    const jobLogs = new aws.cloudwatch.LogGroup(
        `${name}-runner-logs`,
        { name: `/aws/batch/${prefix}-runner`, retentionInDays: FORM_SENDER_LOG_RETENTION_DAYS },
        { parent },
    );
    const execution = serviceRole(
        `${name}-job-execution`,
        {
            service: "ecs-tasks.amazonaws.com",
            description: "Form-sender job execution: pull the image, write logs",
            statements: [
                // GetAuthorizationToken is account-wide: AWS supports no resource scoping for it.
                { Sid: "EcrAuth", Effect: "Allow", Action: ["ecr:GetAuthorizationToken"], Resource: "*" },
                {
                    Sid: "EcrPull",
                    Effect: "Allow",
                    Action: ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"],
                    Resource: repository.arn,
                },
                {
                    Sid: "Logs",
                    Effect: "Allow",
                    Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
                    Resource: pulumi.interpolate`${jobLogs.arn}:*`,
                },
            ],
        },
        parent,
    );
    const jobRole = serviceRole(
        `${name}-job`,
        {
            service: "ecs-tasks.amazonaws.com",
            description: "Form-sender runner: read its client config, the Supabase URL and its own key, nothing else",
            statements: [
                {
                    Sid: "ReadClientConfig",
                    Effect: "Allow",
                    Action: ["s3:GetObject"],
                    Resource: pulumi.interpolate`${bucket.arn}/client-config/*`,
                },
                // Read once at start by the runner itself (containers/runner/src/secrets.ts); these two ARNs only: the
                // URL and the runner's own key, never the service-role key the functions use.
                {
                    Sid: "ReadSupabaseSecrets",
                    Effect: "Allow",
                    Action: ["secretsmanager:GetSecretValue"],
                    Resource: [supabaseUrl.arn, supabaseRunnerKey.arn],
                },
            ],
        },
        parent,
    );
    const jobDefinition = new aws.batch.JobDefinition(
        `${name}-job`,
        {
            name: `${prefix}-runner`,
            type: "container",
            platformCapabilities: ["EC2"],
            propagateTags: true,
            timeout: { attemptDurationSeconds: input.attemptDurationSeconds },
            retryStrategy: {
                attempts: input.jobAttempts,
                evaluateOnExits: JOB_RETRY_RULES.map((rule) => ({ ...rule })),
            },
            containerProperties: pulumi.jsonStringify({
                image: image.imageUri,
                jobRoleArn: jobRole.role.arn,
                executionRoleArn: execution.role.arn,
                resourceRequirements: [
                    { type: "VCPU", value: String(input.jobVcpus) },
                    { type: "MEMORY", value: String(input.jobMemoryMib) },
                ],
                // ARNs, not values: no `secrets` (ECS would put the values in the environment of the container and of
                // every process in it, https://docs.aws.amazon.com/batch/latest/userguide/specifying-sensitive-data-secrets.html).
                environment: [
                    { name: "FORM_SENDER_ENV", value: "aws_batch" },
                    { name: "AWS_REGION", value: region },
                    { name: "SUPABASE_URL_SECRET_ARN", value: supabaseUrl.arn },
                    { name: "SUPABASE_KEY_SECRET_ARN", value: supabaseRunnerKey.arn },
                ],
                // Chromium needs more than Docker's 64 MB /dev/shm; the init process reaps its zombies and
                // forwards SIGTERM.
                linuxParameters: { initProcessEnabled: true, sharedMemorySize: 2048 },
                privileged: false,
                readonlyRootFilesystem: false,
                logConfiguration: {
                    logDriver: "awslogs",
                    options: {
                        "awslogs-group": jobLogs.name,
                        "awslogs-region": region,
                        "awslogs-stream-prefix": "runner",
                    },
                },
            }),
        },
        { parent, dependsOn: [execution.policy, jobRole.policy] },
    );
    new aws.ssm.Parameter(
        `${name}-job-definition`,
        {
            name: `/fs-runner/${env}/batch/job-definition`,
            type: "String",
            insecureValue: jobDefinition.arn,
            description: "Current form-sender runner job definition",
        },
        { parent },
    );
    return {
        jobDefinition,
        supabaseUrlSecret: supabaseUrl,
        supabaseKeySecret: supabaseKey,
        supabaseRunnerKeySecret: supabaseRunnerKey,
        jobRole,
        executionRole: execution,
    };
}
