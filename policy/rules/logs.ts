/**
 * Logs: every log group expires its events, including the groups services would otherwise
 * create on their own with "never expire" (Lambda's /aws/lambda/<name>, Batch's /aws/batch/job).
 * Runner and dispatcher logs are sanitised, but retention bounds what a leak could expose.
 */
import { containerDocs, JOB_DEFINITION, TASK_DEFINITION } from "../lib/containers";
import { matchAny, refersTo } from "../lib/references";
import { describe, display, get, isUnknown, ofType, PlanResource, prop } from "../lib/resource";
import { ResourceRule, StackFinding, StackRule } from "../lib/rule";

const LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup";
const FUNCTION = "aws:lambda/function:Function";
const STATE_MACHINE = "aws:sfn/stateMachine:StateMachine";
const STAGE = "aws:apigateway/stage:Stage";

/** Where Batch writes container logs when a job definition names no group. */
const BATCH_DEFAULT_GROUP = "/aws/batch/job";

export const logGroupRetention: ResourceRule = {
    scope: "resource",
    name: "log-group-retention",
    description: "Every CloudWatch log group sets a retention period.",
    checkov: ["CKV_AWS_66"],
    enforcementLevel: "mandatory",
    remediation: "Set retentionInDays (14 for the runner, 7 for the sync Lambda, 30 by default).",
    types: [LOG_GROUP],
    check(r) {
        const v = r.inputs.retentionInDays;
        return isUnknown(v) || (typeof v === "number" && v > 0)
            ? []
            : [`${describe(r)} has no retentionInDays, so its events never expire`];
    },
};

/** Log groups among `groups` named exactly `name`, or whose unknown name depends on `owner`. */
function groupsNamed(groups: PlanResource[], name: string, owner?: PlanResource): PlanResource[] {
    return groups.filter((g) => {
        const n = g.inputs.name;
        if (n === name) return true;
        return owner !== undefined && isUnknown(n) && refersTo(g, "name", n, owner) === "yes";
    });
}

export const logDestinationsManaged: StackRule = {
    scope: "stack",
    name: "log-destinations-managed",
    description:
        "Lambda, ECS, Batch, Step Functions and API Gateway logs go to log groups this stack manages " +
        "(so their retention applies), never to groups AWS creates without retention.",
    checkov: [],
    enforcementLevel: "mandatory",
    remediation:
        "Create the aws.cloudwatch.LogGroup first and point the service at it (Lambda loggingConfig.logGroup, " +
        "awslogs-group, logDestination, destinationArn).",
    check(resources) {
        const out: StackFinding[] = [];
        const groups = ofType(resources, LOG_GROUP);

        for (const fn of ofType(resources, FUNCTION)) {
            const explicit = get(fn.inputs, "loggingConfig", "logGroup");
            if (explicit !== undefined) {
                if (matchAny(fn, "loggingConfig", explicit, groups) === "no")
                    out.push({
                        urn: fn.urn,
                        message: `${describe(fn)} logs to a group this stack does not manage (loggingConfig.logGroup)`,
                    });
                continue;
            }
            // Without loggingConfig Lambda writes to /aws/lambda/<function name>, created on first
            // invoke with no retention.
            const fnName = display(fn.inputs.name ?? fn.name);
            if (isUnknown(fnName)) continue;
            if (groupsNamed(groups, `/aws/lambda/${fnName}`, fn).length === 0) {
                out.push({
                    urn: fn.urn,
                    message:
                        `${describe(fn)} has no managed log group: ` +
                        `set loggingConfig.logGroup or create /aws/lambda/${fnName}`,
                });
            }
        }

        for (const r of ofType(resources, TASK_DEFINITION, JOB_DEFINITION)) {
            for (const c of containerDocs(r).containers) {
                const lc = prop(c.def, "logConfiguration");
                const driver = prop(lc, "logDriver");
                // ECS without logConfiguration drops logs; Batch defaults to awslogs.
                const awslogs = driver === "awslogs" || (r.type === JOB_DEFINITION && driver === undefined);
                if (!awslogs) continue;
                const group =
                    prop(prop(lc, "options"), "awslogs-group") ??
                    (r.type === JOB_DEFINITION ? BATCH_DEFAULT_GROUP : undefined);
                if (group === undefined) {
                    out.push({ urn: r.urn, message: `${describe(r)} ${c.label} uses awslogs without awslogs-group` });
                } else if (
                    typeof group === "string" &&
                    !isUnknown(group) &&
                    groupsNamed(groups, group).length === 0 &&
                    matchAny(r, "containerDefinitions", group, groups) === "no"
                ) {
                    out.push({
                        urn: r.urn,
                        message: `${describe(r)} ${c.label} logs to ${group}, a group this stack does not manage`,
                    });
                }
            }
        }

        for (const sm of ofType(resources, STATE_MACHINE)) {
            const dest = get(sm.inputs, "loggingConfiguration", "logDestination");
            if (dest === undefined) continue; // sfn-logging-and-tracing reports the missing destination.
            if (matchAny(sm, "loggingConfiguration", dest, groups) === "no")
                out.push({ urn: sm.urn, message: `${describe(sm)} logs to a group this stack does not manage` });
        }

        for (const stage of ofType(resources, STAGE)) {
            const dest = get(stage.inputs, "accessLogSettings", "destinationArn");
            // Access logs may also go to Firehose; only CloudWatch Logs destinations are checked.
            if (typeof dest !== "string" || (!isUnknown(dest) && !dest.includes(":logs:"))) continue;
            if (matchAny(stage, "accessLogSettings", dest, groups) === "no")
                out.push({
                    urn: stage.urn,
                    message: `${describe(stage)} writes access logs to a group this stack does not manage`,
                });
        }
        return out;
    },
};

export const LOG_RULES = [logGroupRetention, logDestinationsManaged];
