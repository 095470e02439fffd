/**
 * Structured logging: one JSON object per line, which CloudWatch Logs Insights parses into
 * fields. Levels are upper case so `--filter-pattern ERROR` finds failures too.
 */
export type Fields = Record<string, unknown>;

export interface Logger {
    info(message: string, fields?: Fields): void;
    warn(message: string, fields?: Fields): void;
    error(message: string, fields?: Fields): void;
}

/** Logger writing JSON lines through `write` (console.log in Lambda). */
export function jsonLogger(base: Fields = {}, write: (line: string) => void = (line) => console.log(line)): Logger {
    const emit = (level: string, message: string, fields?: Fields) =>
        write(JSON.stringify({ level, message, ...base, ...fields }));
    return {
        info: (m, f) => emit("INFO", m, f),
        warn: (m, f) => emit("WARN", m, f),
        error: (m, f) => emit("ERROR", m, f),
    };
}
