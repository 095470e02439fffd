/**
 * Batch compute: the instance role, the IMDSv2-only launch template (whose user data lets Chromium's sandbox run in
 * containers, chromiumSeccomp.ts), a Spot and an on-demand compute
 * environment, and the three queues (Spot, Spot then on-demand, on-demand). The job definition is
 * submitted to these queues; spot-watch adjusts the Spot environment.
 *
 * Both compute environments are built so that every later change to them is an in-place
 * infrastructure update, never a replacement (a replaced environment is disabled and then cannot be
 * deleted while its queues refer to it, so `pulumi up` fails and leaves it DISABLED). The provider
 * (hashicorp/terraform-provider-aws internal/service/batch/compute_environment.go,
 * `resourceComputeEnvironmentCustomizeDiff`) forces replacement on changes to subnets, security
 * groups, instance types, instance role, launch template, compute-resource tags and more unless
 * `isUpdatableComputeEnvironment`: the service role is empty or Batch's service-linked role AND
 * `isUpdatableAllocationStrategy`, which accepts only BEST_FIT_PROGRESSIVE and
 * SPOT_CAPACITY_OPTIMIZED, not SPOT_PRICE_CAPACITY_OPTIMIZED (hashicorp/terraform-provider-aws#38695;
 * fix proposed in #40148), whatever AWS Batch itself accepts for infrastructure updates
 * (https://docs.aws.amazon.com/batch/latest/userguide/infrastructure-updates.html). Hence: no custom service
 * role (Batch uses AWSServiceRoleForBatch), auto-named environments, SPOT_CAPACITY_OPTIMIZED for Spot
 * (spot-watch already guards against expensive Spot) and BEST_FIT_PROGRESSIVE on demand.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { FormSenderConfig } from "../config/formSender";
import { CAPACITY_REASON, CE_MAX_RESOURCE, JOB_RESOURCE_REQUIREMENT } from "../../functions/formSender/batchEvents";
import { STATE_TAG } from "../../functions/formSender/spotWatch";
import { assumeRolePolicy } from "../iam";
import { hostUserData } from "./chromiumSeccomp";
import type { PartContext } from "./context";

/** Spot allocation: capacity-optimized, the Spot strategy the provider can update in place (see above). */
export const SPOT_ALLOCATION_STRATEGY = "SPOT_CAPACITY_OPTIMIZED";
/** On-demand allocation: best fit progressive, updatable in place and able to fall back to the next type. */
export const ON_DEMAND_ALLOCATION_STRATEGY = "BEST_FIT_PROGRESSIVE";

/** Throws unless c6a.xlarge comes first: the runner is sized and priced for it. */
export function validateInstanceTypes(name: string, instanceTypes: readonly string[]): void {
    if (instanceTypes[0] !== "c6a.xlarge")
        throw new Error(
            `FormSenderBatch '${name}': instanceTypes must start with c6a.xlarge, got ${instanceTypes.join(", ")}`,
        );
}

/** The fewest seconds a queue's jobStateTimeLimitAction may wait (API_JobStateTimeLimitAction: 600 to 86,400). */
export const TIME_LIMIT_MIN_SECONDS = 600;

/**
 * CANCEL actions for jobs that wait RUNNABLE because of the job's size, not a shortage. Without them such a job blocks
 * its queue until the backlog alarm. Reasons and bounds from the AWS Batch API reference JobStateTimeLimitAction
 * (https://docs.aws.amazon.com/batch/latest/APIReference/API_JobStateTimeLimitAction.html: action CANCEL for EC2
 * queues, state RUNNABLE, maxTimeSeconds 600-86,400) and the reasons it accepts for EC2 compute environments
 * (https://docs.aws.amazon.com/batch/latest/userguide/job_stuck_in_runnable_time_limit_actions.html; aws-cdk-lib
 * aws_batch `JobStateTimeLimitActionsReason` JOB_RESOURCE_REQUIREMENT / COMPUTE_ENVIRONMENT_MAX_RESOURCE):
 * - JOB_RESOURCE_REQUIREMENT: no instance type of the compute environments can hold the job's vCPU / memory. That
 *   never changes while the job waits, so it is cancelled at the earliest the API allows;
 * - COMPUTE_ENVIRONMENT_MAX_RESOURCE: every compute environment's maxvCpus is below the job's vCPUs. spot-watch lowers
 *   the Spot maxvCpus by 30 % for a while (functions/formSender/spotWatch.ts), so this one waits as long as a
 *   capacity shortage does (formSenderRunnableTimeoutMinutes).
 * batch-events records either cancel as a failed execution naming the reason and the fix (batchEvents.ts).
 */
