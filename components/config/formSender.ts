import { CODE_DEFAULTS } from "../../functions/formSender/dispatcher";
import { fitsOneInstance, knowsSizes, largestJob, workersProblem } from "../../functions/formSender/sizing";
import { AWS_REGIONS, AwsRegion, CIDR16_TO_24, ConfigReader, SUBNET_ID } from "./validate";

/** FormSenderBatch settings (keys `formSender*`). */
export interface FormSenderConfig {
    readonly region: AwsRegion;
    /**
     * `public`: runners in public subnets with public IPv4 (no NAT per-GB charge);
     * `private`: private subnets behind one NAT gateway.
     */
    readonly networkMode: "public" | "private";
    readonly vpcCidr: string;
    readonly availabilityZones: string[];
    /** Existing subnets for the compute environments; when set no VPC is created. */
    readonly subnetIds: string[];
    /** Spot instance types, most preferred first. */
    readonly instanceTypes: string[];
    readonly maxVcpus: number;
    readonly onDemandMaxVcpus: number;
    readonly jobVcpus: number;
    readonly jobMemoryMib: number;
    readonly jobAttempts: number;
    readonly attemptDurationSeconds: number;
    /** Minutes a job may wait RUNNABLE for Spot capacity before the queue cancels it. */
    readonly runnableTimeoutMinutes: number;
    readonly configRetentionDays: number;
    readonly apiBurstLimit: number;
    readonly apiRateLimit: number;
    /** Requests per 5 minutes per client IP before WAF blocks. */
    readonly wafRateLimit: number;
    /**
     * Whether this stack sets the region's API Gateway account setting: the IAM role API Gateway writes CloudWatch
     * logs with (aws.apigateway.Account `cloudwatchRoleArn`). Without it the stage's access logs and execution
     * logging are refused ("CloudWatch Logs role ARN must be set in account settings to enable logging",
     * https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-logging.html). It is one setting per
     * account and region: when stacks share an account exactly one of them manages it.
     */
    readonly manageApiGatewayAccount: boolean;
    /**
     * Reserved concurrency of the dispatcher Lambda; 0 reserves none (the function shares the account's unreserved
     * pool). Lambda refuses a reservation that leaves less than 100 unreserved, and new accounts start with low
     * concurrency quotas (https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html).
     */
    readonly dispatcherReservedConcurrency: number;
    readonly spotPriceThresholdPercent: number;
    /** On-demand USD/hour per instance type for spot-watch. */
    readonly onDemandPrices: Record<string, number>;
    /**
     * Stack defaults of the per-submit settings (seed 003 §7: targeting column → these → code default). `max_attempts`
     * defaults to `jobAttempts`, the job's vCPU / memory to `jobVcpus` / `jobMemoryMib`.
     */
    readonly defaultPreferSpot: boolean;
    /** Seed 003: off, each targeting opts in; seed 000 attaches on-demand to every queue (README config table). */
    readonly defaultAllowOnDemandFallback: boolean;
    readonly defaultWorkersPerWorkflow: number;
    readonly defaultSessionMaxHours: number;
    /** Minutes the oldest job of the stack's queues may wait RUNNABLE before the backlog alarm fires. */
    readonly backlogAlarmMinutes: number;
}

/**
 * us-east-1 Linux on-demand list prices (USD/hour), recorded 2025-10-07
 * (https://aws.amazon.com/ec2/pricing/on-demand/).
 */
export const ON_DEMAND_PRICES_US_EAST_1: Record<string, number> = {
    "c6a.xlarge": 0.153,
    "c5a.xlarge": 0.154,
    "c6i.xlarge": 0.17,
    "c5.xlarge": 0.17,
    "m6a.xlarge": 0.1728,
    "c7a.xlarge": 0.20532,
};

