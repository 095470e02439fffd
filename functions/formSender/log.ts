import { makeSanitizer, SanitizerOptions } from "./sanitize";

export type Logger = (level: "info" | "warn" | "error", message: string, fields?: Record<string, unknown>) => void;

/** Structured JSON log lines, each passed through the sanitizer before it is written. */
export function makeLogger(opts: SanitizerOptions & { write?: (line: string) => void; component: string }): Logger {
    const sanitize = makeSanitizer(opts);
    const write = opts.write ?? ((line: string) => console.log(line));
    return (level, message, fields = {}) =>
        write(sanitize(JSON.stringify({ level, component: opts.component, message, ...fields })));
}
