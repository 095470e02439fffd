/**
 * S3: the client-config bucket holds customer contact data (company, names, e-mail, phone).
 * Every bucket must be private, encrypted, reachable over TLS only, and expire its objects.
 * Separate configuration resources (public access block, SSE, policy, lifecycle) are matched to
 * their bucket through `bucket` (see ../lib/references.ts); inline bucket arguments count too.
 */
import { statementsOf } from "../lib/policyDocument";
import { Match, referencing } from "../lib/references";
import { asArray, describe, get, isKnown, isUnknown, ofType, parseJsonProperty, PlanResource } from "../lib/resource";
import { StackFinding, StackRule } from "../lib/rule";

export const BUCKET_TYPES = ["aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"];
const PAB = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock";
const ACCOUNT_PAB = "aws:s3/accountPublicAccessBlock:AccountPublicAccessBlock";
const SSE = [
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
];
const POLICY = "aws:s3/bucketPolicy:BucketPolicy";
const LIFECYCLE = [
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
    "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2",
];

const PAB_FLAGS = ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"] as const;
const PUBLIC_ACLS = ["public-read", "public-read-write", "authenticated-read"];
const SSE_ALGORITHMS = ["AES256", "aws:kms", "aws:kms:dsse"];

/** Flags of a public access block that are not `true` (unknown counts as true). */
function openFlags(pab: PlanResource): string[] {
    return PAB_FLAGS.filter((f) => pab.inputs[f] !== true && !isUnknown(pab.inputs[f]));
}

const candidates = (list: { resource: PlanResource; match: Match }[]) => list.map((x) => x.resource);

export const s3PublicAccessBlocked: StackRule = {
    scope: "stack",
    name: "s3-public-access-blocked",
    description: "Every S3 bucket has a BucketPublicAccessBlock with all four flags true, and no public canned ACL.",
    checkov: ["CKV2_AWS_6", "CKV_AWS_53", "CKV_AWS_54", "CKV_AWS_55", "CKV_AWS_56", "CKV_AWS_20", "CKV_AWS_57"],
    enforcementLevel: "mandatory",
    remediation:
        "Create aws.s3.BucketPublicAccessBlock({ bucket: bucket.id, blockPublicAcls, blockPublicPolicy, " +
        "ignorePublicAcls, restrictPublicBuckets: true }) and drop public ACLs.",
    check(resources) {
        const out: StackFinding[] = [];
        const pabs = ofType(resources, PAB);
        for (const pab of pabs) {
            const open = openFlags(pab);
            if (open.length)
                out.push({
                    urn: pab.urn,
                    message: `${describe(pab)} leaves ${open.map((f) => `\`${f}\``).join(", ")} not true`,
                });
        }
        const accountWide = ofType(resources, ACCOUNT_PAB).some((a) => openFlags(a).length === 0);
        for (const bucket of ofType(resources, ...BUCKET_TYPES)) {
            const acl = bucket.inputs.acl;
            if (typeof acl === "string" && PUBLIC_ACLS.includes(acl)) {
                out.push({ urn: bucket.urn, message: `${describe(bucket)} has the public canned ACL "${acl}"` });
            }
            if (accountWide) continue;
            if (referencing(pabs, "bucket", bucket).length === 0) {
                out.push({
                    urn: bucket.urn,
                    message: `${describe(bucket)} has no BucketPublicAccessBlock whose \`bucket\` refers to it`,
                });
            }
        }
        return out;
    },
};

function sseAlgorithmOk(algorithm: unknown): boolean {
    return isUnknown(algorithm) || (typeof algorithm === "string" && SSE_ALGORITHMS.includes(algorithm));
}

export const s3Encrypted: StackRule = {
    scope: "stack",
    name: "s3-encryption-at-rest",
    description:
        "Every S3 bucket has default server-side encryption (AES256, aws:kms or aws:kms:dsse) configured explicitly.",
    checkov: ["CKV_AWS_19"],
    enforcementLevel: "mandatory",
    remediation:
        "Create aws.s3.BucketServerSideEncryptionConfiguration({ bucket: bucket.id, " +
        'rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }] }).',
    check(resources) {
        const out: StackFinding[] = [];
        const configs = ofType(resources, ...SSE);
        for (const bucket of ofType(resources, ...BUCKET_TYPES)) {
            const inline = get(
                bucket.inputs,
                "serverSideEncryptionConfiguration",
                "rule",
                "applyServerSideEncryptionByDefault",
                "sseAlgorithm",
            );
            if (inline !== undefined && sseAlgorithmOk(inline)) continue;
            const mine = candidates(referencing(configs, "bucket", bucket));
            const ok = mine.some((c) => {
                const rules = c.inputs.rules;
                if (isUnknown(rules)) return true;
                return asArray(rules).some((r) =>
                    sseAlgorithmOk(get(r, "applyServerSideEncryptionByDefault", "sseAlgorithm")),
                );
            });
            if (!ok) {
                out.push({
                    urn: bucket.urn,
                    message: mine.length
                        ? `${describe(bucket)}: its encryption configuration sets no default algorithm ` +
                          `among ${SSE_ALGORITHMS.join(", ")}`
                        : `${describe(bucket)} has no server-side encryption configuration`,
                });
            }
        }
        return out;
    },
};

