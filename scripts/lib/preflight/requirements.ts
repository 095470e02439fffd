/**
 * What a stack needs from its AWS account, read from the stack's offline plan: the resources the program would
 * create, with the inputs it computed from the stack configuration. Nothing here restates a config rule; change a
 * stack value and the plan, and so the requirement, changes with it.
 */
import type { OfflineRun, PlannedResource } from "../offlineEngine";

/** A service-linked role the deploy relies on. */
export interface LinkedRole {
    readonly roleName: string;
    readonly serviceName: string;
    /** Why the stack needs it (the planned resource type that uses it). */
    readonly usedBy: string;
    /**
     * Whether the service creates the role itself on first use (when the deploying principal may
     * `iam:CreateServiceLinkedRole`); when false a missing role fails the deploy.
     */
    readonly createdOnFirstUse: boolean;
}

export interface RegionRequirements {
    readonly region: string;
    /** maxvCpus of the Spot / On-Demand Batch compute environments (summed), 0 when none. */
    readonly spotVcpus: number;
    readonly onDemandVcpus: number;
    /** Instance types the compute environments may launch. */
    readonly instanceTypes: string[];
    /** Fargate vCPUs at the autoscaling maximum: max tasks × task vCPUs. */
    readonly fargateVcpus: number;
    /** Fargate vCPUs while a deployment replaces the tasks at that maximum (deploymentMaximumPercent). */
    readonly fargateDeployVcpus: number;
    /** Elastic IPs and VPCs the stack allocates, with the Name tags that identify ones already deployed. */
    readonly eips: number;
    readonly eipNames: string[];
    readonly vpcs: number;
    readonly vpcNames: string[];
    /** Lambda functions in this region and the concurrency they reserve. */
    readonly lambdaFunctions: number;
    readonly reservedConcurrency: number;
}

export interface StackRequirements {
    readonly regions: RegionRequirements[];
    readonly linkedRoles: LinkedRole[];
    /**
     * Regions whose API Gateway stages write access logs while this stack does not manage the account-level
     * CloudWatch role (`aws:apigateway/account:Account`).
     */
    readonly apiGatewayAccountRegions: string[];
}

const num = (v: unknown): number => (typeof v === "number" ? v : typeof v === "string" ? Number(v) || 0 : 0);
const str = (v: unknown): string => (typeof v === "string" ? v : "");
const rec = (v: unknown): Record<string, unknown> =>
    typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
const nameTag = (r: PlannedResource): string | undefined => {
    const name = rec(r.inputs.tags).Name;
    return typeof name === "string" ? name : undefined;
};

/**
 * Service-linked roles by the planned resource type that needs them. Sources:
 * - Batch: https://docs.aws.amazon.com/batch/latest/userguide/using-service-linked-roles.html (created when a
 *   compute environment without a service role is created);
 * - EC2 Spot: https://docs.aws.amazon.com/batch/latest/userguide/spot-fleet-roles-cli.html and
 *   https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/spot-fleet-prerequisites.html ("If you use the AWS CLI
 *   or an API, you must ensure that these roles exist");
 * - ECS: https://docs.aws.amazon.com/AmazonECS/latest/developerguide/using-service-linked-roles.html;
 * - Elastic Load Balancing: https://docs.aws.amazon.com/elasticloadbalancing/latest/userguide/elb-service-linked-roles.html;
 * - Application Auto Scaling (ECS): https://docs.aws.amazon.com/autoscaling/application/userguide/application-auto-scaling-service-linked-roles.html.
 */
const LINKED_ROLES: { match: (r: PlannedResource) => boolean; role: Omit<LinkedRole, "usedBy"> }[] = [
    {
        match: (r) => r.type === "aws:batch/computeEnvironment:ComputeEnvironment" && !r.inputs.serviceRole,
        role: { roleName: "AWSServiceRoleForBatch", serviceName: "batch.amazonaws.com", createdOnFirstUse: true },
    },
    {
        match: (r) =>
            r.type === "aws:batch/computeEnvironment:ComputeEnvironment" &&
            rec(r.inputs.computeResources).type === "SPOT",
        role: { roleName: "AWSServiceRoleForEC2Spot", serviceName: "spot.amazonaws.com", createdOnFirstUse: false },
    },
    {
        match: (r) => r.type === "aws:ecs/service:Service",
        role: { roleName: "AWSServiceRoleForECS", serviceName: "ecs.amazonaws.com", createdOnFirstUse: true },
    },
    {
        match: (r) => r.type === "aws:lb/loadBalancer:LoadBalancer",
        role: {
            roleName: "AWSServiceRoleForElasticLoadBalancing",
            serviceName: "elasticloadbalancing.amazonaws.com",
            createdOnFirstUse: true,
        },
    },
    {
        match: (r) => r.type === "aws:appautoscaling/target:Target" && r.inputs.serviceNamespace === "ecs",
        role: {
            roleName: "AWSServiceRoleForApplicationAutoScaling_ECSService",
            serviceName: "ecs.application-autoscaling.amazonaws.com",
            createdOnFirstUse: true,
        },
    },
];

