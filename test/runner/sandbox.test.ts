/**
 * Chromium's sandbox and what a renderer can reach (issue 19): the runner's sandbox policy and Chromium's
 * environment as pure functions, then the real thing — the runner's start-up (test/runner/sandboxChild.ts) run as an
 * unprivileged user, with the Supabase key read from a Secrets Manager stand-in, Chromium launched through
 * launchBrowser and forms filled by the worker pool — inspected from outside through /proc: every renderer is in its
 * own user, PID and network namespaces under a seccomp-bpf filter, and no Chromium process's environment or command
 * line holds the key.
 */
import * as assert from "assert";
import { spawn, spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
    ALLOW_NO_SANDBOX,
    chromiumEnv,
    launchBrowser,
    judgeSandbox,
    type ProcessConfinement,
    sandboxPolicy,
    SandboxError,
    type SandboxStatus,
} from "../../containers/runner/src/browser";
import { startSecretsManager, type SecretsManagerServer } from "../support/secretsManagerServer";
import { startFixtureServer, type FixtureServer } from "./fixtureServer";

const ROOT = path.resolve(__dirname, "..", "..");
const isRoot = process.getuid?.() === 0;

describe("Chromium sandbox policy", () => {
    it("requires the sandbox by default and for 0", () => {
        assert.deepEqual(sandboxPolicy({}, 10001), { sandbox: true, reason: "sandbox required" });
        assert.equal(sandboxPolicy({ [ALLOW_NO_SANDBOX]: "0" }, 10001).sandbox, true);
    });

    it("turns the sandbox off only for RUNNER_ALLOW_NO_SANDBOX=1, as root too", () => {
        assert.deepEqual(sandboxPolicy({ [ALLOW_NO_SANDBOX]: "1" }, 0), {
            sandbox: false,
            reason: "RUNNER_ALLOW_NO_SANDBOX=1: sandbox off (local development only)",
        });
    });

    it("refuses root without the setting, naming the variable, its value and the fix", () => {
        assert.throws(
            () => sandboxPolicy({}, 0),
            (err: Error) =>
                err instanceof SandboxError &&
                err.message ===
                    "the runner runs as root, where Chromium's sandbox cannot start, and it will not start a browser " +
                        "without the sandbox (RUNNER_ALLOW_NO_SANDBOX is unset): run it as an unprivileged user " +
                        "(the image's USER runner), or set RUNNER_ALLOW_NO_SANDBOX=1 for local development",
        );
    });

    it("refuses any other value instead of guessing", () => {
        assert.throws(
            () => sandboxPolicy({ [ALLOW_NO_SANDBOX]: "true" }, 10001),
            /^SandboxError: RUNNER_ALLOW_NO_SANDBOX must be 1 \(run Chromium without its sandbox, local development only\), 0 or unset, got "true"; unset it to keep the sandbox on$/,
        );
    });

    it("gives Chromium a minimal environment: no credentials endpoint, no Supabase values, no job settings", () => {
        const env = chromiumEnv({
            PATH: "/usr/bin:/bin",
            HOME: "/home/runner",
            LANG: "C.UTF-8",
            SUPABASE_SERVICE_ROLE_KEY: "k",
            SUPABASE_URL: "https://x.supabase.co",
            SUPABASE_KEY_SECRET_ARN: "arn:aws:secretsmanager:us-east-1:123456789012:secret:k",
            AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: "/v2/credentials/abc",
            AWS_ACCESS_KEY_ID: "AKIA…",
            FORM_SENDER_EXECUTION_ID: "e1",
        });
        assert.deepEqual(env, { PATH: "/usr/bin:/bin", HOME: "/home/runner", LANG: "C.UTF-8" });
        assert.equal(chromiumEnv({}).PATH, "/usr/local/bin:/usr/bin:/bin");
    });

    it("judges the sandbox from every renderer's namespaces and seccomp mode against the browser's", () => {
        const browser: ProcessConfinement = { userNs: "user:[1]", pidNs: "pid:[1]", netNs: "net:[1]", seccomp: 0 };
        const sandboxed = (n: number): ProcessConfinement => ({
            userNs: `user:[${n}]`,
            pidNs: `pid:[${n}]`,
            netNs: `net:[${n}]`,
            seccomp: 2,
        });
        assert.deepEqual(judgeSandbox(browser, [sandboxed(2), sandboxed(3)]), {
            layer1: "Namespace",
            pidNamespace: true,
            networkNamespace: true,
            seccompBpf: true,
            adequate: true,
            renderers: 2,
        });
        // The setuid helper: new PID and network namespaces, the browser's user namespace.
        assert.equal(judgeSandbox(browser, [{ ...sandboxed(2), userNs: browser.userNs }]).layer1, "SUID");
        // One renderer without its filter, or sharing the browser's network namespace, fails the whole browser.
        const noFilter = judgeSandbox(browser, [sandboxed(2), { ...sandboxed(3), seccomp: 0 }]);
        assert.deepEqual([noFilter.seccompBpf, noFilter.adequate], [false, false]);
        const sharedNet = judgeSandbox(browser, [{ ...sandboxed(2), netNs: browser.netNs }]);
        assert.deepEqual([sharedNet.networkNamespace, sharedNet.adequate], [false, false]);
        // --no-sandbox: renderers in the browser's namespaces, no filter.
        assert.deepEqual(judgeSandbox(browser, [{ ...browser }]), {
            layer1: "None",
            pidNamespace: false,
            networkNamespace: false,
            seccompBpf: false,
            adequate: false,
            renderers: 1,
        });
        // No renderer to look at is no evidence of a sandbox.
        assert.equal(judgeSandbox(browser, []).adequate, false);
    });
});

