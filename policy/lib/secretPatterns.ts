/**
 * Recognising secrets placed where configuration is stored in clear text (Lambda environment,
 * container environment, SSM String parameters). Findings name the variable and the reason,
 * never the value.
 */
import { isUnknown, SECRET } from "./resource";

/** Value shapes that are credentials whatever the variable is called. */
const VALUE_PATTERNS: readonly [string, RegExp][] = [
    ["an AWS access key id", /\b(AKIA|ASIA)[0-9A-Z]{16}\b/],
    ["a JSON Web Token (Supabase anon/service-role keys are JWTs)", /\beyJ[\w-]{8,}\.eyJ[\w-]{8,}\.[\w-]{8,}/],
    ["a Supabase secret key", /\bsb_secret_[\w-]{10,}/],
    ["a private key", /-----BEGIN [A-Z ]*PRIVATE KEY-----/],
    ["a Slack webhook URL", /https:\/\/hooks\.slack\.com\/services\/\S+/],
    ["an OpenAI/Anthropic API key", /\bsk-(ant-|proj-)?[\w-]{20,}/],
    ["a Google API key", /\bAIza[0-9A-Za-z_-]{35}\b/],
    ["a GitHub token", /\bgh[pousr]_[A-Za-z0-9]{36,}\b/],
    ["a URL with an embedded password", /\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@]+:[^\s@/]+@/i],
];

/** Variable names that announce a secret… */
const SECRET_NAME =
    /(secret|passw(or)?d|passwd|token|api[_-]?key|private[_-]?key|access[_-]?key|service[_-]?role|credential|webhook)/i;
/** …unless they say the value is only a pointer to one. */
const REFERENCE_NAME = /(_ARN|_NAME|_ID|_PATH|_PARAM|_PARAMETER|_REGION|_TTL|_HEADER|_URL_SECRET)$/i;
/**
 * Pointer-shaped values: ARNs, SSM paths, lower-case Secrets Manager names, numbers, booleans.
 * Mixed-case slash-separated strings are not pointers: AWS secret access keys look like that.
 */
const REFERENCE_VALUE = /^(arn:[\w-]+:\S+|(\/[\w.-]+)+|[a-z0-9._-]+(\/[a-z0-9._-]+)+|\d+|true|false)$/;

/**
 * Why `name=value` looks like a secret stored in clear text, or undefined when it does not.
 * `[secret]` (the offline plan's stand-in) counts: a Pulumi secret copied into such a place is
 * stored in plain text by AWS all the same.
 */
export function secretReason(name: string, value: unknown): string | undefined {
    if (isUnknown(value) || value === undefined || value === null) return undefined;
    if (value === SECRET) return "its value is a Pulumi secret, which AWS would store and display in clear text here";
    if (typeof value !== "string" || value === "") return undefined;
    for (const [label, re] of VALUE_PATTERNS) if (re.test(value)) return `its value looks like ${label}`;
    if (SECRET_NAME.test(name) && !REFERENCE_NAME.test(name) && !REFERENCE_VALUE.test(value)) {
        return "its name announces a secret and its value is not a reference (ARN or secret name)";
    }
    return undefined;
}
