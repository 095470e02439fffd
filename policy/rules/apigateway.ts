/**
 * API Gateway (REST): the form-sender API starts paid Batch work and writes customer data, so
 * every method requires SigV4 (AWS_IAM), every stage is throttled, logged and behind WAF, and
 * request/response bodies are never written to execution logs.
 */
import { matchAny, refersTo } from "../lib/references";
import { describe, display, get, isUnknown, ofType, PlanResource } from "../lib/resource";
import { ResourceRule, StackFinding, StackRule } from "../lib/rule";

const METHOD = "aws:apigateway/method:Method";
const STAGE = "aws:apigateway/stage:Stage";
const METHOD_SETTINGS = "aws:apigateway/methodSettings:MethodSettings";
const USAGE_PLAN = "aws:apigateway/usagePlan:UsagePlan";
const WAF_ASSOCIATION = "aws:wafv2/webAclAssociation:WebAclAssociation";

export const apiMethodsIamAuth: ResourceRule = {
    scope: "resource",
    name: "apigateway-methods-iam-auth",
    description: "Every API Gateway method requires AWS_IAM (SigV4) authorization.",
    checkov: ["CKV_AWS_59", "CKV2_AWS_70"],
    enforcementLevel: "mandatory",
    remediation: 'Set authorization: "AWS_IAM" on the method and grant callers execute-api:Invoke on its ARN.',
    types: [METHOD],
    check(r) {
        const auth = r.inputs.authorization;
        if (auth === "AWS_IAM" || isUnknown(auth)) return [];
        const shown = auth === undefined ? "unset" : `"${display(auth)}"`;
        return [`${describe(r)} (${display(r.inputs.httpMethod ?? "?")}) has authorization ${shown}, not "AWS_IAM"`];
    },
};

export const apiStageAccessLogging: ResourceRule = {
    scope: "resource",
    name: "apigateway-stage-access-logging",
    description: "Every API Gateway stage writes access logs (destination and format set).",
    checkov: ["CKV_AWS_76"],
    enforcementLevel: "mandatory",
    remediation:
        "Set accessLogSettings: { destinationArn: logGroup.arn, " +
        'format: JSON.stringify({ requestId: "$context.requestId", ... }) }.',
    types: [STAGE],
    check(r) {
        const settings = r.inputs.accessLogSettings;
        if (isUnknown(settings)) return [];
        const missing = ["destinationArn", "format"].filter((k) => {
            const v = get(settings, k);
            return v === undefined || v === null || v === "";
        });
        return missing.length
            ? [`${describe(r)} has no access log ${missing.map((k) => `\`${k}\``).join(" or ")}`]
            : [];
    },
};

/** MethodSettings resources that apply to `stage` (same API and stage name). */
function settingsFor(stage: PlanResource, all: PlanResource[]): PlanResource[] {
    return all.filter((ms) => {
        const sameStage =
            isUnknown(ms.inputs.stageName) || isUnknown(stage.inputs.stageName)
                ? refersTo(ms, "stageName", ms.inputs.stageName, stage) !== "no"
                : ms.inputs.stageName === stage.inputs.stageName;
        const a = ms.inputs.restApi;
        const b = stage.inputs.restApi;
        // A RestApi passed as an object arrives as its URN, which cannot be compared with an id.
        const sameApi =
            a === b ||
            isUnknown(a) ||
            isUnknown(b) ||
            [a, b].some((v) => typeof v === "string" && v.startsWith("urn:pulumi:"));
        return sameStage && sameApi;
    });
}

const positive = (v: unknown) => isUnknown(v) || (typeof v === "number" && v > 0);

export const apiStageThrottling: StackRule = {
    scope: "stack",
    name: "apigateway-stage-throttling",
    description:
        "Every API Gateway stage has positive burst and rate limits for all methods " +
        "(MethodSettings `*/*` or a usage plan).",
    checkov: [],
    enforcementLevel: "mandatory",
    remediation:
        'Create aws.apigateway.MethodSettings({ restApi, stageName, methodPath: "*/*", ' +
        "settings: { throttlingBurstLimit: 50, throttlingRateLimit: 10 } }).",
    check(resources) {
        const out: StackFinding[] = [];
        const settings = ofType(resources, METHOD_SETTINGS);
        const plans = ofType(resources, USAGE_PLAN);
        for (const stage of ofType(resources, STAGE)) {
            const viaSettings = settingsFor(stage, settings).some(
                (ms) =>
                    (ms.inputs.methodPath === "*/*" || isUnknown(ms.inputs.methodPath)) &&
                    positive(get(ms.inputs, "settings", "throttlingBurstLimit")) &&
                    positive(get(ms.inputs, "settings", "throttlingRateLimit")),
            );
            const viaPlan = plans.some(
                (p) =>
                    positive(get(p.inputs, "throttleSettings", "burstLimit")) &&
                    positive(get(p.inputs, "throttleSettings", "rateLimit")) &&
                    (isUnknown(p.inputs.apiStages) ||
                        ((p.inputs.apiStages as unknown[]) ?? []).some(
                            (s) => get(s, "stage") === stage.inputs.stageName || isUnknown(get(s, "stage")),
                        )),
            );
            if (!viaSettings && !viaPlan)
                out.push({
                    urn: stage.urn,
                    message:
                        `${describe(stage)} has no throttling ` +
                        '(no MethodSettings "*/*" with positive burst and rate limits)',
                });
        }
        return out;
    },
};

