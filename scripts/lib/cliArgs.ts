/**
 * Command-line arguments of the stack scripts (`npm run plan`, `npm run preflight`): `--stack <name>` (or
 * `--stack=<name>`) and on/off flags. Anything else, or no stack, prints the error and the usage and exits 2.
 */
import { parseArgs } from "node:util";

export function parseStackArgs<F extends string>(
    usage: string,
    flags: readonly F[],
    argv: readonly string[] = process.argv.slice(2),
): { stack: string; flags: Record<F, boolean> } {
    const fail = (why: string): never => {
        console.error(`${why}\nusage: ${usage}`);
        process.exit(2);
    };
    let values: Record<string, string | boolean | undefined>;
    try {
        ({ values } = parseArgs({
            args: [...argv],
            options: {
                stack: { type: "string" },
                ...Object.fromEntries(flags.map((f) => [f, { type: "boolean" as const }])),
            },
            strict: true,
            allowPositionals: false,
        }));
    } catch (err) {
        return fail((err as Error).message);
    }
    const stack = values.stack;
    if (typeof stack !== "string" || stack === "") return fail("--stack is required");
    return { stack, flags: Object.fromEntries(flags.map((f) => [f, values[f] === true])) as Record<F, boolean> };
}
