/**
 * FormSenderBatch: the form sender on AWS Batch Spot. This file is the table of contents; each
 * part (storage, image, network, compute, job definition, functions, events, API, GAS principal,
 * monitoring) lives in its own file beside it and parents its children to this component.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { FormSenderConfig } from "../config/formSender";
import { buildApi } from "./api";
import { buildCompute, validateInstanceTypes } from "./compute";
import type { PartContext } from "./context";
import { buildEvents } from "./events";
import { FormSenderFunctions } from "./functions";
import { buildGasPrincipal } from "./gasPrincipal";
import { buildImage } from "./image";
import { buildJobDefinition } from "./jobDefinition";
import { buildMonitoring } from "./monitoring";
import { buildNetwork } from "./network";
import { buildStorage } from "./storage";

export { ROUTES } from "./api";

/**
 * The stack's `formSender*` settings (documented in components/config/formSender.ts) plus what
 * the program wires in. The region is the provider's, so it is not an argument.
 */
export interface FormSenderBatchArgs extends Omit<FormSenderConfig, "region"> {
    /** Stack environment (`stg`, `prd`); part of every physical name. */
    readonly environment: string;
    /** Secret values written into the runner's Secrets Manager secrets when given. */
    readonly supabaseUrl?: pulumi.Input<string>;
    readonly supabaseServiceRoleKey?: pulumi.Input<string>;
    readonly alertsTopicArn: pulumi.Input<string>;
    /**
     * Protect the stateful children (client-config bucket, ECR repository, Supabase secrets, GAS user and its access
     * key) against deletion and replacement.
     *  @default true when `environment` is `prd`
     */
    readonly protectStatefulResources?: boolean;
}

/**
 * Form sender on AWS Batch Spot (seed 000): client-config bucket, runner image, Spot and
 * on-demand compute environments with three queues, the job definition, the IAM-signed REST API
 * with its dispatcher, batch-events and spot-watch functions, alarms, a dashboard, and the GAS
 * principal whose keys feed GAS Script Properties.
 */
export class FormSenderBatch extends pulumi.ComponentResource {
    public readonly apiBaseUrl: pulumi.Output<string>;
    public readonly bucketName: pulumi.Output<string>;
    public readonly queueArns: {
        spot: pulumi.Output<string>;
        spotThenOnDemand: pulumi.Output<string>;
        onDemand: pulumi.Output<string>;
    };
    public readonly jobDefinitionArn: pulumi.Output<string>;
    public readonly imageUri: pulumi.Output<string>;
    public readonly gasAccessKeyId: pulumi.Output<string>;
    public readonly gasSecretAccessKey: pulumi.Output<string>;
    public readonly dashboardName: pulumi.Output<string>;

    constructor(name: string, args: FormSenderBatchArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("ops:formsender:FormSenderBatch", name, {}, opts);
        const env = args.environment;
        const protectStateful = args.protectStatefulResources ?? env === "prd";
        const ctx: PartContext = { name, prefix: `fs-${env}`, env, parent: this, protectStateful };
        validateInstanceTypes(name, args.instanceTypes);
        const region = aws.getRegionOutput({}, { parent: this }).region;
        const account = aws.getCallerIdentityOutput({}, { parent: this }).accountId;

        const { bucket } = buildStorage({ ...ctx, configRetentionDays: args.configRetentionDays });

        const { repository, image } = buildImage(ctx);

        const network = buildNetwork({
            ...ctx,
            subnetIds: args.subnetIds,
            vpcCidr: args.vpcCidr,
            availabilityZones: args.availabilityZones,
            networkMode: args.networkMode,
        });

        const compute = buildCompute({
            ...ctx,
            ...network,
            instanceTypes: args.instanceTypes,
            maxVcpus: args.maxVcpus,
            onDemandMaxVcpus: args.onDemandMaxVcpus,
            runnableTimeoutMinutes: args.runnableTimeoutMinutes,
        });

        const job = buildJobDefinition({
            ...ctx,
            region,
            bucket,
            repository,
            image,
            attemptDurationSeconds: args.attemptDurationSeconds,
            jobAttempts: args.jobAttempts,
            jobVcpus: args.jobVcpus,
            jobMemoryMib: args.jobMemoryMib,
            supabaseUrl: args.supabaseUrl,
            supabaseServiceRoleKey: args.supabaseServiceRoleKey,
        });

        const functions = new FormSenderFunctions({
            ...ctx,
            ...compute,
            ...job,
            region,
            account,
            bucket,
            alertsTopicArn: args.alertsTopicArn,
            dispatcherReservedConcurrency: args.dispatcherReservedConcurrency,
            onDemandPrices: args.onDemandPrices,
            spotPriceThresholdPercent: args.spotPriceThresholdPercent,
            maxVcpus: args.maxVcpus,
            defaultPreferSpot: args.defaultPreferSpot,
            defaultAllowOnDemandFallback: args.defaultAllowOnDemandFallback,
            jobAttempts: args.jobAttempts,
            defaultWorkersPerWorkflow: args.defaultWorkersPerWorkflow,
            defaultSessionMaxHours: args.defaultSessionMaxHours,
            jobVcpus: args.jobVcpus,
            jobMemoryMib: args.jobMemoryMib,
            instanceTypes: args.instanceTypes,
        });

        buildEvents({ ...ctx, queues: compute.queues, ...functions });

        const { api, stage } = buildApi({
            ...ctx,
            dispatcher: functions.dispatcher,
            apiBurstLimit: args.apiBurstLimit,
            apiRateLimit: args.apiRateLimit,
            wafRateLimit: args.wafRateLimit,
            manageApiGatewayAccount: args.manageApiGatewayAccount,
        });

        const { accessKey } = buildGasPrincipal({ ...ctx, api });

        const { dashboard } = buildMonitoring({
            ...ctx,
            ...functions,
            region,
            api,
            alertsTopicArn: args.alertsTopicArn,
            backlogAlarmMinutes: args.backlogAlarmMinutes,
            jobDefinition: job.jobDefinition,
        });

        this.apiBaseUrl = stage.invokeUrl;
        this.bucketName = bucket.bucket;
        this.queueArns = {
            spot: compute.queues.spot.arn,
            spotThenOnDemand: compute.queues.spotThenOnDemand.arn,
            onDemand: compute.queues.onDemand.arn,
        };
        this.jobDefinitionArn = job.jobDefinition.arn;
        this.imageUri = image.imageUri;
        this.gasAccessKeyId = accessKey.id;
        this.gasSecretAccessKey = pulumi.secret(accessKey.secret);
        this.dashboardName = dashboard.dashboardName;
        this.registerOutputs({
            apiBaseUrl: this.apiBaseUrl,
            bucketName: this.bucketName,
            jobDefinitionArn: this.jobDefinitionArn,
            imageUri: this.imageUri,
            gasAccessKeyId: this.gasAccessKeyId,
        });
    }
}
