/**
 * The one resource shape every rule reads: the offline plan's (DESIGN.md "Offline plan"),
 * `{ urn, type, name, parent, provider, custom, inputs }`, plus the property dependencies a
 * `pulumi preview` can supply. Rules are pure functions over this shape, so the same code runs in
 * the mocha suite against `npm run plan` output and inside the CrossGuard pack (see
 * `./crossguard.ts`, which converts CrossGuard's arguments into it).
 *
 * Nothing in `policy/lib` or `policy/rules` imports `@pulumi/*` at runtime: the rules load in a
 * plain Node process and in the policy-pack process alike.
 */

/** A resource as the rules see it. */
export interface PlanResource {
    readonly urn: string;
    /** Pulumi type token, e.g. `aws:s3/bucket:Bucket`. */
    readonly type: string;
    /** Logical (Pulumi) name. */
    readonly name: string;
    readonly parent?: string | null;
    readonly provider?: string | null;
    readonly custom?: boolean;
    /**
     * Input properties as camelCase JSON. JSON-document properties (IAM `policy`, ECS
     * `containerDefinitions`) are strings. Values not known yet (during `pulumi preview`) are
     * {@link UNKNOWN}; secrets in the offline plan are {@link SECRET}.
     */
    readonly inputs: Readonly<Record<string, unknown>>;
    /**
     * URNs each top-level property depends on. `pulumi preview` supplies them, so a reference
     * whose value is still unknown (a new bucket's id) can be resolved to the resource it names.
     * The offline plan leaves this out: there every reference has a concrete mock value.
     */
    readonly propertyDependencies?: Readonly<Record<string, readonly string[]>>;
}

/**
 * Stands for a value `pulumi preview` cannot know yet (a computed ARN of a resource still to be
 * created). It is deliberately not `undefined`: "absent" must fail a presence rule ("a Lambda
 * needs an explicit role") while "not known yet" must not. Rules treat it as "cannot judge" and
 * never report a violation because of it.
 */
export const UNKNOWN = "[unknown]";

/** The offline plan's stand-in for every secret value (scripts/lib/offlineEngine.ts). */
export const SECRET = "[secret]";

export const isUnknown = (v: unknown): boolean => v === UNKNOWN;

/** True when the value is set, including when it is set but not known yet. */
export const isSet = (v: unknown): boolean => v !== undefined && v !== null && v !== "";

/** True when the value is set and known. */
export const isKnown = (v: unknown): boolean => isSet(v) && !isUnknown(v);

/** Nested property access; stops at the first unknown value and returns {@link UNKNOWN}. */
export function get(obj: unknown, ...path: (string | number)[]): unknown {
    let cur: unknown = obj;
    for (const key of path) {
        if (isUnknown(cur)) return UNKNOWN;
        if (cur === null || cur === undefined || typeof cur !== "object") return undefined;
        cur = (cur as Record<string | number, unknown>)[key];
    }
    return cur;
}

/**
 * `obj[key]` when `obj` is an object, else undefined: optional chaining over parsed JSON. Unlike
 * {@link get} it gives {@link UNKNOWN} no special meaning.
 */
export function prop(obj: unknown, key: string | number): unknown {
    return typeof obj === "object" && obj !== null ? (obj as Record<string | number, unknown>)[key] : undefined;
}

/** A property value as messages show it: strings as they are, anything else as JSON. */
export function display(v: unknown): string {
    return typeof v === "string" ? v : (JSON.stringify(v) ?? String(v));
}

/** `v` as an array: a single value becomes `[v]`, absent becomes `[]`. */
export function asArray(v: unknown): unknown[] {
    if (v === undefined || v === null) return [];
    return Array.isArray(v) ? v : [v];
}

/** Result of reading a JSON-document property; an `ok` value is parsed JSON, to be narrowed before use. */
export type Parsed =
    { kind: "absent" } | { kind: "unknown" } | { kind: "invalid"; error: string } | { kind: "ok"; value: unknown };

/**
 * Reads a property that holds a JSON document: a string in the plan and in preview, or an
 * object when a program passed one (the AWS provider accepts both for IAM documents).
 */
export function parseJsonProperty(v: unknown): Parsed {
    if (v === undefined || v === null || v === "") return { kind: "absent" };
    if (isUnknown(v)) return { kind: "unknown" };
    if (typeof v === "object") return { kind: "ok", value: v };
    if (typeof v !== "string") return { kind: "invalid", error: `expected a JSON string, got ${typeof v}` };
    try {
        return { kind: "ok", value: JSON.parse(v) as unknown };
    } catch (e) {
        return { kind: "invalid", error: (e as Error).message };
    }
}

/** `aws:lb/listener:Listener` → `lb/listener`; legacy `aws:alb/...` tokens are folded into `aws:lb/...`. */
export function canonicalType(type: string): string {
    return type.replace(/^aws:alb\//, "aws:lb/");
}

export function ofType(resources: readonly PlanResource[], ...types: string[]): PlanResource[] {
    const wanted = new Set(types);
    return resources.filter((r) => wanted.has(canonicalType(r.type)));
}

/** `"Name" (type)`: how messages name a resource; never includes property values. */
export function describe(r: PlanResource): string {
    return `${r.type.split(":").pop()} '${r.name}'`;
}
