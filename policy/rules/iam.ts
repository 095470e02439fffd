/**
 * IAM: least privilege for every role and user the program creates. Statements are read from
 * identity-based documents (Policy, RolePolicy, UserPolicy, GroupPolicy, Role.inlinePolicies);
 * resource policies (bucket, topic, file system) are out of scope here because their
 * `Principal: "*"` Deny statements are how TLS-only access is enforced.
 */
import {
    actionMatches,
    conditionKeys,
    documentsOf,
    IAM_DOCUMENT_TYPES,
    Statement,
    statementLabel,
} from "../lib/policyDocument";
import { asArray, describe, isUnknown, PlanResource } from "../lib/resource";
import { ResourceRule, RuleConfig } from "../lib/rule";

/**
 * Actions AWS authorises only on `Resource: "*"` (no resource-level permissions; see the Service
 * Authorization Reference), which this program legitimately needs. Anything else on "*" is a
 * violation. Extend it through the pack config (`iam-no-wildcard-resource.allowedActions`).
 */
export const DEFAULT_WILDCARD_RESOURCE_ACTIONS: readonly string[] = [
    // X-Ray daemon / SDK (Lambda and Step Functions tracing).
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    // Pulling images: the token call has no resource; the pulls themselves are scoped to a repository.
    "ecr:GetAuthorizationToken",
    // Vended log delivery (Step Functions logging, API Gateway access logs).
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
    // Lambda in a VPC (the sync Lambda reaches RDS): ENI management is not resource-scoped; the actions are those of
    // the AWS managed policy AWSLambdaVPCAccessExecutionRole (v3, January 2024, which added ec2:DescribeSubnets).
    "ec2:CreateNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
    // spot-watch compares Spot with on-demand prices.
    "ec2:DescribeSpotPriceHistory",
    "ec2:DescribeInstanceTypes",
    "pricing:GetProducts",
    // Batch read APIs take no resource.
    "batch:DescribeJobs",
    "batch:ListJobs",
    "batch:DescribeJobQueues",
    "batch:DescribeComputeEnvironments",
    "batch:DescribeJobDefinitions",
    // Custom metrics are scoped by a cloudwatch:namespace condition, not a resource.
    "cloudwatch:PutMetricData",
    "cloudwatch:GetMetricData",
    "ecs:DescribeTaskDefinition",
    "sts:GetCallerIdentity",
];

const allowStatements = (r: PlanResource) =>
    documentsOf(r).flatMap((d) =>
        d.statements === "unknown"
            ? []
            : d.statements.filter((s) => s.effect === "Allow").map((s) => ({ doc: d.label, s })),
    );

const where = (r: PlanResource, doc: string, s: Statement) => `${describe(r)} ${doc} ${statementLabel(s)}`;

/** `*` or a whole service (`s3:*`). */
const FULL_WILDCARD = /^(\*|[a-z0-9-]+:\*)$/i;

export const iamNoWildcardAction: ResourceRule = {
    scope: "resource",
    name: "iam-no-wildcard-action",
    description: "No Allow statement grants `*`, a whole service (`s3:*`), or uses NotAction.",
    checkov: ["CKV_AWS_63", "CKV_AWS_62", "CKV2_AWS_40"],
    enforcementLevel: "mandatory",
    remediation: 'List the exact actions the principal calls (e.g. batch:SubmitJob), never "*" or "service:*".',
    types: IAM_DOCUMENT_TYPES,
    check(r) {
        const out: string[] = [];
        for (const d of documentsOf(r))
            if (d.error) out.push(`${describe(r)} ${d.label} is not valid JSON: ${d.error}`);
        for (const { doc, s } of allowStatements(r)) {
            const wild = s.actions.filter((a) => FULL_WILDCARD.test(a));
            if (wild.length) out.push(`${where(r, doc, s)} allows ${wild.map((a) => `"${a}"`).join(", ")}`);
            if (s.notActions.length)
                out.push(`${where(r, doc, s)} uses NotAction in an Allow, which grants every other action`);
        }
        return out;
    },
};

export const iamNoWildcardResource: ResourceRule = {
    scope: "resource",
    name: "iam-no-wildcard-resource",
    description:
        'No Allow statement uses `Resource: "*"` (or NotResource) except for actions on an explicit allow-list ' +
        "of actions AWS cannot scope.",
    checkov: ["CKV_AWS_355", "CKV_AWS_290"],
    enforcementLevel: "mandatory",
    remediation:
        "Scope the statement to ARNs (pulumi.interpolate`${bucket.arn}/client-config/*`); " +
        "if AWS offers no resource-level permission for the action, add it to the allow-list with a reason.",
    types: IAM_DOCUMENT_TYPES,
    check(r, config: RuleConfig) {
        const allowed = new Set(config.wildcardResourceActions.map((a) => a.toLowerCase()));
        const out: string[] = [];
        for (const { doc, s } of allowStatements(r)) {
            if (s.notResources.length)
                out.push(`${where(r, doc, s)} uses NotResource in an Allow, which grants every other resource`);
            if (!s.resources.includes("*")) continue;
            const offending = [...s.actions, ...s.notActions.map((a) => `NotAction ${a}`)].filter(
                (a) => !allowed.has(a.toLowerCase()),
            );
            if (offending.length) {
                out.push(
                    `${where(r, doc, s)} allows ${offending.map((a) => `"${a}"`).join(", ")} on Resource "*" ` +
                        "(not on the allow-list of actions AWS cannot scope)",
                );
            }
        }
        return out;
    },
};