/** Whether a bucket policy document denies every S3 action over plain HTTP to everyone. */
function deniesInsecureTransport(policy: unknown): boolean | "unknown" {
    const parsed = parseJsonProperty(policy);
    if (parsed.kind === "unknown") return "unknown";
    if (parsed.kind !== "ok") return false;
    return statementsOf(parsed.value).some((s) => {
        if (s.effect !== "Deny") return false;
        const everyone =
            s.principal === "*" || get(s.principal, "AWS") === "*" || asArray(get(s.principal, "AWS")).includes("*");
        const allActions = s.actions.some((a) => a === "*" || a.toLowerCase() === "s3:*");
        const insecure = asArray(get(s.condition, "Bool", "aws:SecureTransport")).some(
            (v) => v === false || v === "false",
        );
        return everyone && allActions && insecure && s.resources.length > 0;
    });
}

export const s3TlsOnly: StackRule = {
    scope: "stack",
    name: "s3-tls-only-policy",
    description: "Every S3 bucket's policy denies s3:* to every principal when aws:SecureTransport is false.",
    checkov: ["CKV_AWS_379"],
    enforcementLevel: "mandatory",
    remediation:
        'Attach aws.s3.BucketPolicy with { Effect: "Deny", Principal: "*", Action: "s3:*", ' +
        "Resource: [bucketArn, `${bucketArn}/*`], " +
        'Condition: { Bool: { "aws:SecureTransport": "false" } } }.',
    check(resources) {
        const out: StackFinding[] = [];
        const policies = ofType(resources, POLICY);
        for (const bucket of ofType(resources, ...BUCKET_TYPES)) {
            const docs = [
                bucket.inputs.policy,
                ...candidates(referencing(policies, "bucket", bucket)).map((p) => p.inputs.policy),
            ].filter((d) => d !== undefined);
            if (docs.some((d) => deniesInsecureTransport(d) !== false)) continue;
            out.push({
                urn: bucket.urn,
                message: docs.length
                    ? `${describe(bucket)}: its bucket policy does not deny s3:* to "*" ` +
                      "when aws:SecureTransport is false"
                    : `${describe(bucket)} has no bucket policy, so requests over plain HTTP are not refused`,
            });
        }
        return out;
    },
};

/** A lifecycle rule that is enabled and expires something. */
function expiringRule(rule: unknown, inline: boolean): boolean {
    if (isUnknown(rule)) return true;
    const enabled = inline ? get(rule, "enabled") : get(rule, "status");
    if (!(enabled === true || enabled === "Enabled" || isUnknown(enabled))) return false;
    const expiration = get(rule, "expiration");
    return (
        isKnown(get(expiration, "days")) ||
        isKnown(get(expiration, "date")) ||
        isUnknown(expiration) ||
        isKnown(get(rule, "noncurrentVersionExpiration"))
    );
}

export const s3Lifecycle: StackRule = {
    scope: "stack",
    name: "s3-lifecycle-configured",
    description: "Every S3 bucket has a lifecycle configuration with at least one enabled rule that expires objects.",
    checkov: ["CKV2_AWS_61"],
    enforcementLevel: "mandatory",
    remediation:
        "Create aws.s3.BucketLifecycleConfiguration({ bucket: bucket.id, " +
        'rules: [{ id, status: "Enabled", expiration: { days } }] }).',
    check(resources) {
        const out: StackFinding[] = [];
        const configs = ofType(resources, ...LIFECYCLE);
        for (const bucket of ofType(resources, ...BUCKET_TYPES)) {
            const inline = bucket.inputs.lifecycleRules;
            if (isUnknown(inline) || asArray(inline).some((r) => expiringRule(r, true))) continue;
            const mine = candidates(referencing(configs, "bucket", bucket));
            const ok = mine.some(
                (c) => isUnknown(c.inputs.rules) || asArray(c.inputs.rules).some((r) => expiringRule(r, false)),
            );
            if (!ok) {
                out.push({
                    urn: bucket.urn,
                    message: mine.length
                        ? `${describe(bucket)}: its lifecycle configuration has no enabled rule with an expiration`
                        : `${describe(bucket)} has no lifecycle configuration, so objects are kept forever`,
                });
            }
        }
        return out;
    },
};

export const S3_RULES = [s3PublicAccessBlocked, s3Encrypted, s3TlsOnly, s3Lifecycle];
