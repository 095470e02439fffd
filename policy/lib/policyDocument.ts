/**
 * IAM policy documents as the rules read them: every statement with Action/Resource lists
 * normalised, whichever of the accepted spellings a program used.
 */
import { asArray, isUnknown, parseJsonProperty, PlanResource, prop } from "./resource";

export interface Statement {
    readonly sid?: string;
    readonly effect: "Allow" | "Deny";
    readonly actions: string[];
    readonly notActions: string[];
    readonly resources: string[];
    readonly notResources: string[];
    readonly principal: unknown;
    readonly condition: Record<string, Record<string, unknown>>;
    /** Position in the document, for messages. */
    readonly index: number;
}

/** Where a document came from, for messages: `RolePolicy 'x' policy`, `Role 'y' inlinePolicies[0]`. */
export interface DocumentSource {
    readonly label: string;
    readonly statements: Statement[] | "unknown";
    readonly error?: string;
}

const strings = (v: unknown): string[] => asArray(v).filter((x): x is string => typeof x === "string");

/** The statements of a parsed policy document (anything else has none). */
export function statementsOf(doc: unknown): Statement[] {
    return asArray(prop(doc, "Statement")).map((s, index): Statement => {
        const sid = prop(s, "Sid");
        const condition = prop(s, "Condition");
        return {
            sid: typeof sid === "string" ? sid : undefined,
            effect: prop(s, "Effect") === "Deny" ? "Deny" : "Allow",
            actions: strings(prop(s, "Action")),
            notActions: strings(prop(s, "NotAction")),
            resources: strings(prop(s, "Resource")),
            notResources: strings(prop(s, "NotResource")),
            principal: prop(s, "Principal"),
            // Operator → condition key → value(s), as IAM documents nest them.
            condition: condition && typeof condition === "object" ? (condition as Statement["condition"]) : {},
            index,
        };
    });
}

/** Identity-based policy documents carried by IAM resources, keyed by type. */
const DOCUMENT_PROPERTIES: Record<string, string> = {
    "aws:iam/policy:Policy": "policy",
    "aws:iam/rolePolicy:RolePolicy": "policy",
    "aws:iam/userPolicy:UserPolicy": "policy",
    "aws:iam/groupPolicy:GroupPolicy": "policy",
};

/** Resource types whose inputs carry identity-based policy documents. */
export const IAM_DOCUMENT_TYPES = [...Object.keys(DOCUMENT_PROPERTIES), "aws:iam/role:Role"];

function read(label: string, value: unknown): DocumentSource | undefined {
    const parsed = parseJsonProperty(value);
    switch (parsed.kind) {
        case "absent":
            return undefined;
        case "unknown":
            return { label, statements: "unknown" };
        case "invalid":
            return { label, statements: [], error: parsed.error };
        case "ok":
            return { label, statements: statementsOf(parsed.value) };
    }
}

/** The identity-based documents of `r` (not its trust policy). */
export function documentsOf(r: PlanResource): DocumentSource[] {
    const property = DOCUMENT_PROPERTIES[r.type];
    if (property) {
        const d = read(`\`${property}\``, r.inputs[property]);
        return d ? [d] : [];
    }
    if (r.type === "aws:iam/role:Role") {
        const inline = r.inputs.inlinePolicies;
        if (isUnknown(inline)) return [{ label: "`inlinePolicies`", statements: "unknown" }];
        return asArray(inline).flatMap((p, i) => {
            const name = prop(p, "name");
            const d = read(
                `\`inlinePolicies[${i}]\`${typeof name === "string" ? ` (${name})` : ""}`,
                isUnknown(p) ? p : prop(p, "policy"),
            );
            return d ? [d] : [];
        });
    }
    return [];
}

/** `Statement 2 (Sid "Logs")`. */
export function statementLabel(s: Statement): string {
    return `statement ${s.index}${s.sid ? ` (Sid "${s.sid}")` : ""}`;
}

/** IAM action matching: case-insensitive, `*` and `?` wildcards in the pattern. */
export function actionMatches(pattern: string, action: string): boolean {
    const re = new RegExp(
        `^${pattern
            .replace(/[.+^${}()|[\]\\]/g, "\\$&")
            .replace(/\*/g, ".*")
            .replace(/\?/g, ".")}$`,
        "i",
    );
    return re.test(action);
}

/** Condition keys used anywhere in a statement's Condition block (operator-independent). */
export function conditionKeys(s: Statement): string[] {
    return Object.values(s.condition).flatMap((block) =>
        block && typeof block === "object" ? Object.keys(block) : [],
    );
}

/** Values of one condition key under any operator. */
export function conditionValues(s: Statement, key: string): unknown[] {
    const out: unknown[] = [];
    for (const block of Object.values(s.condition)) {
        if (!block || typeof block !== "object") continue;
        for (const [k, v] of Object.entries(block)) if (k.toLowerCase() === key.toLowerCase()) out.push(...asArray(v));
    }
    return out;
}
