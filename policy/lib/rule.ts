/**
 * Rule definitions and the offline evaluator. A rule is data (name, description, Checkov IDs,
 * enforcement level) plus one pure check function. Per-resource rules see one resource's inputs;
 * stack rules see every resource and are how "every X has a Y that refers to it" is expressed.
 * The CrossGuard pack wraps the same objects (`./crossguard.ts`), so what the tests prove about
 * a rule is what `pulumi preview --policy-pack policy` enforces.
 */
import { canonicalType, PlanResource } from "./resource";

export type EnforcementLevel = "mandatory" | "advisory";

/** Settings a rule may read; the CrossGuard pack fills them from the policy-pack config. */
export interface RuleConfig {
    /**
     * Actions that may be allowed on `Resource: "*"` because AWS offers no resource-level
     * permission for them. Compared case-insensitively.
     */
    readonly wildcardResourceActions: readonly string[];
}

interface RuleMeta {
    /** Unique, kebab-case; the CrossGuard policy name. */
    readonly name: string;
    /** What the rule requires, in one sentence. */
    readonly description: string;
    /** Checkov checks this rule mirrors (empty when Checkov has none). */
    readonly checkov: readonly string[];
    readonly enforcementLevel: EnforcementLevel;
    /** How to fix a violation. */
    readonly remediation: string;
}

export interface ResourceRule extends RuleMeta {
    readonly scope: "resource";
    /** Type tokens the rule applies to (legacy `aws:alb/` tokens are matched as `aws:lb/`). */
    readonly types: readonly string[];
    /** Violation messages for `r`; empty when it complies. Never includes secret values. */
    check(r: PlanResource, config: RuleConfig): string[];
}

export interface StackFinding {
    /** The offending resource, when there is one. */
    readonly urn?: string;
    readonly message: string;
}

export interface StackRule extends RuleMeta {
    readonly scope: "stack";
    check(resources: readonly PlanResource[], config: RuleConfig): StackFinding[];
}

export type Rule = ResourceRule | StackRule;

export interface Violation {
    readonly rule: string;
    readonly enforcementLevel: EnforcementLevel;
    readonly checkov: readonly string[];
    readonly urn?: string;
    readonly message: string;
}

export function appliesTo(rule: ResourceRule, type: string): boolean {
    return rule.types.includes(canonicalType(type));
}

/** Runs `rules` over `resources` exactly as the pack would during a preview. */
export function evaluate(resources: readonly PlanResource[], rules: readonly Rule[], config: RuleConfig): Violation[] {
    const out: Violation[] = [];
    for (const rule of rules) {
        const base = { rule: rule.name, enforcementLevel: rule.enforcementLevel, checkov: rule.checkov };
        if (rule.scope === "resource") {
            for (const r of resources) {
                if (!appliesTo(rule, r.type)) continue;
                for (const message of rule.check(r, config)) out.push({ ...base, urn: r.urn, message });
            }
        } else {
            for (const f of rule.check(resources, config)) out.push({ ...base, urn: f.urn, message: f.message });
        }
    }
    return out;
}

/** One line per violation, for test failures and CLI output. */
export function formatViolations(violations: readonly Violation[]): string {
    return violations
        .map((v) => {
            const checkov = v.checkov.length ? ` (${v.checkov.join(", ")})` : "";
            const at = v.urn ? `\n      at ${v.urn}` : "";
            return `  [${v.enforcementLevel}] ${v.rule}${checkov}: ${v.message}${at}`;
        })
        .join("\n");
}
