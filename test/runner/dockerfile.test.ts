/**
 * The runner image as far as it can be checked without a Docker engine: the linter, the
 * stage layout (no dev dependencies in the final image), the pinned compiler versions, and a
 * real compile with the image's tsconfig producing the CMD's entry file.
 */
import * as assert from "assert";
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";
import { lintDockerfile } from "../support/dockerfileLint";

const ROOT = path.resolve(__dirname, "..", "..");
const DOCKERFILE = path.join(ROOT, "containers", "runner", "Dockerfile");
const text = fs.readFileSync(DOCKERFILE, "utf8");
/** Instructions with continuation lines joined, comments dropped. */
const instructions = text
    .replace(/\\\n/g, " ")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"));
const stages: string[][] = [];
for (const ins of instructions) {
    if (/^FROM /i.test(ins)) stages.push([]);
    stages[stages.length - 1].push(ins);
}
const finalStage = stages[stages.length - 1];

/** The package.json fields these tests read. */
interface PackageJson {
    readonly dependencies?: Record<string, string>;
    readonly devDependencies?: Record<string, string>;
}

function readPackageJson(file: string): PackageJson {
    return JSON.parse(fs.readFileSync(file, "utf8")) as PackageJson;
}

describe("runner Dockerfile", function () {
    this.timeout(60_000);

    it("passes dockerfilelint with no issue", async () => {
        assert.deepStrictEqual(await lintDockerfile(DOCKERFILE), []);
    });

    it("builds on Node 22 in every stage and installs Debian Chromium without recommends in the final one", () => {
        for (const s of stages) assert.match(s[0], /^FROM node:22-bookworm-slim( AS \w+)?$/);
        const apt = finalStage.find((l) => l.includes("apt-get install")) ?? "";
        assert.match(apt, /apt-get install -y --no-install-recommends [^&]*\bchromium\b/);
        assert.match(apt, /\btini\b/);
        assert.match(apt, /rm -rf \/var\/lib\/apt\/lists\/\*/);
    });

    it("runs as a non-root user under tini, forwarding signals to node only", () => {
        const user = finalStage.filter((l) => /^USER /.test(l)).pop();
        assert.ok(user && !/^USER (root|0)\b/.test(user), `final USER is ${user}`);
        assert.ok(
            finalStage.indexOf(user) > finalStage.findIndex((l) => l.startsWith("COPY")),
            "USER comes after the files are in place",
        );
        assert.ok(finalStage.includes('ENTRYPOINT ["/usr/bin/tini", "-s", "--"]'));
        assert.ok(
            !instructions.some((l) => /tini.*\s-g\b/.test(l)),
            "tini -g would SIGTERM Chromium before in-flight forms finish",
        );
        assert.ok(finalStage.includes('CMD ["node", "dist/containers/runner/src/main.js"]'));
    });

    it("ships production dependencies only: node_modules comes from an --omit=dev install", () => {
        const copyModules = finalStage.find((l) => /^COPY --from=\w+ \/app\/node_modules/.test(l)) ?? "";
        const from = /--from=(\w+)/.exec(copyModules)?.[1];
        const depsStage = stages.find((s) => new RegExp(` AS ${from}$`).test(s[0]));
        assert.ok(depsStage, "node_modules is copied from a named stage");
        assert.ok(depsStage.some((l) => /npm ci --workspace containers\/runner --omit=dev/.test(l)));
        const runnerPkg = readPackageJson(path.join(ROOT, "containers", "runner", "package.json"));
        // npm keeps a workspace's devDependencies even with --omit=dev, so the runner declares none.
        assert.strictEqual(runnerPkg.devDependencies, undefined);
        assert.ok(runnerPkg.dependencies);
        assert.ok(!Object.keys(runnerPkg.dependencies).some((d) => d.startsWith("@pulumi/")));
        assert.match(runnerPkg.dependencies["playwright-core"], /^\d+\.\d+\.\d+$/, "playwright-core is pinned exactly");
    });

    it("compiles with the root's pinned TypeScript and @types/node versions", () => {
        const rootPkg = readPackageJson(path.join(ROOT, "package.json"));
        const dev = rootPkg.devDependencies;
        assert.ok(dev);
        assert.ok(text.includes(`typescript@${dev.typescript}`));
        assert.ok(text.includes(`@types/node@${dev["@types/node"]}`));
    });

    it("the image's tsconfig compiles the runner and emits the CMD and CLI entry files", async () => {
        const out = fs.mkdtempSync(path.join(os.tmpdir(), "runner-build-"));
        try {
            await promisify(execFile)(
                process.execPath,
                [
                    path.join(ROOT, "node_modules", "typescript", "bin", "tsc"),
                    "-p",
                    "containers/runner/tsconfig.build.json",
                    "--outDir",
                    out,
                ],
                { cwd: ROOT },
            );
            assert.ok(fs.existsSync(path.join(out, "containers", "runner", "src", "main.js")));
            assert.ok(fs.existsSync(path.join(out, "containers", "runner", "src", "cli.js")));
            assert.ok(
                fs.existsSync(path.join(out, "functions", "formSender", "clientConfig.js")),
                "the shared schema is compiled into the image",
            );
        } finally {
            fs.rmSync(out, { recursive: true, force: true });
        }
    });
});
