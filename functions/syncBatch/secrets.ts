/**
 * Secrets are read at run time, never baked into environment variables or the bundle. The
 * handler sees only `getSecret(secretId) → SecretString`; production backs it with Secrets
 * Manager.
 */
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";

export type SecretGetter = (secretId: string) => Promise<string>;

/** A getter backed by Secrets Manager (`secretsmanager:GetSecretValue` on each secret's ARN). */
export function secretsManagerGetter(client: SecretsManagerClient): SecretGetter {
    return async (secretId) => {
        const out = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
        if (typeof out.SecretString !== "string" || out.SecretString === "") {
            throw new Error(
                `secret ${secretId} has no SecretString (binary secrets are not supported); store the value as text`,
            );
        }
        return out.SecretString;
    };
}

/**
 * The value inside a secret string: the string itself, or — when it is a JSON object, as
 * RDS-managed secrets are (`{"username":…,"password":…}`) — the first of `fields` present.
 * Error messages name the secret and the expected shape, never the value.
 */
export function secretValue(secretId: string, raw: string, fields: readonly string[]): string {
    const trimmed = raw.trim();
    if (!trimmed.startsWith("{")) return trimmed;
    let parsed: unknown;
    try {
        parsed = JSON.parse(trimmed);
    } catch {
        throw new Error(
            `secret ${secretId} starts with "{" but is not valid JSON; ` +
                `store either the plain value or a JSON object with a "${fields[0]}" field`,
        );
    }
    const rec = (typeof parsed === "object" && parsed !== null ? parsed : {}) as Record<string, unknown>;
    for (const f of fields) {
        const v = rec[f];
        if (typeof v === "string" && v !== "") return v;
    }
    const wanted = fields.map((f) => `"${f}"`).join(" or ");
    const present = Object.keys(rec).join(", ") || "no fields";
    throw new Error(
        `secret ${secretId} is a JSON object without a non-empty ${wanted} field (it has: ${present}); ` +
            "add the field or store the plain value",
    );
}
