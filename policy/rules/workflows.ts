/**
 * Step Functions and Batch: the scheduled jobs touch production data, so every execution leaves
 * a trace, and every Batch job has a bounded runtime and a retry strategy that gives up on
 * failures retrying cannot fix.
 */
import { JOB_DEFINITION } from "../lib/containers";
import { matchAny } from "../lib/references";
import { asArray, describe, display, get, isUnknown, ofType } from "../lib/resource";
import { ResourceRule, StackFinding, StackRule } from "../lib/rule";

const STATE_MACHINE = "aws:sfn/stateMachine:StateMachine";

export const sfnLoggingAndTracing: ResourceRule = {
    scope: "resource",
    name: "sfn-logging-and-tracing",
    description:
        "Every state machine logs executions (level ALL, ERROR or FATAL, " +
        "with a destination) and has X-Ray tracing enabled.",
    checkov: ["CKV_AWS_285", "CKV_AWS_284"],
    enforcementLevel: "mandatory",
    remediation:
        'loggingConfiguration: { level: "ALL", includeExecutionData: true, logDestination: `${logGroup.arn}:*` }, ' +
        "tracingConfiguration: { enabled: true }.",
    types: [STATE_MACHINE],
    check(r) {
        const out: string[] = [];
        const lc = r.inputs.loggingConfiguration;
        if (!isUnknown(lc)) {
            const level = get(lc, "level");
            if (!isUnknown(level) && !["ALL", "ERROR", "FATAL"].includes(String(level)))
                out.push(
                    `${describe(r)} has logging level ${level === undefined ? "unset (OFF)" : `"${display(level)}"`}`,
                );
            if (get(lc, "logDestination") === undefined) out.push(`${describe(r)} has no logging destination`);
        }
        const tracing = get(r.inputs, "tracingConfiguration", "enabled");
        if (tracing !== true && !isUnknown(tracing)) out.push(`${describe(r)} does not enable X-Ray tracing`);
        return out;
    },
};

/** Batch's minimum job timeout. */
const MIN_ATTEMPT_SECONDS = 60;

/** An evaluateOnExit entry that matches every failure. */
function catchAll(entry: unknown): boolean {
    const keys = ["onStatusReason", "onReason", "onExitCode"].map((k) => get(entry, k)).filter((v) => v !== undefined);
    return keys.length > 0 && keys.every((v) => v === "*" || isUnknown(v));
}

export const batchRetryAndTimeout: ResourceRule = {
    scope: "resource",
    name: "batch-retry-and-timeout",
    description:
        "Every Batch job definition has a timeout (attemptDurationSeconds ≥ 60) and a retry strategy whose " +
        "evaluateOnExit list ends with a catch-all EXIT.",
    checkov: [],
    enforcementLevel: "mandatory",
    remediation:
        "retryStrategy: { attempts: 3, evaluateOnExits: [" +
        '{ onStatusReason: "Host EC2*", action: "RETRY" }, ' +
        '{ onReason: "CannotPullContainerError:*", action: "RETRY" }, ' +
        '{ onReason: "*", action: "EXIT" }] }, timeout: { attemptDurationSeconds }.',
    types: [JOB_DEFINITION],
    check(r) {
        const out: string[] = [];
        const timeout = get(r.inputs, "timeout", "attemptDurationSeconds");
        if (!isUnknown(timeout) && !(typeof timeout === "number" && timeout >= MIN_ATTEMPT_SECONDS)) {
            out.push(
                `${describe(r)} has no timeout.attemptDurationSeconds ≥ ${MIN_ATTEMPT_SECONDS}, ` +
                    "so a hung browser runs (and bills) forever",
            );
        }
        const rs = r.inputs.retryStrategy;
        if (isUnknown(rs)) return out;
        const attempts = get(rs, "attempts");
        if (!isUnknown(attempts) && !(typeof attempts === "number" && attempts >= 1))
            out.push(`${describe(r)} has no retryStrategy.attempts`);
        const exits = get(rs, "evaluateOnExits");
        if (isUnknown(exits)) return out;
        const list = asArray(exits);
        const last = list[list.length - 1];
        // Batch retries every failure no entry matches, so only a final catch-all EXIT stops
        // retries of failures that will not heal (bad config, a site that refuses the form).
        if (
            list.length === 0 ||
            !(String(get(last, "action")).toUpperCase() === "EXIT" || isUnknown(get(last, "action"))) ||
            !catchAll(last)
        ) {
            out.push(
                `${describe(r)} retryStrategy.evaluateOnExits does not end with ` +
                    'a catch-all { onReason: "*", action: "EXIT" }',
            );
        }
        return out;
    },
};

