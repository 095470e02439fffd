/**
 * The REST API that Google Apps Script calls with SigV4: one resource tree for ROUTES, every
 * method IAM-authorized and proxied to the dispatcher, a stage with access logs, execution logs
 * and throttling, and a WAF rate limit per client IP. The GAS principal is granted exactly these
 * routes. When the stack manages it, also the region's API Gateway account setting that lets API
 * Gateway write those logs.
 */
import { createHash } from "crypto";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { FormSenderConfig } from "../config/formSender";
import { assumeRolePolicy } from "../iam";
import { FORM_SENDER_LOG_RETENTION_DAYS, type PartContext } from "./context";
import type { LambdaFunctions } from "./functions";

/** API routes: every method is IAM-authorized. */
export const ROUTES = [
    { method: "POST", path: ["form-sender", "submit"] },
    { method: "POST", path: ["form-sender", "client-config-upload"] },
    { method: "GET", path: ["form-sender", "executions"] },
    { method: "GET", path: ["form-sender", "executions", "{id}"] },
    { method: "POST", path: ["form-sender", "executions", "{id}", "cancel"] },
] as const;

/** Days API Gateway's execution logs are kept (API Gateway itself would create their group with no expiry). */
export const EXECUTION_LOG_RETENTION_DAYS = FORM_SENDER_LOG_RETENTION_DAYS;

export interface ApiInput
    extends
        PartContext,
        Pick<FormSenderConfig, "apiBurstLimit" | "apiRateLimit" | "wafRateLimit" | "manageApiGatewayAccount">,
        Pick<LambdaFunctions, "dispatcher"> {}

export interface Api {
    readonly api: aws.apigateway.RestApi;
    /** The stage named after the environment; its invokeUrl is the API's base URL. */
    readonly stage: aws.apigateway.Stage;
}

/** JSON with every object's keys sorted, so equal values always serialize alike. */
function canonicalJson(value: unknown): string {
    if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
    if (value !== null && typeof value === "object") {
        const entries = Object.entries(value as Record<string, unknown>)
            .filter(([, v]) => v !== undefined)
            .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
        return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
    }
    return JSON.stringify(value) ?? "null";
}

/**
 * The deployment's redeployment trigger: SHA-256 of the resolved inputs of every Resource, Method and Integration,
 * by logical name. A deployment is a snapshot: changing a method or an integration updates that resource but not
 * what the stage serves until a new deployment is made, and `triggers` is what makes one ("The `triggers` argument
 * should be preferred over `dependsOn`, since `dependsOn` can only capture dependency ordering and will not cause
 * the resource to recreate (redeploy the REST API)", @pulumi/aws apigateway.Deployment).
 */
export function deploymentTrigger(resolvedInputs: Readonly<Record<string, unknown>>): string {
    return createHash("sha256").update(canonicalJson(resolvedInputs)).digest("hex");
}

