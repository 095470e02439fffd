/**
 * ops-platform: reads the stack configuration once, builds the components in their regions and
 * exports the outputs operators need (including the GAS Script Properties map).
 */
import * as aws from "@pulumi/aws";
import { Alerts, FormSenderBatch, Orchestration, SyncScheduler, WeatherService } from "./components";
import { loadStackConfig, LoadOptions } from "./components/config";

// Pulumi runs the exported function (without arguments) and exports what it returns: a plain object here, since
// nothing needs awaiting. The offline plan passes options to report problems of the deploying machine as warnings.
export = (options: LoadOptions = {}) => {
    const { config, secrets } = loadStackConfig(options);
    const env = config.environment;

    // One explicit provider per region: nothing relies on the ambient default region.
    const providers = new Map<string, aws.Provider>();
    const providerFor = (region: string): aws.Provider => {
        let p = providers.get(region);
        if (!p) {
            p = new aws.Provider(`aws-${region}`, {
                region: region as aws.Region,
                defaultTags: { tags: { Project: "ops-platform", Environment: env, ManagedBy: "pulumi" } },
            });
            providers.set(region, p);
        }
        return p;
    };
    // Alarms can only notify a topic in their own region: one alerts topic per region in use.
    const alerts = new Map<string, Alerts>();
    const alertsFor = (region: string): Alerts => {
        let a = alerts.get(region);
        if (!a) {
            a = new Alerts(
                `alerts-${region}`,
                {
                    email: config.alertEmail,
                    region,
                    environment: env,
                    slackWebhookUrl: secrets.alertSlackWebhookUrl,
                },
                { providers: [providerFor(region)] },
            );
            alerts.set(region, a);
        }
        return a;
    };

    const w = config.weather;
    const weather = new WeatherService(
        "weather",
        {
            ...w,
            environment: env,
            apiKeys: secrets.weatherApiKeys,
            alertsTopicArn: alertsFor(w.region).topicArn,
        },
        { providers: [providerFor(w.region)] },
    );

    const o = config.orchestration;
    const orchestration = new Orchestration(
        "orchestration",
        {
            environment: env,
            scheduleExpression: o.scheduleExpression,
            scheduleEnabled: o.scheduleEnabled,
            batchScriptPath: o.batchScriptPath,
            containerName: o.containerName,
            logRetentionDays: o.logRetentionDays,
            taskTimeoutSeconds: o.taskTimeoutSeconds,
            clusterArn: weather.clusterArn,
            taskDefinitionArn: weather.taskDefinitionArn,
            taskRoleArn: weather.taskRoleArn,
            executionRoleArn: weather.executionRoleArn,
            subnetIds: weather.privateSubnetIds,
            securityGroupId: weather.tasksSecurityGroupId,
            alertsTopicArn: alertsFor(w.region).topicArn,
        },
        { providers: [providerFor(w.region)] },
    );

    const f = config.formSender;
    const formSenderAlerts = alertsFor(f.region);
    const formSender = new FormSenderBatch(
        "form-sender",
        {
            ...f,
            environment: env,
            supabaseUrl: secrets.formSenderSupabaseUrl,
            supabaseServiceRoleKey: secrets.formSenderSupabaseServiceRoleKey,
            alertsTopicArn: formSenderAlerts.topicArn,
        },
        { providers: [providerFor(f.region)] },
    );

    const { region: syncRegion, ...s } = config.sync;
    const sync = new SyncScheduler(
        "sync",
        {
            ...s,
            environment: env,
            alertsTopicArn: alertsFor(syncRegion).topicArn,
        },
        { providers: [providerFor(syncRegion)] },
    );

    return {
        environment: env,
        alertsTopicArns: Object.fromEntries([...alerts].map(([region, a]) => [region, a.topicArn])),
        weather: {
            region: w.region,
            url: weather.url,
            clusterArn: weather.clusterArn,
            serviceName: weather.serviceName,
            taskDefinitionArn: weather.taskDefinitionArn,
            taskRoleArn: weather.taskRoleArn,
            executionRoleArn: weather.executionRoleArn,
            privateSubnetIds: weather.privateSubnetIds,
            tasksSecurityGroupId: weather.tasksSecurityGroupId,
            apiKeysSecretArn: weather.apiKeysSecretArn,
            imageUri: weather.imageUri,
        },
        formSender: {
            region: f.region,
            apiBaseUrl: formSender.apiBaseUrl,
            bucket: formSender.bucketName,
            queueArns: formSender.queueArns,
            jobDefinitionArn: formSender.jobDefinitionArn,
            imageUri: formSender.imageUri,
            alertsTopicArn: formSenderAlerts.topicArn,
            dashboardName: formSender.dashboardName,
            gasAccessKeyId: formSender.gasAccessKeyId,
            gasSecretAccessKey: formSender.gasSecretAccessKey,
        },
        // Exactly the connection Script Properties GAS reads: `npm run gas-config -- --stack <name>` prints them. Not
        // the routing switch USE_AWS_BATCH, which operators set by hand after the pilot (README "Outputs and Google
        // Apps Script"), and no FORM_SENDER_ENV, which no GAS file reads.
        gasScriptProperties: {
            FORM_SENDER_AWS_API_BASE_URL: formSender.apiBaseUrl,
            FORM_SENDER_AWS_REGION: f.region,
            FORM_SENDER_AWS_ACCESS_KEY_ID: formSender.gasAccessKeyId,
            FORM_SENDER_AWS_SECRET_ACCESS_KEY: formSender.gasSecretAccessKey,
            FORM_SENDER_S3_BUCKET: formSender.bucketName,
        },
        orchestration: {
            region: w.region,
            stateMachineArn: orchestration.stateMachineArn,
            scheduleName: orchestration.scheduleName,
            logGroupName: orchestration.logGroupName,
        },
        sync: {
            region: syncRegion,
            functionName: sync.functionName,
            logGroupName: sync.logGroupName,
            scheduleRuleNames: sync.scheduleRuleNames,
            manualRuleName: sync.manualRuleName,
        },
    };
};
