/**
 * JSON-lines logger whose every line passes through the shared log sanitizer
 * (functions/formSender/sanitize.ts): Supabase URL and key, e-mail addresses, phone numbers,
 * company names and URL query strings never reach CloudWatch.
 */
import { makeSanitizer } from "../../../functions/formSender/sanitize";

export type Level = "debug" | "info" | "warn" | "error";

export interface Logger {
    debug(msg: string, fields?: Record<string, unknown>): void;
    info(msg: string, fields?: Record<string, unknown>): void;
    warn(msg: string, fields?: Record<string, unknown>): void;
    error(msg: string, fields?: Record<string, unknown>): void;
    /** Adds values to mask from now on (the client's company, each recipient's company). */
    addSensitive(values: {
        secrets?: readonly (string | undefined)[];
        companyNames?: readonly (string | undefined)[];
    }): void;
}

/** Company names kept for masking; old ones drop off so a long run's regex stays small. */
const MAX_COMPANY_NAMES = 500;

export function makeLogger(
    write: (line: string) => void,
    base: Record<string, unknown> = {},
    initial: { secrets?: readonly (string | undefined)[] } = {},
): Logger {
    const secrets = new Set<string>((initial.secrets ?? []).filter((s): s is string => !!s));
    const companies: string[] = [];
    let sanitize = makeSanitizer({ secrets: [...secrets] });
    const rebuild = () => {
        sanitize = makeSanitizer({ secrets: [...secrets], companyNames: companies });
    };
    const emit = (level: Level, msg: string, fields?: Record<string, unknown>) => {
        const record = { ts: new Date().toISOString(), level, msg, ...base, ...fields };
        let line: string;
        try {
            line = JSON.stringify(record, (_k, v: unknown) =>
                v instanceof Error ? { name: v.name, message: v.message } : v,
            );
        } catch {
            line = JSON.stringify({ ts: record.ts, level, msg });
        }
        write(sanitize(line));
    };
    return {
        debug: (m, f) => emit("debug", m, f),
        info: (m, f) => emit("info", m, f),
        warn: (m, f) => emit("warn", m, f),
        error: (m, f) => emit("error", m, f),
        addSensitive(values) {
            let changed = false;
            for (const s of values.secrets ?? []) {
                if (s && !secrets.has(s)) {
                    secrets.add(s);
                    changed = true;
                }
            }
            for (const c of values.companyNames ?? []) {
                const name = c?.trim();
                if (name && name.length >= 2 && !companies.includes(name)) {
                    companies.push(name);
                    if (companies.length > MAX_COMPANY_NAMES) {
                        companies.shift();
                    }
                    changed = true;
                }
            }
            if (changed) {
                rebuild();
            }
        },
    };
}