const COMPUTE_ENVIRONMENT = "aws:batch/computeEnvironment:ComputeEnvironment";
const LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate";

/** Why a launch template leaves the instance metadata service reachable from containers, if it does. */
function imdsExposure(lt: { inputs: Readonly<Record<string, unknown>> }): string | undefined {
    const m = lt.inputs.metadataOptions;
    if (isUnknown(m)) return undefined;
    if (get(m, "httpEndpoint") === "disabled") return undefined;
    const tokens = get(m, "httpTokens");
    const hops = get(m, "httpPutResponseHopLimit");
    if (tokens !== "required" && !isUnknown(tokens))
        return 'allows IMDSv1 (metadataOptions.httpTokens is not "required")';
    if (hops !== 1 && !isUnknown(hops))
        return "lets containers reach the instance metadata service (metadataOptions.httpPutResponseHopLimit is not 1)";
    return undefined;
}

export const batchInstancesImdsProtected: StackRule = {
    scope: "stack",
    name: "batch-instances-imds-protected",
    description:
        "Every EC2/Spot Batch compute environment launches from a launch template that requires IMDSv2 with a " +
        "hop limit of 1, so a browser exploited by a visited site cannot take the instance role.",
    checkov: ["CKV_AWS_79", "CKV_AWS_341"],
    enforcementLevel: "advisory",
    remediation:
        'computeResources.launchTemplate: { launchTemplateId: lt.id, version: "$Latest" } ' +
        'with lt.metadataOptions { httpTokens: "required", httpPutResponseHopLimit: 1, httpEndpoint: "enabled" }; ' +
        "jobs get credentials from their job role, not the instance.",
    check(resources) {
        const out: StackFinding[] = [];
        const templates = ofType(resources, LAUNCH_TEMPLATE);
        for (const ce of ofType(resources, COMPUTE_ENVIRONMENT)) {
            const kind = get(ce.inputs, "computeResources", "type");
            if (kind !== "EC2" && kind !== "SPOT") continue;
            const ref = get(ce.inputs, "computeResources", "launchTemplate");
            if (isUnknown(ref)) continue;
            const id = get(ref, "launchTemplateId") ?? get(ref, "launchTemplateName");
            if (id === undefined) {
                out.push({
                    urn: ce.urn,
                    message:
                        `${describe(ce)} (${kind}) has no launch template, ` +
                        "so its instances keep the AMI's metadata defaults",
                });
                continue;
            }
            const mine = templates.filter((t) => matchAny(ce, "computeResources", id, [t]) !== "no");
            if (mine.length === 0) {
                if (!isUnknown(id))
                    out.push({
                        urn: ce.urn,
                        message: `${describe(ce)} (${kind}) uses a launch template this stack does not manage`,
                    });
                continue;
            }
            for (const t of mine) {
                const why = imdsExposure(t);
                if (why) out.push({ urn: t.urn, message: `${describe(t)} used by ${describe(ce)} ${why}` });
            }
        }
        return out;
    },
};

export const WORKFLOW_RULES = [sfnLoggingAndTracing, batchRetryAndTimeout, batchInstancesImdsProtected];
