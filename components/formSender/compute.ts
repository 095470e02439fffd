/**
 * Batch compute: the service and instance roles, the IMDSv2-only launch template, a Spot and an
 * on-demand compute environment, and the three queues (Spot, Spot then on-demand, on-demand).
 * The job definition is submitted to these queues; spot-watch adjusts the Spot environment.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { FormSenderConfig } from "../config/formSender";
import { assumeRolePolicy } from "../iam";
import type { PartContext } from "./context";

/** Throws unless c6a.xlarge comes first: the runner is sized for it and on-demand uses only it. */
export function validateInstanceTypes(name: string, instanceTypes: readonly string[]): void {
    if (instanceTypes[0] !== "c6a.xlarge")
        throw new Error(
            `FormSenderBatch '${name}': instanceTypes must start with c6a.xlarge, got ${instanceTypes.join(", ")}`,
        );
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
    const serviceRoleRes = new aws.iam.Role(
        `${name}-batch-service`,
        { assumeRolePolicy: assumeRolePolicy("batch.amazonaws.com"), description: "AWS Batch service role" },
        { parent },
    );
    const serviceAttach = new aws.iam.RolePolicyAttachment(
        `${name}-batch-service`,
        { role: serviceRoleRes.name, policyArn: "arn:aws:iam::aws:policy/service-role/AWSBatchServiceRole" },
        { parent },
    );
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
    const launchTemplate = new aws.ec2.LaunchTemplate(
        `${name}-instances`,
        {
            namePrefix: `${prefix}-runner-`,
            metadataOptions: { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1 },
            tagSpecifications: [{ resourceType: "instance", tags: { Name: `${prefix}-runner` } }],
        },
        { parent },
    );
    const computeResources = (type: "SPOT" | "EC2", maxVcpus: number) => ({
        type,
        allocationStrategy: type === "SPOT" ? "SPOT_PRICE_CAPACITY_OPTIMIZED" : "BEST_FIT_PROGRESSIVE",
        instanceTypes: type === "SPOT" ? input.instanceTypes : [input.instanceTypes[0]],
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
    const ceOpts = {
        parent,
        dependsOn: [serviceAttach, instanceAttach],
        ignoreChanges: ["computeResources.desiredVcpus"],
    };
    const spotCe = new aws.batch.ComputeEnvironment(
        `${name}-spot-ce`,
        {
            name: `${prefix}-spot`,
            type: "MANAGED",
            serviceRole: serviceRoleRes.arn,
            computeResources: computeResources("SPOT", input.maxVcpus),
        },
        ceOpts,
    );
    const onDemandCe = new aws.batch.ComputeEnvironment(
        `${name}-ondemand-ce`,
        {
            name: `${prefix}-ondemand`,
            type: "MANAGED",
            serviceRole: serviceRoleRes.arn,
            computeResources: computeResources("EC2", input.onDemandMaxVcpus),
        },
        ceOpts,
    );
    // A queue never fails over on Spot shortage by itself: jobs stuck RUNNABLE for capacity
    // are cancelled so batch-events can resubmit them on demand.
    const timeLimit = [
        {
            action: "CANCEL",
            maxTimeSeconds: input.runnableTimeoutMinutes * 60,
            reason: "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY",
            state: "RUNNABLE",
        },
    ];
    const queue = (label: string, order: aws.batch.ComputeEnvironment[], limits: typeof timeLimit | [] = timeLimit) =>
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
    const onDemandQueue = queue("ondemand", [onDemandCe], []);
    return {
        spotCe,
        onDemandCe,
        queues: { spot: spotQueue, spotThenOnDemand: fallbackQueue, onDemand: onDemandQueue },
    };
}
