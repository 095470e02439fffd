import { strict as assert } from "assert";
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { lintDockerfile } from "../support/dockerfileLint";
import { planFor } from "../harness";

const WEB = path.resolve(__dirname, "..", "..", "containers", "web");

/** A stand-in server: records its pid and every signal to `<dir>/<name>.log`, exits as told. */
const STAND_IN = `
import signal, sys, time, os
name, log, mode = sys.argv[1], sys.argv[2], sys.argv[3]
def note(s):
    with open(log, "a") as f: f.write(s + "\\n")
def on_term(signum, frame):
    note(f"{name} got {signum}")
    if mode != "stubborn": sys.exit(0)
signal.signal(signal.SIGTERM, on_term)
note(f"{name} started {os.getpid()}")
if mode.startswith("die:"):
    time.sleep(0.5); sys.exit(int(mode[4:]))
while True: time.sleep(0.05)
`;

function startEntrypoint(
    dir: string,
    frontend: string,
    api: string,
    grace = "5",
): { proc: ChildProcess; exited: Promise<{ code: number | null; signal: string | null; ms: number }> } {
    const script = path.join(dir, "stand_in.py");
    fs.writeFileSync(script, STAND_IN);
    const log = path.join(dir, "signals.log");
    const start = Date.now();
    const proc = spawn("python3", [path.join(WEB, "entrypoint.py")], {
        env: {
            ...process.env,
            WEB_FRONTEND_CMD: `python3 ${script} frontend ${log} ${frontend}`,
            WEB_API_CMD: `python3 ${script} api ${log} ${api}`,
            WEB_STOP_GRACE_SECONDS: grace,
        },
        stdio: ["ignore", "ignore", "pipe"],
    });
    const exited = new Promise<{ code: number | null; signal: string | null; ms: number }>((resolve) =>
        proc.on("exit", (code, signal) => resolve({ code, signal, ms: Date.now() - start })),
    );
    return { proc, exited };
}

const logLines = (dir: string) =>
    fs.existsSync(path.join(dir, "signals.log"))
        ? fs.readFileSync(path.join(dir, "signals.log"), "utf8").trim().split("\n")
        : [];
async function until(check: () => boolean, ms = 5000) {
    const end = Date.now() + ms;
    while (!check()) {
        if (Date.now() > end) throw new Error("timed out waiting");
        await new Promise((r) => setTimeout(r, 50));
    }
}
const alive = (pid: number) => {
    try {
        process.kill(pid, 0);
        return true;
    } catch {
        return false;
    }
};

describe("weather web container", function () {
    this.timeout(30000);
    let dir: string;
    beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "web-"))));
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("forwards SIGTERM to both servers and exits 143", async () => {
        const { proc, exited } = startEntrypoint(dir, "run", "run");
        await until(() => logLines(dir).filter((l) => l.includes("started")).length === 2);
        proc.kill("SIGTERM");
        const result = await exited;
        assert.equal(result.code, 143);
        const lines = logLines(dir);
        assert.ok(lines.includes("frontend got 15"), lines.join("; "));
        assert.ok(lines.includes("api got 15"), lines.join("; "));
    });

    it("exits non-zero as soon as one server dies and stops the other", async () => {
        const { exited } = startEntrypoint(dir, "run", "die:3");
        const result = await exited;
        assert.equal(result.code, 3);
        assert.ok(result.ms < 5000, `took ${result.ms} ms`);
        const frontendPid = Number(
            logLines(dir)
                .find((l) => l.startsWith("frontend started"))!
                .split(" ")
                .pop(),
        );
        assert.ok(logLines(dir).includes("frontend got 15"));
        assert.equal(alive(frontendPid), false);
    });

    it("reports failure even when a server exits 0 on its own", async () => {
        const { exited } = startEntrypoint(dir, "die:0", "run");
        assert.equal((await exited).code, 1);
    });

    it("kills a server that ignores SIGTERM after the grace period", async () => {
        const { proc, exited } = startEntrypoint(dir, "stubborn", "run", "1");
        await until(() => logLines(dir).filter((l) => l.includes("started")).length === 2);
        const stubbornPid = Number(
            logLines(dir)
                .find((l) => l.startsWith("frontend started"))!
                .split(" ")
                .pop(),
        );
        proc.kill("SIGTERM");
        const result = await exited;
        assert.notEqual(result.code, 0);
        assert.ok(result.ms < 10000);
        await until(() => !alive(stubbornPid), 2000);
    });

    it("the Dockerfile passes the linter, and the linter catches a bad one", async () => {
        assert.deepEqual(await lintDockerfile(path.join(WEB, "Dockerfile")), []);
        const bad = path.join(dir, "Dockerfile");
        fs.writeFileSync(bad, "FROM python:3.11-slim\nRUN apt-get install gcc\nEXPOSE 99999\n");
        const issues = await lintDockerfile(bad);
        assert.ok(issues.length >= 2, JSON.stringify(issues));
    });

    it("the Dockerfile runs as a non-root user behind an init process on python:3.11-slim", () => {
        const text = fs.readFileSync(path.join(WEB, "Dockerfile"), "utf8");
        assert.match(text, /^FROM python:3\.11-slim$/m);
        assert.match(text, /^USER app$/m);
        assert.match(text, /^ENTRYPOINT \["\/usr\/bin\/tini", "--", "python", "\/usr\/local\/bin\/entrypoint\.py"\]$/m);
        assert.match(text, /^EXPOSE 8501 8000$/m);
    });

    it("the image build carries entrypoint.py byte for byte as its build argument", async () => {
        const img = (await planFor("stg")).inputs<{ args: { ENTRYPOINT_B64: string } }>(
            "awsx:ecr:Image",
            "weather-image",
        );
        assert.equal(
            Buffer.from(img.args.ENTRYPOINT_B64, "base64").toString("utf8"),
            fs.readFileSync(path.join(WEB, "entrypoint.py"), "utf8"),
        );
    });
});
