/**
 * The adapter between CrossGuard and the pure rules: converts `validateResource` /
 * `validateStack` arguments into {@link PlanResource}s and rules into CrossGuard policies.
 *
 * What differs from the offline plan, and how it is bridged:
 * - CrossGuard hands props through a proxy that throws on unknown values. The adapter reads the
 *   proxy's target instead and replaces the engine's unknown sentinels with {@link UNKNOWN}, so a
 *   rule decides what "not known yet" means instead of the whole policy turning advisory.
 * - `validateStack` sees outputs and `propertyDependencies`; the latter become
 *   `PlanResource.propertyDependencies` (URNs), which resolve references to new resources.
 * - Assets and archives (Lambda code) become `{ archive: true }` / `{ asset: true }` markers:
 *   no rule reads code, and walking large archives on every resource would be wasteful.
 */
import type {
    Policies,
    PolicyResource,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
} from "@pulumi/policy";
import { PlanResource, UNKNOWN } from "./resource";
import { appliesTo, Rule, RuleConfig } from "./rule";

/** The engine's unknown-value sentinels (`@pulumi/policy` proxy.js; the engine sends the string one). */
export const ENGINE_UNKNOWNS: ReadonlySet<string> = new Set([
    "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7",
    "3eeb2bf0-c639-47a8-9e75-3b44932eb421",
    "04da6b54-80e4-46f7-96ec-b56ff0331ba9",
    "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2",
    "030794c1-ac77-496b-92df-f27374a8bd58",
    "e48ece36-62e2-4504-bad9-02848725956a",
    "dd056dcd-154b-4c76-9bd3-c8f88648b5ff",
]);

/** Key under which `@pulumi/policy`'s unknown-checking proxy returns its target. */
const PROXY_TARGET = "__getSpecialProxyTarget";

/** Plain JSON from CrossGuard props: proxies unwrapped, unknowns → UNKNOWN, assets → markers. */
export function plainProps(value: unknown): unknown {
    if (value === null || value === undefined) return value;
    if (typeof value === "string") return ENGINE_UNKNOWNS.has(value) ? UNKNOWN : value;
    if (typeof value !== "object") return value;
    const target = (value as Record<string, unknown>)[PROXY_TARGET];
    const raw = (target && typeof target === "object" ? target : value) as Record<string, unknown>;
    if (raw.__pulumiArchive === true) return { archive: true };
    if (raw.__pulumiAsset === true) return { asset: true };
    if (Array.isArray(raw)) return raw.map(plainProps);
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(raw)) {
        if (raw[key] !== undefined) out[key] = plainProps(raw[key]);
    }
    return out;
}

/** A `validateResource` argument as a plan resource. */
export function fromResourceArgs(
    args: Pick<ResourceValidationArgs, "type" | "props" | "urn" | "name"> & {
        opts?: { parent?: string };
        provider?: { urn: string };
    },
): PlanResource {
    return {
        urn: args.urn,
        type: args.type,
        name: args.name,
        parent: args.opts?.parent ?? null,
        provider: args.provider?.urn ?? null,
        custom: true,
        inputs: plainProps(args.props) as Record<string, unknown>,
    };
}

/** A `validateStack` resource as a plan resource, with its property dependencies as URNs. */
export function fromPolicyResource(
    r: Pick<PolicyResource, "type" | "props" | "urn" | "name" | "parent" | "provider" | "propertyDependencies">,
): PlanResource {
    const deps: Record<string, string[]> = {};
    for (const [key, list] of Object.entries(r.propertyDependencies ?? {})) deps[key] = list.map((d) => d.urn);
    return {
        urn: r.urn,
        type: r.type,
        name: r.name,
        parent: r.parent?.urn ?? null,
        provider: r.provider?.urn ?? null,
        custom: true,
        inputs: plainProps(r.props) as Record<string, unknown>,
        propertyDependencies: deps,
    };
}

/** Pack configuration a policy may receive (`pulumi preview --policy-pack-config`). */
interface PolicyConfigValues {
    allowedActions?: string[];
}

function configFrom(base: RuleConfig, values: PolicyConfigValues): RuleConfig {
    return values.allowedActions
        ? { ...base, wildcardResourceActions: [...base.wildcardResourceActions, ...values.allowedActions] }
        : base;
}

function docs(rule: Rule): string {
    return `${rule.description}${rule.checkov.length ? ` Mirrors Checkov ${rule.checkov.join(", ")}.` : ""}`;
}

/** One CrossGuard policy per rule; resource rules validate resources, stack rules the stack. */
export function toPolicies(rules: readonly Rule[], base: RuleConfig): Policies {
    return rules.map((rule) => {
        const common = {
            name: rule.name,
            description: docs(rule),
            enforcementLevel: rule.enforcementLevel,
            remediationSteps: rule.remediation,
            tags: rule.checkov.length ? [...rule.checkov] : undefined,
        };
        const configSchema =
            rule.name === "iam-no-wildcard-resource"
                ? {
                      properties: {
                          allowedActions: {
                              type: "array" as const,
                              items: { type: "string" as const },
                              description: 'Extra actions allowed on Resource "*".',
                          },
                      },
                  }
                : undefined;
        if (rule.scope === "resource") {
            const policy: ResourceValidationPolicy = {
                ...common,
                configSchema,
                validateResource: (args: ResourceValidationArgs, report) => {
                    if (!appliesTo(rule, args.type)) return;
                    const config = configFrom(base, args.getConfig<PolicyConfigValues>());
                    for (const message of rule.check(fromResourceArgs(args), config)) report(message);
                },
            };
            return policy;
        }
        const policy: StackValidationPolicy = {
            ...common,
            configSchema,
            validateStack: (args: StackValidationArgs, report) => {
                const config = configFrom(base, args.getConfig<PolicyConfigValues>());
                const resources = args.resources.map(fromPolicyResource);
                for (const f of rule.check(resources, config)) report(f.message, f.urn);
            },
        };
        return policy;
    });
}
