import { strict as assert } from "assert";
import { PlanResource } from "../../policy/lib/resource";
import { appliesTo, formatViolations } from "../../policy/lib/rule";
import { checkPlan, RULES } from "../../policy/rules";
import { listStacks } from "../../scripts/lib/offlineEngine";
import { planFor } from "../harness";

/**
 * Known-bad edits of real plan resources, one per rule family: applied to whatever the program
 * plans today, each must be caught by its rule. As components land, more of them apply.
 */
const REGRESSIONS: {
    rule: string;
    type: string;
    what: string;
    edit: (r: PlanResource, all: PlanResource[]) => PlanResource[];
}[] = [
    {
        rule: "log-group-retention",
        type: "aws:cloudwatch/logGroup:LogGroup",
        what: "retention removed",
        edit: (r, all) => swap(all, r, { retentionInDays: undefined }),
    },
    {
        rule: "alb-listener-secure",
        type: "aws:lb/listener:Listener",
        what: "TLS 1.0 policy on HTTPS / forwarding HTTP",
        edit: (r, all) =>
            swap(
                all,
                r,
                r.inputs.protocol === "HTTPS"
                    ? { sslPolicy: "ELBSecurityPolicy-2016-08" }
                    : {
                          defaultActions: [
                              {
                                  type: "forward",
                                  targetGroupArn:
                                      "arn:aws:elasticloadbalancing:ap-northeast-1:123456789012:targetgroup/x/0",
                              },
                          ],
                      },
            ),
    },
    {
        rule: "alb-drop-invalid-headers",
        type: "aws:lb/loadBalancer:LoadBalancer",
        what: "invalid headers kept",
        edit: (r, all) => swap(all, r, { dropInvalidHeaderFields: false }),
    },
    {
        rule: "efs-encrypted-at-rest",
        type: "aws:efs/fileSystem:FileSystem",
        what: "unencrypted",
        edit: (r, all) => swap(all, r, { encrypted: false }),
    },
    {
        rule: "containers-non-privileged",
        type: "aws:ecs/taskDefinition:TaskDefinition",
        what: "privileged container",
        edit: (r, all) =>
            swap(all, r, {
                containerDefinitions: JSON.stringify(
                    (JSON.parse(String(r.inputs.containerDefinitions)) as object[]).map((c) => ({
                        ...c,
                        privileged: true,
                    })),
                ),
            }),
    },
    {
        rule: "iam-no-wildcard-action",
        type: "aws:iam/rolePolicy:RolePolicy",
        what: "Action * added",
        edit: (r, all) => {
            const doc = JSON.parse(String(r.inputs.policy)) as { Statement: unknown[] };
            return swap(all, r, {
                policy: JSON.stringify({
                    ...doc,
                    Statement: [...doc.Statement, { Effect: "Allow", Action: "*", Resource: "*" }],
                }),
            });
        },
    },
    {
        rule: "s3-public-access-blocked",
        type: "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
        what: "public access block removed",
        edit: (r, all) => all.filter((x) => x !== r),
    },
    {
        rule: "lambda-xray-tracing",
        type: "aws:lambda/function:Function",
        what: "tracing removed",
        edit: (r, all) => swap(all, r, { tracingConfig: undefined }),
    },
    {
        rule: "lambda-explicit-configuration",
        type: "aws:lambda/function:Function",
        what: "timeout removed",
        edit: (r, all) => swap(all, r, { timeout: undefined }),
    },
    {
        rule: "apigateway-methods-iam-auth",
        type: "aws:apigateway/method:Method",
        what: "authorization NONE",
        edit: (r, all) => swap(all, r, { authorization: "NONE" }),
    },
    {
        rule: "apigateway-waf-attached",
        type: "aws:wafv2/webAclAssociation:WebAclAssociation",
        what: "WAF association removed",
        edit: (r, all) => all.filter((x) => x !== r),
    },
    {
        rule: "sfn-logging-and-tracing",
        type: "aws:sfn/stateMachine:StateMachine",
        what: "tracing off",
        edit: (r, all) => swap(all, r, { tracingConfiguration: { enabled: false } }),
    },
    {
        rule: "batch-retry-and-timeout",
        type: "aws:batch/jobDefinition:JobDefinition",
        what: "timeout removed",
        edit: (r, all) => swap(all, r, { timeout: undefined }),
    },
];

function swap(all: PlanResource[], r: PlanResource, changes: Record<string, unknown>): PlanResource[] {
    const inputs: Record<string, unknown> = { ...r.inputs };
    for (const [k, v] of Object.entries(changes)) {
        if (v === undefined) delete inputs[k];
        else inputs[k] = v;
    }
    return all.map((x) => (x === r ? { ...r, inputs } : x));
}

describe("policy rules on both stacks' offline plans", function () {
    this.timeout(120000);
    const stacks = listStacks();

    it("plans both stg and prd", () => {
        assert.deepEqual(stacks, ["prd", "stg"]);
    });

    for (const stack of stacks) {
        it(`finds zero mandatory violations in ${stack}`, async () => {
            const plan = await planFor(stack);
            const violations = checkPlan(plan.resources);
            const mandatory = violations.filter((v) => v.enforcementLevel === "mandatory");
            assert.equal(
                mandatory.length,
                0,
                `${stack}: ${mandatory.length} mandatory policy violation(s):\n${formatViolations(mandatory)}`,
            );
            // Not vacuous: the rules have real resources to judge.
            const covered = plan.resources.filter((r) =>
                RULES.some((rule) => rule.scope === "resource" && appliesTo(rule, r.type)),
            );
            assert.ok(covered.length >= 5, `${stack}: only ${covered.length} resources are covered by a rule`);
        });

        it(`catches known-bad edits of the real ${stack} plan`, async () => {
            const plan = await planFor(stack);
            let applied = 0;
            for (const reg of REGRESSIONS) {
                const target = plan.resources.find((r) => r.type === reg.type);
                if (!target) continue;
                applied++;
                const rules = checkPlan(reg.edit(target, plan.resources)).map((v) => v.rule);
                assert.ok(
                    rules.includes(reg.rule),
                    `${reg.rule} missed "${reg.what}" on ${target.urn}; got: ${rules.join(", ") || "nothing"}`,
                );
            }
            assert.ok(applied >= 5, `only ${applied} regressions apply to the ${stack} plan`);
        });
    }
});
