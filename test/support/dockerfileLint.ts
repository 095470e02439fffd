import { execFile } from "child_process";
import * as path from "path";
import { promisify } from "util";

export interface DockerfileIssue {
    line: number;
    category: string;
    title: string;
    description: string;
}

const ROOT = path.resolve(__dirname, "..", "..");

/** Lints a Dockerfile with dockerfilelint (the project's pinned linter); returns every issue. */
export async function lintDockerfile(file: string): Promise<DockerfileIssue[]> {
    const bin = path.join(ROOT, "node_modules", "dockerfilelint", "bin", "dockerfilelint");
    let stdout: string;
    try {
        ({ stdout } = await promisify(execFile)(process.execPath, [bin, "-o", "json", file], { cwd: ROOT }));
    } catch (e) {
        // The CLI exits 1 when it found issues; its JSON report is still on stdout.
        const out = (e as { stdout?: unknown }).stdout;
        if (typeof out !== "string" || out === "") throw e;
        stdout = out;
    }
    const report = JSON.parse(stdout) as {
        files: { issues: { line: string; category: string; title: string; description: string }[] }[];
    };
    return report.files.flatMap((f) =>
        f.issues.map((i) => ({
            line: Number(i.line),
            category: i.category,
            title: i.title,
            description: i.description,
        })),
    );
}
