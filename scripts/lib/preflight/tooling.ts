/**
 * Local tooling `pulumi up` needs on this machine: the pinned Pulumi CLI, Node.js for the program, and a Docker
 * daemon with buildx able to build linux/amd64 images (the runner image, and the weather image unless the stack
 * deploys a prebuilt weatherImageUri). Every command runs with a timeout.
 */
import { execFile } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { CheckResult } from "./report";

const TOOL_TIMEOUT_MS = 10_000;

interface Run {
    ok: boolean;
    stdout: string;
    stderr: string;
    /** ENOENT: the command is not installed (not on PATH). */
    missing: boolean;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
    return new Promise((resolve) => {
        execFile(cmd, args, { env, timeout: TOOL_TIMEOUT_MS, encoding: "utf8" }, (err, stdout, stderr) => {
            const code = (err as NodeJS.ErrnoException | null)?.code;
            resolve({ ok: !err, stdout: String(stdout), stderr: String(stderr), missing: code === "ENOENT" });
        });
    });
}

export interface ToolingInputs {
    /** The project directory (holds .pulumi-version). */
    readonly projectDir: string;
    /** Environment whose PATH finds the tools (the CLI passes process.env). */
    readonly env: NodeJS.ProcessEnv;
    /** The Node.js major version @pulumi/pulumi requires (package engines). */
    readonly nodeMajor: number;
}

/** `pulumi version` equals .pulumi-version (the version the workflows pin). */
async function pulumiCheck(inputs: ToolingInputs): Promise<CheckResult> {
    const id = "tool.pulumi";
    const pinned = fs.readFileSync(path.join(inputs.projectDir, ".pulumi-version"), "utf8").trim();
    // https://www.pulumi.com/docs/iac/download-install/ ("Installing a specific version").
    const install = `curl -fsSL https://get.pulumi.com | sh -s -- --version ${pinned}`;
    const r = await run("pulumi", ["version"], inputs.env);
    if (r.missing)
        return {
            id,
            region: "local",
            status: "FAIL",
            message: "the Pulumi CLI is not installed (pulumi not on PATH)",
            needed: `v${pinned}`,
            fix: install,
        };
    if (!r.ok)
        return {
            id,
            region: "local",
            status: "FAIL",
            message: `pulumi version failed: ${r.stderr.trim() || r.stdout.trim()}`,
            needed: `v${pinned}`,
            fix: install,
        };
    const found = r.stdout.trim().replace(/^v/, "");
    if (found !== pinned) {
        return {
            id,
            region: "local",
            status: "FAIL",
            message: `Pulumi CLI is v${found}; .pulumi-version pins v${pinned}`,
            needed: `v${pinned}`,
            fix: install,
        };
    }
    return { id, region: "local", status: "PASS", message: `Pulumi CLI v${found} (as .pulumi-version pins)` };
}

/** `node --version` on PATH (the Node the Pulumi CLI runs the program with). */
async function nodeCheck(inputs: ToolingInputs): Promise<CheckResult> {
    const id = "tool.node";
    const fix = `install Node.js ${inputs.nodeMajor} or later (https://nodejs.org/en/download, or nvm install ${inputs.nodeMajor})`;
    const r = await run("node", ["--version"], inputs.env);
    if (!r.ok)
        return {
            id,
            region: "local",
            status: "FAIL",
            message: "node is not on PATH",
            needed: `≥ ${inputs.nodeMajor}`,
            fix,
        };
    const version = r.stdout.trim();
    const major = Number(/^v?(\d+)/.exec(version)?.[1]);
    if (!(major >= inputs.nodeMajor)) {
        return {
            id,
            region: "local",
            status: "FAIL",
            message: `Node ${version}; @pulumi/pulumi needs ${inputs.nodeMajor} or later (pulumi up packages each CallbackFunction with fs.promises.glob)`,
            needed: `≥ ${inputs.nodeMajor}`,
            fix,
        };
    }
    return { id, region: "local", status: "PASS", message: `Node ${version}` };
}

/** A running Docker daemon, buildx, and a builder that lists linux/amd64. */
async function dockerChecks(inputs: ToolingInputs): Promise<CheckResult[]> {
    const info = await run("docker", ["info", "--format", "{{.ServerVersion}}"], inputs.env);
    if (info.missing) {
        return [
            {
                id: "tool.docker",
                region: "local",
                status: "FAIL",
                message: "Docker is not installed (docker not on PATH); pulumi up builds the runner image",
                fix: "install Docker Engine or Docker Desktop: https://docs.docker.com/engine/install/",
            },
        ];
    }
    if (!info.ok || info.stdout.trim() === "") {
        return [
            {
                id: "tool.docker",
                region: "local",
                status: "FAIL",
                message: `the Docker daemon does not answer: ${(info.stderr || info.stdout).trim().split("\n")[0]}`,
                fix:
                    "start it (sudo systemctl start docker, or open Docker Desktop) " +
                    "and make sure this user may use it",
            },
        ];
    }
    const results: CheckResult[] = [
        { id: "tool.docker", region: "local", status: "PASS", message: `Docker daemon ${info.stdout.trim()}` },
    ];
    const buildx = await run("docker", ["buildx", "version"], inputs.env);
    if (!buildx.ok) {
        results.push({
            id: "tool.docker-buildx",
            region: "local",
            status: "FAIL",
            message: "docker buildx is not installed",
            fix: "install the buildx plugin: sudo apt-get install docker-buildx-plugin (https://docs.docker.com/build/install-buildx/)",
        });
        return results;
    }
    results.push({
        id: "tool.docker-buildx",
        region: "local",
        status: "PASS",
        message: buildx.stdout.trim().split("\n")[0],
    });
    // `docker buildx inspect` prints the builder's "Platforms:" line (https://docs.docker.com/reference/cli/docker/buildx/inspect/).
    const inspect = await run("docker", ["buildx", "inspect"], inputs.env);
    const platforms = /^\s*Platforms:\s*(.*)$/m.exec(inspect.stdout)?.[1] ?? "";
    if (!inspect.ok || !platforms.split(/,\s*/).includes("linux/amd64")) {
        results.push({
            id: "tool.docker-amd64",
            region: "local",
            status: "FAIL",
            message: `the buildx builder cannot build linux/amd64 (platforms: ${platforms || "none listed"})`,
            needed: "linux/amd64",
            fix: "docker run --privileged --rm tonistiigi/binfmt --install amd64 (QEMU emulation), then docker buildx inspect --bootstrap",
        });
    } else
        results.push({
            id: "tool.docker-amd64",
            region: "local",
            status: "PASS",
            message: "the buildx builder builds linux/amd64",
        });
    return results;
}

export async function toolingChecks(inputs: ToolingInputs): Promise<CheckResult[]> {
    const all = await Promise.all([
        pulumiCheck(inputs).then((r) => [r]),
        nodeCheck(inputs).then((r) => [r]),
        dockerChecks(inputs),
    ]);
    return all.flat();
}
