/**
 * Resolving references between resources, for stack-level rules ("every bucket has a public
 * access block whose `bucket` refers to it").
 *
 * A property that holds another resource's output carries, depending on where the rules run:
 *
 * | where                        | `bucket: bucket.id` arrives as                                  |
 * | ---------------------------- | --------------------------------------------------------------- |
 * | offline plan (mock engine)   | the mock id: the bucket's physical name, or its logical name    |
 * | preview, resource exists     | the real value, equal to the target's own `bucket`/`arn` output |
 * | preview, resource is new     | {@link UNKNOWN}, with `propertyDependencies.bucket = [its URN]`  |
 * | a resource object was passed | the target's URN                                                |
 *
 * So a value refers to a target when it is the target's URN, equals one of its identities
 * (physical name, ARN, id, logical name, the mock id `<logical>-id`), or is an ARN of the
 * target's kind built from one of those names. An unknown value refers to the targets its
 * property depends on; with no dependency information it "maybe" refers to any target, and
 * rules count "maybe" as satisfied so an unknown never produces a violation.
 */
import { canonicalType, isUnknown, PlanResource } from "./resource";

export type Match = "yes" | "no" | "maybe";

/** Input properties that hold a resource's own physical name or id. */
const NAME_KEYS = [
    "id",
    "arn",
    "bucket",
    "name",
    "functionName",
    "family",
    "stateMachineName",
    "computeEnvironmentName",
];

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** ARN shapes per target type, as functions of the target's name. */
const ARN_FORMS: Record<string, (name: string) => RegExp> = {
    "aws:s3/bucket:Bucket": (n) => new RegExp(`^arn:[\\w-]+:s3:::${esc(n)}$`),
    "aws:s3/bucketV2:BucketV2": (n) => new RegExp(`^arn:[\\w-]+:s3:::${esc(n)}$`),
    "aws:cloudwatch/logGroup:LogGroup": (n) => new RegExp(`^arn:[\\w-]+:logs:[\\w-]*:\\d*:log-group:${esc(n)}(:\\*)?$`),
    "aws:lb/loadBalancer:LoadBalancer": (n) =>
        new RegExp(`^arn:[\\w-]+:elasticloadbalancing:[\\w-]*:\\d*:loadbalancer/(app|net|gwy)/${esc(n)}/\\w+$`),
    "aws:lambda/function:Function": (n) =>
        new RegExp(`^arn:[\\w-]+:lambda:[\\w-]*:\\d*:function:${esc(n)}(:[\\w$-]+)?$`),
    "aws:wafv2/webAcl:WebAcl": (n) =>
        new RegExp(`^arn:[\\w-]+:wafv2:[\\w-]*:\\d*:(regional|global)/webacl/${esc(n)}/[\\w-]+$`),
    "aws:efs/fileSystem:FileSystem": (n) =>
        new RegExp(`^arn:[\\w-]+:elasticfilesystem:[\\w-]*:\\d*:file-system/${esc(n)}$`),
};

/** Strings that name `r`: URN, physical names/ids/ARN from its inputs, logical name, mock id. */
export function identities(r: PlanResource): string[] {
    const out = new Set<string>([r.urn, r.name, `${r.name}-id`]);
    for (const key of NAME_KEYS) {
        const v = r.inputs[key];
        if (typeof v === "string" && v !== "" && !isUnknown(v)) out.add(v);
    }
    return [...out];
}

/**
 * Whether `value`, found under the top-level property `key` of `holder`, refers to `target`.
 * `key` selects the property dependencies used when the value is unknown.
 */
export function refersTo(holder: PlanResource, key: string, value: unknown, target: PlanResource): Match {
    if (isUnknown(value)) {
        const deps = holder.propertyDependencies?.[key];
        if (deps === undefined) return "maybe";
        return deps.includes(target.urn) ? "yes" : "no";
    }
    if (typeof value !== "string" || value === "") return "no";
    const ids = identities(target);
    if (ids.includes(value)) return "yes";
    if (value.startsWith("arn:")) {
        const form = ARN_FORMS[canonicalType(target.type)];
        if (form && ids.some((id) => form(id).test(value))) return "yes";
        if (canonicalType(target.type) === "aws:apigateway/stage:Stage") return stageArnMatch(value, target);
    }
    return "no";
}

/** `arn:aws:apigateway:<region>::/restapis/<api>/stages/<stage>` against a Stage's inputs. */
function stageArnMatch(arn: string, stage: PlanResource): Match {
    const m = /:\/restapis\/([^/]+)\/stages\/([^/]+)$/.exec(arn);
    if (!m) return "no";
    const [, apiId, stageName] = m;
    const ownStage = stage.inputs.stageName;
    if (isUnknown(ownStage)) return "maybe";
    if (ownStage !== stageName) return "no";
    const api = stage.inputs.restApi;
    // A RestApi passed as an object arrives as its URN, and an unknown id cannot be compared:
    // the stage name alone then decides, optimistically.
    if (typeof api !== "string" || isUnknown(api) || api.startsWith("urn:pulumi:")) return "maybe";
    return api === apiId ? "yes" : "no";
}

/** The best match of `value` against `targets`: "yes" if one matches, else "maybe" if one might. */
export function matchAny(holder: PlanResource, key: string, value: unknown, targets: readonly PlanResource[]): Match {
    let best: Match = "no";
    for (const t of targets) {
        const m = refersTo(holder, key, value, t);
        if (m === "yes") return "yes";
        if (m === "maybe") best = "maybe";
    }
    return best;
}

/** Resources among `holders` whose property `key` (read with `read`) refers to `target`. */
export function referencing(
    holders: readonly PlanResource[],
    key: string,
    target: PlanResource,
    read: (h: PlanResource) => unknown = (h) => h.inputs[key],
): { resource: PlanResource; match: Match }[] {
    const out: { resource: PlanResource; match: Match }[] = [];
    for (const h of holders) {
        const m = refersTo(h, key, read(h), target);
        if (m !== "no") out.push({ resource: h, match: m });
    }
    return out;
}