export function misconfigurationLimits(runnableTimeoutMinutes: number) {
    return [
        {
            action: "CANCEL",
            maxTimeSeconds: TIME_LIMIT_MIN_SECONDS,
            reason: JOB_RESOURCE_REQUIREMENT,
            state: "RUNNABLE",
        },
        {
            action: "CANCEL",
            maxTimeSeconds: Math.max(TIME_LIMIT_MIN_SECONDS, runnableTimeoutMinutes * 60),
            reason: CE_MAX_RESOURCE,
            state: "RUNNABLE",
        },
    ];
}

export interface ComputeInput
    extends
        PartContext,
        Pick<FormSenderConfig, "instanceTypes" | "maxVcpus" | "onDemandMaxVcpus" | "runnableTimeoutMinutes"> {
    readonly subnetIds: pulumi.Input<string>[];
    readonly securityGroup: aws.ec2.SecurityGroup;
}

export interface Compute {
    readonly spotCe: aws.batch.ComputeEnvironment;
    readonly onDemandCe: aws.batch.ComputeEnvironment;
    readonly queues: {
        readonly spot: aws.batch.JobQueue;
        readonly spotThenOnDemand: aws.batch.JobQueue;
        readonly onDemand: aws.batch.JobQueue;
    };
}

export function buildCompute(input: ComputeInput): Compute {
    const { name, prefix, parent } = input;
    const instanceRole = new aws.iam.Role(
        `${name}-instance`,
        {
            assumeRolePolicy: assumeRolePolicy("ec2.amazonaws.com"),
            description: "ECS container instances of the form-sender compute environments",
        },
        { parent },
    );
    const instanceAttach = new aws.iam.RolePolicyAttachment(
        `${name}-instance`,
        {
            role: instanceRole.name,
            policyArn: "arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role",
        },
        { parent },
    );
    const profile = new aws.iam.InstanceProfile(`${name}-instance`, { role: instanceRole.name }, { parent });
    // IMDSv2 only, hop limit 1: containers (bridge network, one hop further) cannot reach the
    // instance metadata service at all, so a page the runner visits cannot steer it into
    // leaking instance credentials. Jobs get their own credentials from the ECS task-role
    // endpoint and their region from AWS_REGION.
    // The user data gives dockerd a seccomp profile under which Chromium's namespace sandbox can start (Docker's
    // default plus clone/unshare for user namespaces; chromiumSeccomp.ts). A change to it is a new launch template
    // version, which the environments take as an infrastructure update: Batch replaces their instances in place
    // (https://docs.aws.amazon.com/batch/latest/userguide/infrastructure-updates.html, "launchTemplate"), and the
    // provider updates rather than replaces them (see the file comment). EC2 takes user data base64-encoded.
    const launchTemplate = new aws.ec2.LaunchTemplate(
        `${name}-instances`,
        {
            namePrefix: `${prefix}-runner-`,
            metadataOptions: { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1 },
            userData: Buffer.from(hostUserData(), "utf8").toString("base64"),
            tagSpecifications: [{ resourceType: "instance", tags: { Name: `${prefix}-runner` } }],
        },
        { parent },
    );
    // Both environments get the diversified list (c6a.xlarge first): an insufficient-capacity error on one type in
    // the chosen AZs must not block the on-demand fallback too.
    const computeResources = (type: "SPOT" | "EC2", maxVcpus: number) => ({
        type,
        allocationStrategy: type === "SPOT" ? SPOT_ALLOCATION_STRATEGY : ON_DEMAND_ALLOCATION_STRATEGY,
        instanceTypes: input.instanceTypes,
        minVcpus: 0,
        maxVcpus,
        subnets: input.subnetIds,
        securityGroupIds: [input.securityGroup.id],
        instanceRole: profile.arn,
        ec2Configurations: [{ imageType: "ECS_AL2023" }],
        launchTemplate: {
            launchTemplateId: launchTemplate.id,
            version: launchTemplate.latestVersion.apply(String),
        },
        tags: { Name: `${prefix}-runner-${type === "SPOT" ? "spot" : "ondemand"}` },
    });
    // Batch scales desiredvCpus itself. spot-watch lowers the Spot environment's maxvCpus and marks that with the
    // STATE_TAG tag out of band: the tag is ignored here (a refresh would otherwise make `up` strip it), while
    // maxvCpus is not: an update sends the configured value again and spot-watch lowers it again on its next run
    // while Spot stays expensive (it derives its state from maxvCpus, not from the tag).
    const ceOpts = {
        parent,
        dependsOn: [instanceAttach],
        ignoreChanges: ["computeResources.desiredVcpus", `tags["${STATE_TAG}"]`],
    };
    // No `name` (auto-named) and no `serviceRole` (AWSServiceRoleForBatch): see the file comment. The environments
    // always have a `tags` object: ignoreChanges resets `tags["…"]` only inside an existing `tags`, and when a refresh
    // has read spot-watch's tag into the old inputs but the program sends no `tags`, the engine fails with "cannot
    // ignore changes … because one or more elements of the path are missing" (pulumi/pulumi
    // sdk/go/common/resource/properties_path.go `PropertyPath.reset`).
    const spotCe = new aws.batch.ComputeEnvironment(
        `${name}-spot-ce`,
        {
            type: "MANAGED",
            computeResources: computeResources("SPOT", input.maxVcpus),
            tags: { Name: `${prefix}-spot` },
        },
        ceOpts,
    );
    const onDemandCe = new aws.batch.ComputeEnvironment(
        `${name}-ondemand-ce`,
        {
            type: "MANAGED",
            computeResources: computeResources("EC2", input.onDemandMaxVcpus),
            tags: { Name: `${prefix}-ondemand` },
        },
        ceOpts,
    );
    // A queue never fails over on Spot shortage by itself: jobs stuck RUNNABLE for capacity
    // are cancelled so batch-events can resubmit them on demand.
    const capacityLimit = {
        action: "CANCEL",
        maxTimeSeconds: input.runnableTimeoutMinutes * 60,
        reason: CAPACITY_REASON,
        state: "RUNNABLE",
    };
    const timeLimit = [capacityLimit, ...misconfigurationLimits(input.runnableTimeoutMinutes)];
    const queue = (label: string, order: aws.batch.ComputeEnvironment[], limits = timeLimit) =>
        new aws.batch.JobQueue(
            `${name}-queue-${label}`,
            {
                name: `${prefix}-${label}`,
                state: "ENABLED",
                priority: 1,
                computeEnvironmentOrders: order.map((ce, i) => ({ order: i + 1, computeEnvironment: ce.arn })),
                jobStateTimeLimitActions: limits,
            },
            { parent },
        );
    const spotQueue = queue("spot", [spotCe]);
    const fallbackQueue = queue("spot-then-ondemand", [spotCe, onDemandCe]);
    // On demand, capacity shortages are waited out (there is nowhere to fall back to); a job no instance can hold
    // is not.
    const onDemandQueue = queue("ondemand", [onDemandCe], misconfigurationLimits(input.runnableTimeoutMinutes));
    return {
        spotCe,
        onDemandCe,
        queues: { spot: spotQueue, spotThenOnDemand: fallbackQueue, onDemand: onDemandQueue },
    };
}
