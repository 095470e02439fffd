import { makeSanitizer, SanitizerOptions } from "./sanitize";

export type Logger = (level: "info" | "warn" | "error", message: string, fields?: Record<string, unknown>) => void;

/**
 * Writes one line to the function's stdout as it is. Lambda's Node.js runtime replaces `console.log` with a writer
 * that prefixes every line in the Text log format with `<ISO time>\t<request id>\t<LEVEL>\t`
 * (aws/aws-lambda-nodejs-runtime-interface-client src/LogPatch.js, `logTextToStdout` / `logTextToFd`), and a JSON
 * metric filter such as `{ $.message = "execution failed" }` matches only events that are JSON objects. Lines
 * written to process.stdout reach CloudWatch Logs unchanged, which is how AWS Lambda Powertools' Logger writes its
 * JSON (packages/logger/src/Logger.ts `setConsole`: `new Console({ stdout: process.stdout, … })`).
 */
export function writeStdoutLine(line: string): void {
    process.stdout.write(`${line}\n`);
}

/** Structured JSON log lines, each passed through the sanitizer before it is written (to stdout by default). */
export function makeLogger(opts: SanitizerOptions & { write?: (line: string) => void; component: string }): Logger {
    const sanitize = makeSanitizer(opts);
    const write = opts.write ?? writeStdoutLine;
    return (level, message, fields = {}) =>
        write(sanitize(JSON.stringify({ level, component: opts.component, message, ...fields })));
}
