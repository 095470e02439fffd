/**
 * Log sanitizer: every log line of the dispatcher, batch-events and the runner passes through
 * it, so CloudWatch never holds Supabase credentials or a recipient's personal data.
 */

export interface SanitizerOptions {
    /** Exact secret values to mask wherever they appear (Supabase key, webhook URLs...). */
    readonly secrets?: readonly (string | undefined)[];
    /** Company names to mask (the client's and the recipients'). */
    readonly companyNames?: readonly (string | undefined)[];
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

const RULES: [RegExp, string | ((m: string, ...g: string[]) => string)][] = [
    // Supabase project URLs: https://<ref>.supabase.co
    [/https?:\/\/[a-z0-9-]+\.supabase\.(co|in|net)\b[^\s"']*/gi, "[supabase-url]"],
    // JWTs (Supabase anon/service-role keys are JWTs) and sb_secret_/sb_publishable_ keys.
    [/\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\b/g, "[jwt]"],
    [/\bsb_(secret|publishable)_[A-Za-z0-9_-]{10,}\b/g, "[supabase-key]"],
    // Query strings carry signatures (presigned URLs) and personal data.
    [/(https?:\/\/[^\s"'?#]+)\?[^\s"'#]*/gi, (_m, base: string) => `${base}?[query]`],
    [/[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g, "[email]"],
    // Phone numbers: +81 / 0-prefixed Japanese numbers with separators, and international forms.
    [/(?<![\w-])(\+\d{1,3}[-\s]?)?\(?0?\d{1,4}\)?[-\s]?\d{1,4}[-\s]\d{3,4}(?![\w-])/g, "[phone]"],
    [/(?<![\w-])0\d{9,10}(?![\w-])/g, "[phone]"],
];

/** Returns a function masking one log line. */
export function makeSanitizer(opts: SanitizerOptions = {}): (line: string) => string {
    const secrets = (opts.secrets ?? []).filter((s): s is string => typeof s === "string" && s.length >= 4);
    const companies = (opts.companyNames ?? []).filter((s): s is string => typeof s === "string" && s.length >= 2);
    const secretRe = secrets.length
        ? new RegExp(
              secrets
                  .sort((a, b) => b.length - a.length)
                  .map(escape)
                  .join("|"),
              "g",
          )
        : undefined;
    const companyRe = companies.length
        ? new RegExp(
              companies
                  .sort((a, b) => b.length - a.length)
                  .map(escape)
                  .join("|"),
              "g",
          )
        : undefined;
    return (line: string) => {
        let out = secretRe ? line.replace(secretRe, "[secret]") : line;
        for (const [re, replacement] of RULES) out = out.replace(re, replacement as never);
        return companyRe ? out.replace(companyRe, "[company]") : out;
    };
}
