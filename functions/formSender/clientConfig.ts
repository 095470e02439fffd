/**
 * client_config: what GAS sends, the dispatcher stores in S3 and the runner reads. This is the
 * one schema both sides validate with (DESIGN.md "client_config"). Everything else a form may
 * ask for (full name, hiragana readings, split phone/postal parts, e-mail confirmation) is
 * derived by the runner and never sent.
 */
import Ajv, { ErrorObject } from "ajv";
import addFormats from "ajv-formats";

export interface ClientConfig {
    client: {
        company_name: string;
        company_name_kana?: string;
        company_name_en?: string;
        last_name: string;
        first_name: string;
        last_name_kana?: string;
        first_name_kana?: string;
        last_name_en?: string;
        first_name_en?: string;
        email: string;
        phone: string;
        postal_code?: string;
        prefecture?: string;
        city?: string;
        address?: string;
        department?: string;
        position?: string;
        website_url?: string;
    };
    message: { subject?: string; body: string };
    targeting?: { send_start_time?: string; send_end_time?: string };
}

const text = (maxLength: number) => ({ type: "string", minLength: 1, maxLength });
const optionalText = (maxLength: number) => ({ type: "string", maxLength });
const HHMM = "^([01]\\d|2[0-3]):[0-5]\\d$";

export const CLIENT_CONFIG_SCHEMA = {
    $id: "https://ops-platform/schemas/client-config.json",
    type: "object",
    additionalProperties: false,
    required: ["client", "message"],
    properties: {
        client: {
            type: "object",
            additionalProperties: false,
            required: ["company_name", "last_name", "first_name", "email", "phone"],
            properties: {
                company_name: text(200),
                company_name_kana: { type: "string", maxLength: 200, pattern: "^[\\u30A0-\\u30FF\\u3000\\s・ー]*$" },
                company_name_en: optionalText(200),
                last_name: text(50),
                first_name: text(50),
                last_name_kana: { type: "string", maxLength: 50, pattern: "^[\\u30A0-\\u30FF\\u3000\\s・ー]*$" },
                first_name_kana: { type: "string", maxLength: 50, pattern: "^[\\u30A0-\\u30FF\\u3000\\s・ー]*$" },
                last_name_en: optionalText(50),
                first_name_en: optionalText(50),
                email: { type: "string", format: "email", maxLength: 254 },
                phone: { type: "string", pattern: "^\\+?[0-9][0-9\\-() ]{8,18}[0-9]$" },
                postal_code: { type: "string", pattern: "^\\d{3}-?\\d{4}$" },
                prefecture: optionalText(10),
                city: optionalText(100),
                address: optionalText(200),
                department: optionalText(100),
                position: optionalText(100),
                website_url: { type: "string", format: "uri", pattern: "^https?://", maxLength: 2048 },
            },
        },
        message: {
            type: "object",
            additionalProperties: false,
            required: ["body"],
            properties: { subject: optionalText(200), body: text(10000) },
        },
        targeting: {
            type: "object",
            additionalProperties: false,
            properties: {
                send_start_time: { type: "string", pattern: HHMM },
                send_end_time: { type: "string", pattern: HHMM },
            },
        },
    },
} as const;

/** One problem with a value, located by JSON pointer (`/client/email`). */
export interface Problem {
    readonly path: string;
    readonly message: string;
}

/** Turns ajv errors into `{ path, message }` with the offending property named in the path. */
export function describeErrors(errors: ErrorObject[] | null | undefined): Problem[] {
    return (errors ?? []).map((e) => {
        if (e.keyword === "required")
            return {
                path: `${e.instancePath}/${(e.params as { missingProperty: string }).missingProperty}`,
                message: "is required",
            };
        if (e.keyword === "additionalProperties") {
            return {
                path: `${e.instancePath}/${(e.params as { additionalProperty: string }).additionalProperty}`,
                message: "is not a known field; remove it",
            };
        }
        if (e.keyword === "pattern" && e.instancePath.endsWith("_time"))
            return { path: e.instancePath, message: "must be a time HH:MM (JST, 00:00-23:59)" };
        return { path: e.instancePath || "/", message: e.message ?? e.keyword };
    });
}

/** A shared ajv instance: every schema compiles once per process (one Lambda cold start). */
export function makeAjv(): Ajv {
    // strictRequired off: "one of client_config / client_config_object" is a oneOf of required lists.
    const ajv = new Ajv({ allErrors: true, strict: true, strictRequired: false });
    addFormats(ajv, ["email", "uri", "date-time"]);
    return ajv;
}

let compiled: ReturnType<Ajv["compile"]> | undefined;

/** Validates a client_config; returns every problem (empty when valid). */
export function validateClientConfig(value: unknown): Problem[] {
    compiled ??= makeAjv().compile(CLIENT_CONFIG_SCHEMA);
    return compiled(value) ? [] : describeErrors(compiled.errors);
}

/** Validates and narrows, throwing one error that lists every problem. */
export function parseClientConfig(value: unknown, source = "client_config"): ClientConfig {
    const problems = validateClientConfig(value);
    if (problems.length > 0) {
        throw new Error(`${source} is invalid: ${problems.map((p) => `${p.path} ${p.message}`).join("; ")}`);
    }
    return value as ClientConfig;
}