/** One process as /proc shows it. */
interface Proc {
    readonly pid: number;
    readonly ppid: number;
    readonly cmdline: string;
    readonly environ: string;
    readonly seccomp: string;
    readonly ns: { user: string; pid: string; net: string };
}

function readProc(pid: number): Proc | undefined {
    try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
        const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
        const ns = (n: string) => fs.readlinkSync(`/proc/${pid}/ns/${n}`);
        return {
            pid,
            ppid: Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]),
            cmdline: fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " "),
            environ: fs.readFileSync(`/proc/${pid}/environ`, "utf8"),
            seccomp: /^Seccomp:\s+(\d)/m.exec(status)?.[1] ?? "?",
            ns: { user: ns("user"), pid: ns("pid"), net: ns("net") },
        };
    } catch {
        return undefined; // ended while we looked
    }
}

/** `root` and every process below it. */
function processTree(root: number): Proc[] {
    const all = fs
        .readdirSync("/proc")
        .filter((e) => /^\d+$/.test(e))
        .map((e) => readProc(Number(e)))
        .filter((p): p is Proc => p !== undefined);
    const out: Proc[] = [];
    const stack = [root];
    while (stack.length) {
        const pid = stack.pop() as number;
        const p = all.find((x) => x.pid === pid);
        if (p) out.push(p);
        stack.push(...all.filter((x) => x.ppid === pid).map((x) => x.pid));
    }
    return out;
}

/** An unprivileged account to run Chromium as: nobody, or one this test creates (CI machines are fresh, root). */
function unprivilegedUser(): { uid: number; gid: number } {
    const lookup = (name: string) => {
        const r = spawnSync("getent", ["passwd", name], { encoding: "utf8" });
        const f = r.stdout.trim().split(":");
        return r.status === 0 && f.length > 3 ? { uid: Number(f[2]), gid: Number(f[3]) } : undefined;
    };
    const found = lookup("nobody") ?? lookup("fs-sandbox-test");
    if (found) return found;
    const add = spawnSync("useradd", ["--system", "--no-create-home", "fs-sandbox-test"], { encoding: "utf8" });
    assert.equal(add.status, 0, `useradd fs-sandbox-test failed: ${add.stderr}`);
    return lookup("fs-sandbox-test") as { uid: number; gid: number };
}