export function buildApi(input: ApiInput): Api {
    const { name, prefix, env, parent, dispatcher } = input;
    const api = new aws.apigateway.RestApi(
        `${name}-api`,
        {
            name: `${prefix}-api`,
            description: "Form-sender API for Google Apps Script (SigV4)",
            endpointConfiguration: { types: "REGIONAL" },
        },
        { parent },
    );
    // The inputs of every Resource, Method and Integration by logical name: the deployment's trigger.
    const deployed: Record<string, pulumi.Input<object>> = {};
    const resources = new Map<string, aws.apigateway.Resource>();
    const resourceFor = (parts: readonly string[]): pulumi.Input<string> => {
        if (parts.length === 0) return api.rootResourceId;
        const key = parts.join("/");
        let res = resources.get(key);
        if (!res) {
            const resName = `${name}-api-${key.replace(/[{}]/g, "")}`.replace(/\//g, "-");
            const args: aws.apigateway.ResourceArgs = {
                restApi: api.id,
                parentId: resourceFor(parts.slice(0, -1)),
                pathPart: parts[parts.length - 1],
            };
            deployed[`Resource ${resName}`] = args;
            res = new aws.apigateway.Resource(resName, args, { parent });
            resources.set(key, res);
        }
        return res.id;
    };
    const integrations = ROUTES.map((route) => {
        const label = `${route.method.toLowerCase()}-${route.path.join("-").replace(/[{}]/g, "")}`;
        const methodArgs: aws.apigateway.MethodArgs = {
            restApi: api.id,
            resourceId: resourceFor(route.path),
            httpMethod: route.method,
            authorization: "AWS_IAM",
        };
        deployed[`Method ${name}-api-${label}`] = methodArgs;
        const method = new aws.apigateway.Method(`${name}-api-${label}`, methodArgs, { parent });
        const integrationArgs: aws.apigateway.IntegrationArgs = {
            restApi: api.id,
            resourceId: method.resourceId,
            httpMethod: method.httpMethod,
            type: "AWS_PROXY",
            integrationHttpMethod: "POST",
            uri: dispatcher.invokeArn,
        };
        deployed[`Integration ${name}-api-${label}`] = integrationArgs;
        return new aws.apigateway.Integration(`${name}-api-${label}`, integrationArgs, { parent });
    });
    new aws.lambda.Permission(
        `${name}-api`,
        {
            action: "lambda:InvokeFunction",
            function: dispatcher.name,
            principal: "apigateway.amazonaws.com",
            sourceArn: pulumi.interpolate`${api.executionArn}/*/*/form-sender/*`,
        },
        { parent },
    );
    const deployment = new aws.apigateway.Deployment(
        `${name}-api`,
        {
            restApi: api.id,
            triggers: { redeployment: pulumi.output(deployed).apply(deploymentTrigger) },
        },
        { parent, dependsOn: integrations },
    );
    const accessLogs = new aws.cloudwatch.LogGroup(
        `${name}-api-access`,
        { name: `/aws/apigateway/${prefix}-api`, retentionInDays: FORM_SENDER_LOG_RETENTION_DAYS },
        { parent },
    );
    // API Gateway writes both access and execution logs with the IAM role of the region's account setting, and
    // refuses a stage or method settings that log without one ("CloudWatch Logs role ARN must be set in account
    // settings to enable logging"; https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-logging.html:
    // a role trusted by apigateway.amazonaws.com with AmazonAPIGatewayPushToCloudWatchLogs, set as the account's
    // cloudWatchRoleArn in each Region). One setting per account and region, so one stack manages it
    // (formSenderManageApiGatewayAccount). Destroying that stack resets the setting: since provider v6
    // (@pulumi/aws 7) deleting aws.apigateway.Account always resets it (hashicorp/terraform-provider-aws#42226).
    const logPrerequisites: pulumi.Resource[] = [];
    if (input.manageApiGatewayAccount) {
        const cloudwatchRole = new aws.iam.Role(
            `${name}-apigw-cloudwatch`,
            {
                assumeRolePolicy: assumeRolePolicy("apigateway.amazonaws.com"),
                description: "API Gateway account setting: write API logs to CloudWatch Logs in this region",
            },
            { parent },
        );
        const cloudwatchPolicy = new aws.iam.RolePolicyAttachment(
            `${name}-apigw-cloudwatch`,
            {
                role: cloudwatchRole.name,
                policyArn: "arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs",
            },
            { parent },
        );
        logPrerequisites.push(
            new aws.apigateway.Account(
                `${name}-apigw-account`,
                { cloudwatchRoleArn: cloudwatchRole.arn },
                { parent, dependsOn: [cloudwatchPolicy] },
            ),
        );
    }
    // Execution logging makes API Gateway create API-Gateway-Execution-Logs_<api id>/<stage> itself, with no
    // expiry (https://docs.aws.amazon.com/apigateway/latest/developerguide/rest-api-execution-logging.html): the
    // group is created first, with a retention, so API Gateway finds it.
    logPrerequisites.push(
        new aws.cloudwatch.LogGroup(
            `${name}-api-execution`,
            {
                name: pulumi.interpolate`API-Gateway-Execution-Logs_${api.id}/${env}`,
                retentionInDays: EXECUTION_LOG_RETENTION_DAYS,
            },
            { parent },
        ),
    );
    const stage = new aws.apigateway.Stage(
        `${name}-api`,
        {
            restApi: api.id,
            deployment: deployment.id,
            stageName: env,
            xrayTracingEnabled: true,
            // No request bodies, query strings or headers: only who called what and how it went.
            accessLogSettings: {
                destinationArn: accessLogs.arn,
                format: JSON.stringify({
                    requestId: "$context.requestId",
                    caller: "$context.identity.userArn",
                    sourceIp: "$context.identity.sourceIp",
                    method: "$context.httpMethod",
                    resource: "$context.resourcePath",
                    status: "$context.status",
                    latencyMs: "$context.responseLatency",
                    error: "$context.error.message",
                }),
            },
        },
        { parent, dependsOn: logPrerequisites },
    );
    new aws.apigateway.MethodSettings(
        `${name}-api`,
        {
            restApi: api.id,
            stageName: stage.stageName,
            methodPath: "*/*",
            settings: {
                throttlingBurstLimit: input.apiBurstLimit,
                throttlingRateLimit: input.apiRateLimit,
                metricsEnabled: true,
                loggingLevel: "ERROR",
                dataTraceEnabled: false,
            },
        },
        { parent, dependsOn: logPrerequisites },
    );
    const waf = new aws.wafv2.WebAcl(
        `${name}-api-waf`,
        {
            name: `${prefix}-api`,
            scope: "REGIONAL",
            defaultAction: { allow: {} },
            rules: [
                {
                    name: "rate-limit-per-ip",
                    priority: 1,
                    action: { block: {} },
                    statement: { rateBasedStatement: { limit: input.wafRateLimit, aggregateKeyType: "IP" } },
                    visibilityConfig: {
                        cloudwatchMetricsEnabled: true,
                        metricName: `${prefix}-api-rate-limit`,
                        sampledRequestsEnabled: true,
                    },
                },
            ],
            visibilityConfig: {
                cloudwatchMetricsEnabled: true,
                metricName: `${prefix}-api`,
                sampledRequestsEnabled: true,
            },
        },
        { parent },
    );
    new aws.wafv2.WebAclAssociation(`${name}-api-waf`, { resourceArn: stage.arn, webAclArn: waf.arn }, { parent });
    return { api, stage };
}