export const iamPassRoleConditioned: ResourceRule = {
    scope: "resource",
    name: "iam-passrole-conditioned",
    description: "Every Allow of iam:PassRole names specific role ARNs and carries an iam:PassedToService condition.",
    // Checkov has no such check; CKV_AWS_286 (privilege escalation) only flags PassRole combined
    // with compute-creating actions.
    checkov: [],
    enforcementLevel: "mandatory",
    remediation:
        "Resource: [taskRole.arn, executionRole.arn], " +
        'Condition: { StringEquals: { "iam:PassedToService": "ecs-tasks.amazonaws.com" } }.',
    types: IAM_DOCUMENT_TYPES,
    check(r) {
        const out: string[] = [];
        for (const { doc, s } of allowStatements(r)) {
            const grants =
                s.actions.some((a) => actionMatches(a, "iam:PassRole")) ||
                (s.notActions.length > 0 && !s.notActions.some((a) => actionMatches(a, "iam:PassRole")));
            if (!grants) continue;
            if (!conditionKeys(s).some((k) => k.toLowerCase() === "iam:passedtoservice")) {
                out.push(`${where(r, doc, s)} allows iam:PassRole without an iam:PassedToService condition`);
            }
            if (
                s.resources.length === 0 ||
                s.resources.some((res) => res === "*" || /:role\/\*$/.test(res)) ||
                s.notResources.length
            ) {
                out.push(`${where(r, doc, s)} allows iam:PassRole on any role; list the role ARNs it may pass`);
            }
        }
        return out;
    },
};

/** The ARN prefix of every AWS-managed policy, in any partition. */
const AWS_MANAGED_POLICY_PREFIX = String.raw`arn:[\w-]+:iam::aws:policy\/`;
/** The optional path between `policy/` and the name: `service-role/`, `job-function/`, … */
const POLICY_PATH = String.raw`(?:[\w+=,.@-]+\/)*`;
/** Names that grant administrator, power-user or whole-service access (captured). */
const BROAD_POLICY_NAME = String.raw`(AdministratorAccess[\w-]*|PowerUserAccess|[\w-]*FullAccess[\w-]*)`;

/** AWS-managed policies that grant administrator, power-user or full-service access. */
export const BROAD_MANAGED_POLICY = new RegExp(`^${AWS_MANAGED_POLICY_PREFIX}${POLICY_PATH}${BROAD_POLICY_NAME}$`);

/** Where each attachment type keeps its managed-policy ARNs. */
const MANAGED_POLICY_PROPERTIES: Record<string, string> = {
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": "policyArn",
    "aws:iam/userPolicyAttachment:UserPolicyAttachment": "policyArn",
    "aws:iam/groupPolicyAttachment:GroupPolicyAttachment": "policyArn",
    "aws:iam/policyAttachment:PolicyAttachment": "policyArn",
    "aws:iam/role:Role": "managedPolicyArns",
    "aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive": "policyArns",
    "aws:iam/userPolicyAttachmentsExclusive:UserPolicyAttachmentsExclusive": "policyArns",
    "aws:iam/groupPolicyAttachmentsExclusive:GroupPolicyAttachmentsExclusive": "policyArns",
};

export const iamNoBroadManagedPolicies: ResourceRule = {
    scope: "resource",
    name: "iam-no-broad-managed-policies",
    description:
        "No role, user or group gets the AWS-managed AdministratorAccess, PowerUserAccess or any *FullAccess policy.",
    checkov: ["CKV_AWS_274", "CKV2_AWS_56"],
    enforcementLevel: "mandatory",
    remediation:
        "Replace the managed policy with an inline policy listing the needed actions on the component's own ARNs " +
        "(CallbackFunction: pass `role`, never rely on its default policies).",
    types: Object.keys(MANAGED_POLICY_PROPERTIES),
    check(r) {
        const prop = MANAGED_POLICY_PROPERTIES[r.type];
        const value = r.inputs[prop];
        if (isUnknown(value)) return [];
        return asArray(value)
            .filter((arn): arn is string => typeof arn === "string" && BROAD_MANAGED_POLICY.test(arn))
            .map((arn) => `${describe(r)} attaches the AWS-managed policy ${arn.slice(arn.indexOf(":policy/") + 1)}`);
    },
};

export const IAM_RULES = [
    iamNoWildcardAction,
    iamNoWildcardResource,
    iamPassRoleConditioned,
    iamNoBroadManagedPolicies,
];
