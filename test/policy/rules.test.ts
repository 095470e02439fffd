import { strict as assert } from "assert";
import { PlanResource } from "../../policy/lib/resource";
import { evaluate, formatViolations, Rule, Violation } from "../../policy/lib/rule";
import { checkPlan, DEFAULT_CONFIG, RULES } from "../../policy/rules";
import { FIXTURES } from "./fixtures";
import { res } from "./fixtures/build";
import { DISPATCHER_POLICY_WITH } from "./fixtures/iam";
import { SECRET_VALUES_IN_FIXTURES } from "./fixtures/lambda";
import { WEATHER_ALB } from "./fixtures/alb";

const ruleNamed = (name: string): Rule => {
    const rule = RULES.find((r) => r.name === name);
    if (!rule) throw new Error(`no rule named ${name}`);
    return rule;
};
const violationsOf = (rule: Rule, resources: PlanResource[]): Violation[] =>
    evaluate(resources, [rule], DEFAULT_CONFIG);

describe("policy rules (offline, hand-written fixtures)", () => {
    it("has a passing and a failing fixture for every rule, and no fixture for a rule that does not exist", () => {
        const ruleNames = RULES.map((r) => r.name).sort();
        const fixtureNames = FIXTURES.map((f) => f.rule).sort();
        assert.deepEqual(fixtureNames, ruleNames);
        for (const f of FIXTURES) assert.ok(f.fail.length > 0 && f.pass.length > 0, `${f.rule} needs both fixtures`);
    });

    it("names every rule uniquely, documents it and gives it a Checkov ID where one exists", () => {
        assert.equal(new Set(RULES.map((r) => r.name)).size, RULES.length);
        for (const r of RULES) {
            assert.match(r.name, /^[a-z0-9]+(-[a-z0-9]+)*$/);
            assert.ok(r.description.length > 20 && r.remediation.length > 20, `${r.name} is documented`);
            for (const id of r.checkov) assert.match(id, /^CKV2?_AWS_\d+$/);
        }
    });

    for (const f of FIXTURES) {
        describe(f.rule, () => {
            const rule = ruleNamed(f.rule);

            it("passes its compliant fixture", () => {
                const v = violationsOf(rule, f.pass);
                assert.equal(v.length, 0, `unexpected violations:\n${formatViolations(v)}`);
            });

            for (const c of f.fail) {
                it(`reports ${c.case}`, () => {
                    const v = violationsOf(rule, c.resources);
                    assert.ok(v.length > 0, `${f.rule} reported nothing for "${c.case}"`);
                    assert.ok(
                        v.some((x) => c.expect.test(x.message)),
                        `no message matches ${c.expect}; got:\n${formatViolations(v)}`,
                    );
                    for (const x of v) {
                        assert.equal(x.enforcementLevel, rule.enforcementLevel);
                        assert.ok(
                            x.urn === undefined || c.resources.some((r) => r.urn === x.urn),
                            `violation points at an unknown URN ${x.urn}`,
                        );
                    }
                });
            }

            for (const u of f.unknown ?? []) {
                it(`does not report values unknown during preview: ${u.case}`, () => {
                    const v = violationsOf(rule, u.resources);
                    assert.equal(v.length, 0, `false positive on unknown values:\n${formatViolations(v)}`);
                });
            }
        });
    }

    it("finds no violation of any rule in all compliant fixtures planned together", () => {
        const byUrn = new Map<string, PlanResource>();
        for (const f of FIXTURES) for (const r of f.pass) byUrn.set(r.urn, r);
        const v = checkPlan([...byUrn.values()]);
        assert.equal(v.length, 0, formatViolations(v));
        assert.ok(byUrn.size >= 35, `only ${byUrn.size} resources`);
    });

    it("never repeats a secret value in a violation message", () => {
        const messages = FIXTURES.flatMap((f) => f.fail.flatMap((c) => checkPlan(c.resources).map((v) => v.message)));
        for (const secret of SECRET_VALUES_IN_FIXTURES) {
            assert.ok(!messages.some((m) => m.includes(secret)), `a message contains a secret value`);
        }
    });

    it('allows more actions on Resource "*" when the allow-list is extended', () => {
        const rule = ruleNamed("iam-no-wildcard-resource");
        const resources = DISPATCHER_POLICY_WITH("SubmitJobs", {
            Sid: "SubmitJobs",
            Effect: "Allow",
            Action: "batch:SubmitJob",
            Resource: "*",
        });
        assert.equal(evaluate(resources, [rule], DEFAULT_CONFIG).length, 1);
        const extended = {
            ...DEFAULT_CONFIG,
            wildcardResourceActions: [...DEFAULT_CONFIG.wildcardResourceActions, "BATCH:submitjob"],
        };
        assert.equal(evaluate(resources, [rule], extended).length, 0);
    });

    it("treats legacy aws:alb/* type tokens as aws:lb/*", () => {
        const legacy = WEATHER_ALB.map((r) => ({ ...r, type: r.type.replace("aws:lb/", "aws:alb/") }));
        assert.equal(checkPlan(legacy).length, 0);
        const insecure = legacy.map((r) =>
            r.name === "weather-https" ? { ...r, inputs: { ...r.inputs, sslPolicy: "ELBSecurityPolicy-2016-08" } } : r,
        );
        assert.deepEqual(
            checkPlan(insecure).map((v) => v.rule),
            ["alb-listener-secure"],
        );
    });

    it("ignores resource types no rule covers", () => {
        const topic = res("aws:sns/topic:Topic", "alerts", {
            name: "ops-platform-stg-alerts",
            policy: JSON.stringify({ Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }] }),
        });
        assert.deepEqual(checkPlan([topic]), []);
    });
});
