/**
 * What the Pulumi CLI does with Pulumi.yaml and Pulumi.<stack>.yaml before it starts the program, reproduced so
 * the offline plan fails where `pulumi preview` would.
 *
 * Source: pulumi/pulumi at the CLI version the workflows pin (README "First deploy"):
 * - `sdk/go/common/workspace/project.go` `(*Project).Validate`, `ValidateConfigValue`, `InferFullTypeName`, and
 *   the project schema `sdk/go/common/workspace/project.json` (`simpleConfigType`, `configItemsType`);
 * - `pkg/workspace/config.go` `ValidateStackConfigAndApplyProjectConfig` → `mergeConfig`,
 *   `validateStackConfigValue`, `createConfigValue`, `missingStackConfigurationKeysError`;
 * - `sdk/go/common/resource/config/object.go` `MarshalString` (how a stack-file YAML value becomes the string the
 *   program receives) and `key.go` `ParseKey`.
 * Each error keeps the CLI's own sentence, then adds what this project's messages always carry: the key, the
 * value and the fix.
 *
 * Not reproduced: ESC environments (this project's stacks have none) and the type check of `secure:` values, whose
 * ciphertext only the stack's secrets provider can decrypt. The CLI does not reject stack keys the project does not
 * declare (mergeConfig only walks declared keys), so neither does this.
 */
import { parse as parseYaml } from "yaml";

const SIMPLE_TYPES = ["string", "integer", "boolean", "array", "object"] as const;

export interface ConfigItemsType {
    readonly type: string;
    readonly items?: ConfigItemsType;
}

/** One entry of Pulumi.yaml `config:` in its long form. */
export interface ProjectConfigType {
    readonly type?: string;
    readonly items?: ConfigItemsType;
    readonly description?: string;
    readonly default?: unknown;
    readonly value?: unknown;
    readonly secret?: boolean;
}

export interface ProjectFile {
    readonly name: string;
    readonly config?: Readonly<Record<string, unknown>>;
}

/** A stack-file value as the CLI holds it: the text the program receives, and whether it was `secure:`. */
export interface StackValue {
    readonly text: string;
    readonly secure: boolean;
    /** Arrays and maps travel as JSON text (`config.Value.Object()`). */
    readonly object: boolean;
}

/** The merged configuration the CLI hands the program: fully qualified key → value. */
export type MergedConfig = Map<string, StackValue>;

/** The CLI refused the project or stack configuration; `message` starts with the CLI's own sentence. */
export class StackConfigError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "StackConfigError";
    }
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
    v !== null && typeof v === "object" && !Array.isArray(v);

/** `{ secure: "v1:…" }` is how a stack file stores an encrypted value (`config.CiphertextSecret`). */
const isSecure = (v: unknown): boolean =>
    isPlainObject(v) && Object.keys(v).length === 1 && typeof v.secure === "string";

/**
 * `object.MarshalString`: strings as they are, booleans and numbers as JSON text, arrays and maps as JSON with the
 * object flag. Secure values keep their ciphertext (the text is unknown offline).
 */
export function stackValueOf(raw: unknown): StackValue {
    if (isSecure(raw)) return { text: (raw as { secure: string }).secure, secure: true, object: false };
    if (typeof raw === "string") return { text: raw, secure: false, object: false };
    if (typeof raw === "boolean" || typeof raw === "number")
        return { text: JSON.stringify(raw), secure: false, object: false };
    if (raw === null || raw === undefined) return { text: "", secure: false, object: false };
    const nestedSecure = JSON.stringify(raw).includes('"secure"');
    return { text: JSON.stringify(raw), secure: nestedSecure, object: true };
}

/** `createConfigValue`: primitives (`string, int, bool`) through `fmt %v`, anything else as an object. */
function defaultValueOf(raw: unknown): StackValue {
    if (typeof raw === "string") return { text: raw, secure: false, object: false };
    if (typeof raw === "boolean" || (typeof raw === "number" && Number.isInteger(raw))) {
        return { text: String(raw), secure: false, object: false };
    }
    return { text: JSON.stringify(raw), secure: false, object: true };
}