describe("Chromium sandbox and the Supabase key, on real Chromium as an unprivileged user", function () {
    // Starting ts-node and Chromium as another user takes well over a minute on a loaded 2-vCPU machine.
    this.timeout(300_000);
    let sm: SecretsManagerServer;
    let sites: FixtureServer;
    let home: string;
    const key = `sb-runner-key-${crypto.randomBytes(24).toString("hex")}`;
    const supabaseUrl = `https://sandbox-${crypto.randomBytes(6).toString("hex")}.supabase.co`;
    const canary = `/v2/credentials/${crypto.randomBytes(12).toString("hex")}`;
    const arn = (what: string) =>
        `arn:aws:secretsmanager:us-east-1:123456789012:secret:/fs-runner/test/supabase/${what}-AbCdEf`;

    before(async function () {
        // Reading a sandboxed (non-dumpable) process's /proc entries takes CAP_SYS_PTRACE: root, as CI runs.
        if (!isRoot) this.skip();
        sm = await startSecretsManager({ [arn("url")]: supabaseUrl, [arn("key")]: key });
        sites = await startFixtureServer({ sites: 3 });
        home = fs.mkdtempSync(path.join(os.tmpdir(), "runner-sandbox-"));
    });
    after(async () => {
        await sm?.close();
        await sites?.close();
        if (home) fs.rmSync(home, { recursive: true, force: true });
    });

    it("refuses to start Chromium as root without RUNNER_ALLOW_NO_SANDBOX=1", async () => {
        await assert.rejects(
            launchBrowser({ ...process.env, [ALLOW_NO_SANDBOX]: undefined }),
            /SandboxError: the runner runs as root, .*set RUNNER_ALLOW_NO_SANDBOX=1 for local development/,
        );
    });

    it("reports the sandbox off when RUNNER_ALLOW_NO_SANDBOX=1 lets root run without one", async () => {
        let seen: [boolean, string] | undefined;
        const browser = await launchBrowser({ ...process.env, [ALLOW_NO_SANDBOX]: "1" }, (p, s) => {
            seen = [p.sandbox, s.layer1];
        });
        await browser.close();
        assert.deepEqual(seen, [false, "None"]);
    });

    it("sandboxes every renderer and keeps the key out of every Chromium process's environment and command line", async () => {
        const user = unprivilegedUser();
        fs.chownSync(home, user.uid, user.gid);
        const urls = [
            `${sites.siteOrigins[0]}/01-basic-labels/`,
            `${sites.siteOrigins[1]}/03-english/`,
            `${sites.siteOrigins[2]}/02-table-confirm/`,
        ];
        const child = spawn(
            process.execPath,
            ["-r", "ts-node/register/transpile-only", path.join(__dirname, "sandboxChild.ts")],
            {
                cwd: ROOT,
                uid: user.uid,
                gid: user.gid,
                stdio: ["pipe", "pipe", "pipe"],
                env: {
                    PATH: process.env.PATH,
                    HOME: home,
                    TMPDIR: home,
                    FORM_SENDER_ENV: "aws_batch",
                    SUPABASE_URL_SECRET_ARN: arn("url"),
                    SUPABASE_KEY_SECRET_ARN: arn("key"),
                    AWS_ENDPOINT_URL_SECRETS_MANAGER: sm.endpoint,
                    AWS_REGION: "us-east-1",
                    AWS_ACCESS_KEY_ID: "AKIDEXAMPLE",
                    AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                    // What the ECS agent puts in every job's environment: Chromium must not get it either.
                    AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: canary,
                    SANDBOX_TEST_URLS: JSON.stringify(urls),
                    ...(process.env.CHROMIUM_PATH ? { CHROMIUM_PATH: process.env.CHROMIUM_PATH } : {}),
                },
            },
        );
        let stdout = "";
        let stderr = "";
        child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
        const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
        let tree: Proc[] = [];
        await new Promise<void>((resolve, reject) => {
            child.stdout.on("data", (c: Buffer) => {
                stdout += c.toString();
                if (tree.length === 0 && stdout.includes("READY\n")) {
                    tree = processTree(child.pid as number);
                    child.stdin.write("GO\n");
                    resolve();
                }
            });
            void exited.then((code) => reject(new Error(`child exited (${code}) before READY: ${stderr}`)));
        });
        const code = await exited;
        assert.equal(code, 0, stderr);
        const result = JSON.parse(stdout.split("\n").filter(Boolean).pop() as string) as {
            status: SandboxStatus;
            settled: string[];
            source: string;
            keyLength: number;
        };
        // The child read both secrets from Secrets Manager and filled every form.
        assert.deepEqual([...sm.requests].sort(), [arn("key"), arn("url")]);
        assert.deepEqual([result.source, result.keyLength, result.settled.length], ["secrets-manager", key.length, 3]);
        // Chromium's own report: the namespace sandbox with seccomp-bpf.
        assert.deepEqual(
            [result.status.layer1, result.status.pidNamespace, result.status.networkNamespace],
            ["Namespace", true, true],
        );
        assert.deepEqual([result.status.seccompBpf, result.status.adequate], [true, true]);

        const runner = tree[0];
        assert.equal(runner.pid, child.pid);
        const chromium = tree.filter((p) => p.pid !== child.pid);
        const renderers = chromium.filter((p) => p.cmdline.includes("--type=renderer"));
        assert.ok(renderers.length > 0, `no renderer among ${chromium.map((p) => p.cmdline.slice(0, 60)).join("; ")}`);
        for (const r of renderers) {
            // Seccomp 2 = filter mode; its own user, PID and network namespaces (Chromium's namespace sandbox).
            assert.equal(r.seccomp, "2", `renderer ${r.pid} is not under a seccomp filter`);
            assert.notEqual(r.ns.user, runner.ns.user, `renderer ${r.pid} shares the runner's user namespace`);
            assert.notEqual(r.ns.pid, runner.ns.pid, `renderer ${r.pid} shares the runner's PID namespace`);
            assert.notEqual(r.ns.net, runner.ns.net, `renderer ${r.pid} shares the runner's network namespace`);
        }
        // No secret, and nothing of the runner's own environment, in any Chromium process; nor in the runner's.
        for (const p of tree) {
            for (const [what, text] of [
                ["environment", p.environ],
                ["command line", p.cmdline],
            ]) {
                assert.ok(!text.includes(key), `process ${p.pid} has the Supabase key in its ${what}`);
                assert.ok(!text.includes(supabaseUrl), `process ${p.pid} has the Supabase URL in its ${what}`);
            }
        }
        for (const p of chromium) {
            assert.ok(!p.environ.includes(canary), `Chromium process ${p.pid} inherited the runner's environment`);
        }
        assert.ok(runner.environ.includes(canary), "the runner's environment is readable (the check can see it)");
    });
});