/** The account requirements of one planned stack. */
export function requirementsFromPlan(plan: OfflineRun): StackRequirements {
    const providerRegion = new Map<string, string>();
    for (const r of plan.resources) {
        if (r.type === "pulumi:providers:aws" && typeof r.inputs.region === "string") {
            providerRegion.set(r.urn, r.inputs.region);
        }
    }
    const regionOf = (r: PlannedResource): string | undefined =>
        r.provider ? providerRegion.get(r.provider) : undefined;
    const inRegion = (region: string) => plan.resources.filter((r) => r.custom && regionOf(r) === region);

    const regions = [...new Set(providerRegion.values())].sort().map((region): RegionRequirements => {
        const res = inRegion(region);
        const of = (type: string) => res.filter((r) => r.type === type);
        const ces = of("aws:batch/computeEnvironment:ComputeEnvironment").map((r) => rec(r.inputs.computeResources));
        const vcpusOf = (type: string) => ces.filter((c) => c.type === type).reduce((n, c) => n + num(c.maxVcpus), 0);
        const instanceTypes = [
            ...new Set(ces.flatMap((c) => (Array.isArray(c.instanceTypes) ? c.instanceTypes.map(String) : []))),
        ];
        // Fargate: each ECS service at its autoscaling maximum (or its desired count without one), times the
        // task definition's vCPUs (cpu units / 1024); during a deployment up to deploymentMaximumPercent of it.
        let fargate = 0;
        let fargateDeploy = 0;
        const targets = of("aws:appautoscaling/target:Target").filter((t) => t.inputs.serviceNamespace === "ecs");
        const taskDefs = of("aws:ecs/taskDefinition:TaskDefinition");
        for (const svc of of("aws:ecs/service:Service")) {
            if (svc.inputs.launchType !== "FARGATE") continue;
            const target =
                targets.find((t) => str(t.inputs.resourceId).endsWith(`/${str(svc.inputs.name)}`)) ??
                (targets.length === 1 ? targets[0] : undefined);
            const tasks = target ? num(target.inputs.maxCapacity) : num(svc.inputs.desiredCount);
            const taskDef =
                taskDefs.find((t) => t.urn === svc.inputs.taskDefinition) ??
                (taskDefs.length === 1 ? taskDefs[0] : undefined);
            const vcpus = num(taskDef?.inputs.cpu) / 1024;
            const maxPercent = num(svc.inputs.deploymentMaximumPercent) || 200;
            fargate += tasks * vcpus;
            fargateDeploy += Math.ceil((tasks * maxPercent) / 100) * vcpus;
        }
        const functions = of("aws:lambda/function:Function");
        const eips = of("aws:ec2/eip:Eip");
        const vpcs = of("aws:ec2/vpc:Vpc");
        return {
            region,
            spotVcpus: vcpusOf("SPOT"),
            onDemandVcpus: vcpusOf("EC2"),
            instanceTypes,
            fargateVcpus: fargate,
            fargateDeployVcpus: fargateDeploy,
            eips: eips.length,
            eipNames: eips.map(nameTag).filter((n): n is string => n !== undefined),
            vpcs: vpcs.length,
            vpcNames: vpcs.map(nameTag).filter((n): n is string => n !== undefined),
            lambdaFunctions: functions.length,
            reservedConcurrency: functions.reduce(
                (n, f) => n + Math.max(0, num(f.inputs.reservedConcurrentExecutions)),
                0,
            ),
        };
    });

    const linkedRoles: LinkedRole[] = [];
    for (const { match, role } of LINKED_ROLES) {
        const user = plan.resources.find((r) => r.custom && match(r));
        if (user && !linkedRoles.some((l) => l.roleName === role.roleName))
            linkedRoles.push({ ...role, usedBy: user.type });
    }

    const managedAccountRegions = new Set(
        plan.resources.filter((r) => r.type === "aws:apigateway/account:Account").map((r) => regionOf(r)),
    );
    const apiGatewayAccountRegions = [
        ...new Set(
            plan.resources
                .filter((r) => r.type === "aws:apigateway/stage:Stage" && r.inputs.accessLogSettings !== undefined)
                .map((r) => regionOf(r))
                .filter((region): region is string => region !== undefined && !managedAccountRegions.has(region)),
        ),
    ].sort();

    return { regions, linkedRoles, apiGatewayAccountRegions };
}