export const FORM_SENDER_DEFAULTS = {
    region: "us-east-1" as AwsRegion,
    networkMode: "public" as const,
    vpcCidr: "10.40.0.0/16",
    instanceTypes: ["c6a.xlarge", "c5a.xlarge", "c6i.xlarge", "c5.xlarge", "m6a.xlarge"],
    maxVcpus: 16,
    onDemandMaxVcpus: 16,
    jobVcpus: 4,
    jobMemoryMib: 7680,
    jobAttempts: 3,
    attemptDurationSeconds: 8 * 3600,
    runnableTimeoutMinutes: 30,
    configRetentionDays: 7,
    apiBurstLimit: 50,
    apiRateLimit: 10,
    wafRateLimit: 1000,
    manageApiGatewayAccount: false,
    dispatcherReservedConcurrency: 0,
    spotPriceThresholdPercent: 80,
    defaultPreferSpot: CODE_DEFAULTS.prefer_spot,
    defaultAllowOnDemandFallback: CODE_DEFAULTS.allow_on_demand_fallback,
    defaultWorkersPerWorkflow: CODE_DEFAULTS.workers_per_workflow,
    defaultSessionMaxHours: CODE_DEFAULTS.session_max_hours,
    backlogAlarmMinutes: 45,
};

const INSTANCE_TYPE = /^[a-z][a-z0-9-]*\d[a-z0-9-]*\.(nano|micro|small|medium|large|\d*xlarge|metal)$/;