/** `InferFullTypeName`. */
export function fullTypeName(type: string, items?: ConfigItemsType): string {
    return items ? `array<${fullTypeName(items.type, items.items)}>` : type;
}

/** `ValidateConfigValue`, on the value as Go sees it (decoded JSON for objects, the text otherwise). */
export function validateConfigValue(type: string, items: ConfigItemsType | undefined, value: unknown): boolean {
    switch (type) {
        case "string":
            return typeof value === "string";
        case "integer":
            if (typeof value === "number") return Number.isInteger(value);
            // strconv.Atoi: optional sign, decimal digits, within int64.
            return typeof value === "string" && /^[+-]?\d+$/.test(value) && Math.abs(Number(value)) < 2 ** 63;
        case "boolean":
            return typeof value === "boolean" || value === "true" || value === "false";
        case "object":
            return isPlainObject(value);
        default:
            if (!Array.isArray(value) || items === undefined) return false;
            return value.every((item) => validateConfigValue(items.type, items.items, item));
    }
}

/** `ParseKey` for declared keys: unqualified keys belong to the project. */
function qualify(project: string, key: string): string {
    return key.includes(":") ? key : `${project}:${key}`;
}

const namespacedByProject = (project: string, key: string) => !key.includes(":") || key.startsWith(`${project}:`);

/** The long form of a declaration; short forms (`key: value`) are values, as `Project.UnmarshalYAML` reads them. */
function declarationOf(project: string, key: string, raw: unknown): ProjectConfigType {
    if (isPlainObject(raw)) return raw;
    // `RewriteShorthandConfigValues`: a project key's short form is an untyped default, another namespace's a value.
    return namespacedByProject(project, key) ? { default: raw } : { value: raw };
}

const showDeclared = (v: unknown) => JSON.stringify(v);

/** `(*Project).Validate` plus the project schema's type enum: errors in Pulumi.yaml itself. */
export function validateProject(project: ProjectFile): Map<string, ProjectConfigType> {
    const declarations = new Map<string, ProjectConfigType>();
    for (const [key, raw] of Object.entries(project.config ?? {})) {
        const d = declarationOf(project.name, key, raw);
        declarations.set(key, d);
        const where = `Pulumi.yaml config.${key}`;
        if (d.default !== undefined && d.value !== undefined) {
            throw new StackConfigError(
                `project config '${key}' cannot have both a 'default' and 'value' attribute. ` +
                    `Fix: keep one of them in ${where}.`,
            );
        }
        if (d.type !== undefined && !(SIMPLE_TYPES as readonly string[]).includes(d.type)) {
            throw new StackConfigError(
                `${where}.type: value must be one of ${SIMPLE_TYPES.map((t) => `"${t}"`).join(", ")}, ` +
                    `got ${showDeclared(d.type)}. Fix: use one of those types.`,
            );
        }
        if (namespacedByProject(project.name, key)) {
            if (d.type === "array" && d.items === undefined) {
                throw new StackConfigError(
                    `The configuration key '${key}' declares an array but does not specify the underlying type ` +
                        "via the 'items' attribute. " +
                        `Fix: add items: { type: string } (or the element type) to ${where}.`,
                );
            }
            if (d.type !== undefined && d.default !== undefined && !validateConfigValue(d.type, d.items, d.default)) {
                const type = fullTypeName(d.type, d.items);
                throw new StackConfigError(
                    `The default value specified for configuration key '${key}' is not of the expected type ` +
                        `'${type}'. Fix: ${where}.default is ${showDeclared(d.default)}; give a ${type} value.`,
                );
            }
        } else {
            if (d.type !== undefined) {
                throw new StackConfigError(
                    `Configuration key '${key}' is not namespaced by the project and should not define a type. ` +
                        `Fix: remove type from ${where}.`,
                );
            }
            if (d.default !== undefined) {
                throw new StackConfigError(
                    `Configuration key '${key}' is not namespaced by the project and should not define a default ` +
                        `value. Did you mean to use the 'value' attribute instead of 'default'? Fix: rename default ` +
                        `to value in ${where}.`,
                );
            }
            if (d.value === undefined) {
                throw new StackConfigError(
                    `Configuration key '${key}' is namespaced and must provide an attribute 'value'. ` +
                        `Fix: give ${where} a value.`,
                );
            }
        }
    }
    return declarations;
}

