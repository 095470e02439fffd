/**
 * Benchmark runner: `npm run bench [-- <name>...]` runs every module in scripts/bench/ (or only
 * the named ones). Each module prints its own figures beside a baseline measured in the same run.
 */
import * as fs from "fs";
import * as path from "path";

async function main(): Promise<void> {
    const dir = path.join(__dirname, "bench");
    const available = fs
        .readdirSync(dir)
        .filter((f) => f.endsWith(".ts"))
        .map((f) => f.replace(/\.ts$/, ""))
        .sort();
    const wanted = process.argv.slice(2).filter((a) => !a.startsWith("-"));
    const unknown = wanted.filter((w) => !available.includes(w));
    if (unknown.length > 0) {
        throw new Error(`unknown benchmark(s) ${unknown.join(", ")}; available: ${available.join(", ")}`);
    }
    for (const name of wanted.length > 0 ? wanted : available) {
        console.log(`\n=== bench: ${name} ===`);
        const mod = (await import(path.join(dir, name))) as { bench: () => Promise<void> };
        await mod.bench();
    }
}

main().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
});