export function readFormSenderConfig(r: ConfigReader): FormSenderConfig {
    const d = FORM_SENDER_DEFAULTS;
    const region = r.oneOf("formSenderRegion", AWS_REGIONS, { default: d.region });
    const instanceTypes = r.stringList("formSenderInstanceTypes", {
        default: d.instanceTypes,
        minItems: 1,
        item: (t) => (INSTANCE_TYPE.test(t) ? undefined : `${JSON.stringify(t)} is not an EC2 instance type`),
        itemExpected: "an EC2 instance type",
        example: '["c6a.xlarge", "c5a.xlarge"]',
    });
    if (instanceTypes[0] !== "c6a.xlarge") {
        r.fail(
            "formSenderInstanceTypes",
            "c6a.xlarge first (the runner is sized and priced for it; list alternatives after it)",
            JSON.stringify(instanceTypes),
            `set it in Pulumi.${r.stack}.yaml starting with c6a.xlarge`,
        );
    }
    const jobVcpus = r.integer("formSenderJobVcpus", { default: d.jobVcpus, min: 1, max: 16 });
    const maxVcpus = r.integer("formSenderMaxVcpus", { default: d.maxVcpus, min: 1, max: 4000 });
    if (maxVcpus < jobVcpus)
        r.fail(
            "formSenderMaxVcpus",
            `at least formSenderJobVcpus (${jobVcpus}) so one job fits`,
            String(maxVcpus),
            r.setCommand("formSenderMaxVcpus", String(d.maxVcpus)),
        );
    const onDemandPrices: Record<string, number> = {};
    for (const t of instanceTypes) {
        const p = ON_DEMAND_PRICES_US_EAST_1[t];
        if (p === undefined && region === "us-east-1") {
            r.fail(
                "formSenderInstanceTypes",
                `instance types with a known on-demand price (${Object.keys(ON_DEMAND_PRICES_US_EAST_1).join(", ")}) ` +
                    "so spot-watch can compare",
                t,
                "add its price to ON_DEMAND_PRICES_US_EAST_1 in components/config/formSender.ts or remove it",
            );
        } else if (p !== undefined) onDemandPrices[t] = p;
    }
    const jobMemoryMib = r.integer("formSenderJobMemoryMib", { default: d.jobMemoryMib, min: 512, max: 30720 });
    if (knowsSizes(instanceTypes) && !fitsOneInstance(instanceTypes, jobVcpus, jobMemoryMib)) {
        const largest = largestJob(instanceTypes);
        r.fail(
            "formSenderJobVcpus",
            "a job size one of formSenderInstanceTypes holds " +
                `(at most ${largest.vcpus} vCPU / ${largest.memoryMib} MiB ` +
                "with these types); Batch never places a larger job",
            `${jobVcpus} vCPU / ${jobMemoryMib} MiB (formSenderJobMemoryMib)`,
            "lower formSenderJobVcpus / formSenderJobMemoryMib or add larger instance types",
        );
    }
    const defaultWorkersPerWorkflow = r.integer("formSenderDefaultWorkersPerWorkflow", {
        default: d.defaultWorkersPerWorkflow,
        min: 1,
        max: 16,
    });
    const workersTooMany = workersProblem(defaultWorkersPerWorkflow, jobVcpus, jobMemoryMib, instanceTypes, {
        workers: "formSenderDefaultWorkersPerWorkflow",
        vcpus: "formSenderJobVcpus",
        memoryMib: "formSenderJobMemoryMib",
    });
    if (workersTooMany)
        r.fail(
            "formSenderDefaultWorkersPerWorkflow",
            "as many workers as the job's vCPU and memory hold",
            String(defaultWorkersPerWorkflow),
            workersTooMany,
        );
    const azPattern = new RegExp(`^${region}[a-z]$`);
    return {
        region,
        networkMode: r.oneOf("formSenderNetworkMode", ["public", "private"] as const, { default: d.networkMode }),
        vpcCidr: r.string("formSenderVpcCidr", {
            default: d.vpcCidr,
            pattern: CIDR16_TO_24,
            expected: "an IPv4 CIDR block from /16 to /24",
            example: d.vpcCidr,
        }),
        availabilityZones: r.stringList("formSenderAvailabilityZones", {
            default: [`${region}a`, `${region}b`, `${region}c`],
            minItems: 1,
            item: (az) => (azPattern.test(az) ? undefined : `${JSON.stringify(az)} is not an AZ of ${region}`),
            itemExpected: `an availability zone of ${region}`,
            example: `["${region}a", "${region}b"]`,
        }),
        subnetIds: r.stringList("formSenderSubnetIds", {
            default: [],
            item: (s) => (SUBNET_ID.test(s) ? undefined : `${JSON.stringify(s)} is not a subnet id`),
            itemExpected: "a subnet id (subnet-0123abcd)",
            example: '["subnet-0123456789abcdef0"]',
        }),
        instanceTypes,
        maxVcpus,
        onDemandMaxVcpus: r.integer("formSenderOnDemandMaxVcpus", { default: d.onDemandMaxVcpus, min: 0, max: 4000 }),
        jobVcpus,
        jobMemoryMib,
        jobAttempts: r.integer("formSenderJobAttempts", { default: d.jobAttempts, min: 1, max: 10 }),
        attemptDurationSeconds: r.integer("formSenderAttemptDurationSeconds", {
            default: d.attemptDurationSeconds,
            min: 60,
            max: 14 * 24 * 3600,
        }),
        runnableTimeoutMinutes: r.integer("formSenderRunnableTimeoutMinutes", {
            default: d.runnableTimeoutMinutes,
            min: 10,
            max: 86400 / 60,
        }),
        configRetentionDays: r.integer("formSenderConfigRetentionDays", {
            default: d.configRetentionDays,
            min: 1,
            max: 29,
        }),
        apiBurstLimit: r.integer("formSenderApiBurstLimit", { default: d.apiBurstLimit, min: 1, max: 5000 }),
        apiRateLimit: r.integer("formSenderApiRateLimit", { default: d.apiRateLimit, min: 1, max: 10000 }),
        wafRateLimit: r.integer("formSenderWafRateLimit", { default: d.wafRateLimit, min: 100, max: 2_000_000_000 }),
        manageApiGatewayAccount: r.boolean("formSenderManageApiGatewayAccount", {
            default: d.manageApiGatewayAccount,
        }),
        dispatcherReservedConcurrency: r.integer("formSenderDispatcherReservedConcurrency", {
            default: d.dispatcherReservedConcurrency,
            min: 0,
            max: 1000,
        }),
        spotPriceThresholdPercent: r.integer("formSenderSpotPriceThresholdPercent", {
            default: d.spotPriceThresholdPercent,
            min: 10,
            max: 100,
        }),
        onDemandPrices,
        defaultPreferSpot: r.boolean("formSenderDefaultPreferSpot", { default: d.defaultPreferSpot }),
        defaultAllowOnDemandFallback: r.boolean("formSenderDefaultAllowOnDemandFallback", {
            default: d.defaultAllowOnDemandFallback,
        }),
        defaultWorkersPerWorkflow,
        defaultSessionMaxHours: r.integer("formSenderDefaultSessionMaxHours", {
            default: d.defaultSessionMaxHours,
            min: 1,
            max: 24,
        }),
        backlogAlarmMinutes: r.integer("formSenderBacklogAlarmMinutes", {
            default: d.backlogAlarmMinutes,
            min: 15,
            max: 1440,
        }),
    };
}