export const apiStageExecutionLogging: StackRule = {
    scope: "stack",
    name: "apigateway-stage-execution-logging",
    description: "Every API Gateway stage has execution logging at ERROR or INFO for all methods.",
    checkov: ["CKV2_AWS_4"],
    enforcementLevel: "advisory",
    remediation:
        'MethodSettings { methodPath: "*/*", settings: { loggingLevel: "ERROR", metricsEnabled: true } } ' +
        "(needs the account's API Gateway CloudWatch role).",
    check(resources) {
        const settings = ofType(resources, METHOD_SETTINGS);
        return ofType(resources, STAGE)
            .filter(
                (stage) =>
                    !settingsFor(stage, settings).some(
                        (ms) =>
                            ["ERROR", "INFO"].includes(String(get(ms.inputs, "settings", "loggingLevel"))) ||
                            isUnknown(get(ms.inputs, "settings", "loggingLevel")),
                    ),
            )
            .map((stage) => ({
                urn: stage.urn,
                message: `${describe(stage)} has no execution logging (MethodSettings loggingLevel ERROR or INFO)`,
            }));
    },
};

export const apiNoDataTrace: ResourceRule = {
    scope: "resource",
    name: "apigateway-no-data-trace",
    description:
        "No API Gateway method settings enable data trace " +
        "(full request/response bodies in logs would expose client configs and contact data).",
    checkov: ["CKV_AWS_276"],
    enforcementLevel: "mandatory",
    remediation: "Leave settings.dataTraceEnabled unset or false; use loggingLevel ERROR/INFO for diagnostics.",
    types: [METHOD_SETTINGS],
    check(r) {
        return get(r.inputs, "settings", "dataTraceEnabled") === true
            ? [`${describe(r)} enables dataTraceEnabled, which logs full request and response bodies`]
            : [];
    },
};

export const apiWafAttached: StackRule = {
    scope: "stack",
    name: "apigateway-waf-attached",
    description: "Every API Gateway stage has a WAFv2 web ACL association.",
    checkov: ["CKV2_AWS_29"],
    enforcementLevel: "mandatory",
    remediation:
        "Create aws.wafv2.WebAclAssociation({ resourceArn: stage.arn, webAclArn: webAcl.arn }) " +
        "with a rate-based rule in the web ACL.",
    check(resources) {
        const associations = ofType(resources, WAF_ASSOCIATION);
        return ofType(resources, STAGE)
            .filter(
                (stage) =>
                    !associations.some((a) => matchAny(a, "resourceArn", a.inputs.resourceArn, [stage]) !== "no"),
            )
            .map((stage) => ({
                urn: stage.urn,
                message: `${describe(stage)} has no WAFv2 WebAclAssociation whose \`resourceArn\` refers to it`,
            }));
    },
};

export const APIGATEWAY_RULES = [
    apiMethodsIamAuth,
    apiStageAccessLogging,
    apiStageThrottling,
    apiStageExecutionLogging,
    apiNoDataTrace,
    apiWafAttached,
];