/** `formatMissingKeys`: `'a'`, `'a' and 'b'`, `'a', 'b' and 'c'` (sorted when more than one). */
function formatMissingKeys(keys: string[]): string {
    if (keys.length === 1) return `'${keys[0]}'`;
    const sorted = [...keys].sort();
    return `${sorted
        .slice(0, -1)
        .map((k) => `'${k}'`)
        .join(", ")} and '${sorted[sorted.length - 1]}'`;
}

/** Parses a stack file's `config:` map into the CLI's values, keyed as written (always `<namespace>:<name>`). */
export function readStackValues(stackFileText: string, stackFile: string): MergedConfig {
    const doc = (parseYaml(stackFileText) ?? {}) as { config?: Record<string, unknown> };
    const values: MergedConfig = new Map();
    for (const [key, raw] of Object.entries(doc.config ?? {})) {
        const colons = key.split(":").length - 1;
        if (colons !== 1 && !(colons === 2 && key.split(":")[1] === "config")) {
            throw new StackConfigError(
                `could not parse ${key} as a configuration key (configuration keys should be of the form ` +
                    `\`<namespace>:<name>\`). Fix: in ${stackFile}, write it as <project>:${key}.`,
            );
        }
        const [namespace, ...rest] = key.split(":");
        values.set(`${namespace}:${rest[rest.length - 1]}`, stackValueOf(raw));
    }
    return values;
}

/**
 * `ValidateStackConfigAndApplyProjectConfig`: every declared project key without a default must be in the stack
 * file; declared defaults and values fill the keys the stack lacks; then, for every typed key, a `secret: true`
 * declaration needs a `secure:` value and the value must have the declared type. Returns the merged config.
 */
export function validateAndApplyProjectConfig(
    stack: string,
    project: ProjectFile,
    stackValues: MergedConfig,
): MergedConfig {
    const declarations = validateProject(project);
    const merged: MergedConfig = new Map(stackValues);
    const keys = [...declarations.keys()].sort();
    const missing: string[] = [];
    for (const key of keys) {
        const d = declarations.get(key)!;
        const full = qualify(project.name, key);
        if (merged.has(full)) continue;
        const fallback = d.default !== undefined ? d.default : d.value;
        if (fallback === undefined) {
            if (full.startsWith(`${project.name}:`)) missing.push(key);
            continue;
        }
        merged.set(full, defaultValueOf(fallback));
    }
    if (missing.length > 0) {
        const many = missing.length > 1;
        throw new StackConfigError(
            `Stack '${stack}' is missing configuration value${many ? "s" : ""} ${formatMissingKeys(missing)}. ` +
                `Fix: set ${many ? "each" : "it"} with \`pulumi config set <key> <value> --stack ${stack}\` ` +
                `(\`--secret\` for secrets), or give the declaration a default in Pulumi.yaml if it is optional.`,
        );
    }
    for (const key of keys) {
        const d = declarations.get(key)!;
        if (d.type === undefined) continue;
        const value = merged.get(qualify(project.name, key));
        if (value === undefined) continue;
        if (d.secret === true && !value.secure) {
            throw new StackConfigError(
                `Stack '${stack}' with configuration key '${key}' must be encrypted as it's secret. ` +
                    `Fix: pulumi config set --secret ${key} <value> --stack ${stack} (the plaintext value is not ` +
                    `repeated here).`,
            );
        }
        if (value.secure) continue; // ciphertext: only the stack's secrets provider can decrypt it
        const content: unknown = value.object ? JSON.parse(value.text) : value.text;
        if (!validateConfigValue(d.type, d.items, content)) {
            const type = fullTypeName(d.type, d.items);
            throw new StackConfigError(
                `Stack '${stack}' with configuration key '${key}' must be of type '${type}'. ` +
                    `Fix: the value is ${value.text}; set a ${type} with \`pulumi config set ${key} <value> ` +
                    `--stack ${stack}\`${type.startsWith("array") ? " (a YAML list in the stack file)" : ""}.`,
            );
        }
    }
    return merged;
}
