import { strict as assert } from "assert";
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const ENTRYPOINT = path.resolve(__dirname, "..", "..", "containers", "web", "entrypoint.py");

interface Run {
    readonly code: number | null;
    readonly stderr: string;
}

/**
 * Runs entrypoint.py as the image does (`ENTRYPOINT [tini, --, python, entrypoint.py]` + ECS's `command`
 * override, which replaces CMD only: ECS ContainerOverride "command … overrides the default command from the
 * Docker image"). The servers' commands point at a marker file, so a test sees whether they started.
 */
function runEntrypoint(args: string[], marker: string, onStart?: (pid: number) => void): Promise<Run> {
    const proc = spawn("python3", [ENTRYPOINT, ...args], {
        env: {
            ...process.env,
            WEB_FRONTEND_CMD: `python3 -c "open('${marker}', 'a').write('frontend\\n')"`,
            WEB_API_CMD: `python3 -c "open('${marker}', 'a').write('api\\n')"`,
        },
        stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    proc.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    if (onStart && proc.pid !== undefined) onStart(proc.pid);
    return new Promise((resolve) => proc.on("exit", (code) => resolve({ code, stderr })));
}

describe("weather web entrypoint given a command (the nightly Orchestration task)", () => {
    let dir: string;
    beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "entrypoint-"))));
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("runs the command instead of the servers and exits with its code", async () => {
        const marker = path.join(dir, "servers");
        const run = await runEntrypoint(["python3", "-c", "import sys; sys.exit(7)"], marker);
        assert.equal(run.code, 7);
        assert.equal(fs.existsSync(marker), false, "no server may start when a command is given");
        assert.match(run.stderr, /running the given command instead of the servers: python3 -c/);
    });

    it("passes the command's arguments and output through unchanged, and exits 0 on success", async () => {
        const out = path.join(dir, "argv.json");
        const script = `import json, sys; json.dump(sys.argv[1:], open(${JSON.stringify(out)}, "w"))`;
        const run = await runEntrypoint(
            ["python3", "-c", script, "src/batch/nightly_comments.py", "--date", "a b"],
            path.join(dir, "m"),
        );
        assert.equal(run.code, 0);
        assert.deepEqual(JSON.parse(fs.readFileSync(out, "utf8")), ["src/batch/nightly_comments.py", "--date", "a b"]);
    });

    it("becomes the command (exec), so a SIGTERM reaches it directly", async () => {
        const ready = path.join(dir, "ready");
        const script =
            "import signal, sys, time\n" +
            "signal.signal(signal.SIGTERM, lambda *_: sys.exit(42))\n" +
            `open(${JSON.stringify(ready)}, "w").close()\n` +
            "time.sleep(30)\n";
        let pid = 0;
        const exited = runEntrypoint(["python3", "-c", script], path.join(dir, "m"), (p) => (pid = p));
        for (let i = 0; i < 200 && !fs.existsSync(ready); i++) await new Promise((r) => setTimeout(r, 50));
        assert.ok(fs.existsSync(ready), "the command never started");
        process.kill(pid, "SIGTERM");
        assert.equal((await exited).code, 42);
    });

    it("fails with 127 and says why when the command cannot be run", async () => {
        const run = await runEntrypoint(["/nonexistent/batch"], path.join(dir, "m"));
        assert.equal(run.code, 127);
        assert.match(run.stderr, /cannot run '\/nonexistent\/batch'/);
    });
});
