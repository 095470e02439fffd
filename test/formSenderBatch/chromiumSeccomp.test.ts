/**
 * Chromium's sandbox on the Batch hosts (issue 19): the Docker seccomp profile the launch template installs, the
 * user data that installs it, the plan that wires it up, and the kernel's verdict: the runner's Chromium, as an
 * unprivileged user in an emulated Docker container (test/support/dockerSeccompExec.py loads a profile as runc does,
 * with Docker's default capabilities), has no sandbox under Docker's default profile and is sandboxed under this one.
 */
import * as assert from "assert";
import { spawn, spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
    CHROMIUM_SECCOMP_ADDITIONS,
    chromiumSeccompProfile,
    CLONE_NEWCGROUP,
    CLONE_NEWIPC,
    CLONE_NEWNET,
    CLONE_NEWNS,
    CLONE_NEWPID,
    CLONE_NEWUSER,
    CLONE_NEWUTS,
    DOCKER_CLONE_NAMESPACE_MASK,
    dockerDefaultProfile,
    HOST_PROFILE_PATH,
    hostScript,
    hostUserData,
    USER_DATA_BOUNDARY,
    type SeccompProfile,
    type SeccompSyscall,
} from "../../components/formSender/chromiumSeccomp";
import { resolveChromiumPath, type SandboxStatus } from "../../containers/runner/src/browser";
import { json, planFor } from "../harness";

const ROOT = path.resolve(__dirname, "..", "..");
const SIGCHLD = 17;
/** The container's capabilities: Docker's default set (moby/moby oci/caps/defaults.go), no CAP_SYS_ADMIN. */
const DOCKER_CAPS = new Set([
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
]);

/** Whether the profile lets an amd64 container with Docker's default capabilities call `name` with arg 0 = `a0`. */
function allows(profile: SeccompProfile, name: string, a0: number): boolean {
    const applies = (e: SeccompSyscall) =>
        !(e.excludes?.arches ?? []).includes("amd64") &&
        !(e.excludes?.caps ?? []).some((c) => DOCKER_CAPS.has(c)) &&
        ((e.includes?.arches ?? []).length === 0 || (e.includes?.arches ?? []).includes("amd64")) &&
        (e.includes?.caps ?? []).every((c) => DOCKER_CAPS.has(c));
    const matches = (e: SeccompSyscall) =>
        (e.args ?? []).every((arg) => {
            assert.equal(arg.index, 0, "only argument 0 is modelled");
            if (arg.op === "SCMP_CMP_EQ") return a0 === arg.value;
            if (arg.op === "SCMP_CMP_MASKED_EQ") return (a0 & arg.value) === 0;
            throw new Error(`unmodelled op ${arg.op}`);
        });
    return profile.syscalls.some(
        (e) => e.names.includes(name) && e.action === "SCMP_ACT_ALLOW" && applies(e) && matches(e),
    );
}

describe("Chromium seccomp profile for the Batch hosts", () => {
    it("is moby v25.0.16's default profile, unchanged, plus exactly the two additions", () => {
        const base = dockerDefaultProfile();
        // sha256 of JSON.stringify(JSON.parse(git show v25.0.16:profiles/seccomp/default.json)) in moby/moby; the
        // file itself is byte-identical from v25.0.0 through v27.5.1 (sha256 9c1025c88cca…).
        assert.equal(
            crypto.createHash("sha256").update(JSON.stringify(base)).digest("hex"),
            "a1c88dd679944776676eede5dd9da92a058731b85b9a1409f304f6acb2ce94f4",
        );
        const profile = chromiumSeccompProfile();
        assert.deepEqual({ ...profile, syscalls: profile.syscalls.slice(0, base.syscalls.length) }, base);
        assert.deepEqual(profile.syscalls.slice(base.syscalls.length), CHROMIUM_SECCOMP_ADDITIONS);
        // Docker's own clone rule uses the same mask the additions are derived from.
        const dockerClone = base.syscalls.find((e) => e.names.join() === "clone" && e.includes == null);
        assert.equal(dockerClone?.args?.[0].value, DOCKER_CLONE_NAMESPACE_MASK);
        assert.equal(DOCKER_CLONE_NAMESPACE_MASK, 2114060288);
        assert.deepEqual(CHROMIUM_SECCOMP_ADDITIONS[0].args, [
            { index: 0, value: 0x0e020000, op: "SCMP_CMP_MASKED_EQ" },
        ]);
        assert.deepEqual(CHROMIUM_SECCOMP_ADDITIONS[1].args, [{ index: 0, value: 0x10000000, op: "SCMP_CMP_EQ" }]);
    });

    it("allows the namespace calls Chromium makes and still refuses mount, UTS, IPC and cgroup namespaces", () => {
        const base = dockerDefaultProfile();
        const profile = chromiumSeccompProfile();
        // What strace shows the image's Chromium doing (see chromiumSeccomp.ts).
        const chromiumClones = [
            CLONE_NEWUSER | SIGCHLD,
            CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | SIGCHLD,
            CLONE_NEWPID | SIGCHLD,
        ];
        for (const flags of chromiumClones) {
            assert.equal(
                allows(base, "clone", flags),
                false,
                `Docker's default refuses clone(0x${flags.toString(16)})`,
            );
            assert.equal(allows(profile, "clone", flags), true, `clone(0x${flags.toString(16)})`);
        }
        assert.equal(allows(base, "unshare", CLONE_NEWUSER), false);
        assert.equal(allows(profile, "unshare", CLONE_NEWUSER), true);
        for (const ns of [CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWCGROUP]) {
            assert.equal(allows(profile, "clone", ns | SIGCHLD), false, `clone(0x${ns.toString(16)})`);
            assert.equal(allows(profile, "clone", CLONE_NEWUSER | ns | SIGCHLD), false, `clone(NEWUSER|${ns})`);
            assert.equal(allows(profile, "unshare", ns), false, `unshare(0x${ns.toString(16)})`);
            assert.equal(allows(profile, "unshare", CLONE_NEWUSER | ns), false, `unshare(NEWUSER|${ns})`);
        }
        // Threads and plain forks keep working, as under Docker's default.
        assert.equal(allows(profile, "clone", 0x3d0f00), true);
        assert.equal(allows(profile, "setns", 0), false);
        assert.equal(allows(profile, "mount", 0), false);
    });
});

/** The user data's one part, split as cloud-init's MIME parser (Python's email package) splits it. */
function parseUserData(text: string): { headers: string[]; parts: { headers: string[]; body: string }[] } {
    const [head, rest] = [text.slice(0, text.indexOf("\n\n")), text.slice(text.indexOf("\n\n") + 2)];
    const chunks = rest.split(`--${USER_DATA_BOUNDARY}`);
    assert.equal(chunks[0], "", "nothing before the first boundary");
    assert.equal(chunks[chunks.length - 1], "--\n", "ends with the closing boundary");
    const parts = chunks.slice(1, -1).map((c) => {
        assert.ok(c.startsWith("\n"), "a boundary line ends with a line break");
        const body = c.slice(1);
        const sep = body.indexOf("\n\n");
        // The line break before a boundary belongs to the boundary (RFC 2046 §5.1.1).
        assert.ok(body.endsWith("\n"), "a boundary starts on its own line");
        return { headers: body.slice(0, sep).split("\n"), body: body.slice(sep + 2, -1) };
    });
    return { headers: head.split("\n"), parts };
}

describe("launch template user data", () => {
    it("is a MIME multi-part archive with one shell-script part that writes the profile", () => {
        const userData = hostUserData();
        const { headers, parts } = parseUserData(userData);
        assert.deepEqual(headers, [
            "MIME-Version: 1.0",
            `Content-Type: multipart/mixed; boundary="${USER_DATA_BOUNDARY}"`,
        ]);
        assert.equal(parts.length, 1);
        assert.deepEqual(parts[0].headers, ['Content-Type: text/x-shellscript; charset="us-ascii"']);
        const script = parts[0].body;
        assert.equal(script, hostScript());
        assert.ok(script.startsWith("#!/bin/bash\n"));
        // The boundary line must not appear inside the part (RFC 2046 §5.1.1).
        assert.ok(!script.includes(`--${USER_DATA_BOUNDARY}`));
        // us-ascii, as the part says.
        assert.ok([...userData].every((ch) => ch.charCodeAt(0) < 128));
        const profile = /<<'PROFILE'\n(.*)\nPROFILE\n/.exec(script)?.[1];
        assert.deepEqual(JSON.parse(profile ?? "null"), chromiumSeccompProfile());
        assert.ok(script.includes(`conf["seccomp-profile"] = "${HOST_PROFILE_PATH}"`));
        // EC2 user data is limited to 16 KB before base64 (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/
        // user-data.html); AWS Batch adds its own part, so keep well below.
        assert.ok(Buffer.byteLength(userData) < 12 * 1024, `user data is ${Buffer.byteLength(userData)} bytes`);
        // restart docker comes after the profile and daemon.json are written.
        assert.ok(script.indexOf("systemctl restart docker") > script.indexOf("PY\n"));
    });

    it("parses as cloud-init parses it, is valid bash, and its daemon.json edit keeps the AMI's settings", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fs-userdata-"));
        try {
            const script = hostScript();
            fs.writeFileSync(path.join(dir, "script.sh"), script);
            const syntax = spawnSync("bash", ["-n", path.join(dir, "script.sh")], { encoding: "utf8" });
            assert.equal(syntax.status, 0, syntax.stderr);
            // cloud-init reads the archive with Python's email package (cloudinit/user_data.py): one text/x-shellscript
            // part whose payload is the script.
            fs.writeFileSync(path.join(dir, "user-data"), hostUserData());
            const mime = spawnSync(
                "python3",
                [
                    "-c",
                    "import email,json,sys; m=email.message_from_string(open(sys.argv[1]).read()); " +
                        "print(json.dumps([[p.get_content_type(), p.get_payload()] for p in m.walk() " +
                        "if not p.is_multipart()]))",
                    path.join(dir, "user-data"),
                ],
                { encoding: "utf8" },
            );
            assert.equal(mime.status, 0, mime.stderr);
            assert.deepEqual(JSON.parse(mime.stdout), [["text/x-shellscript", script]]);
            // The python part, against a copy of the ECS AMI's daemon.json (aws/amazon-ecs-ami install-docker.sh).
            const py = /python3 - <<'PY'\n([\s\S]*?)\nPY\n/.exec(script)?.[1] ?? "";
            const daemonJson = path.join(dir, "daemon.json");
            fs.writeFileSync(daemonJson, '{\n    "userland-proxy": false\n}\n');
            const run = spawnSync("python3", ["-c", py.replace("/etc/docker/daemon.json", daemonJson)], {
                encoding: "utf8",
            });
            assert.equal(run.status, 0, run.stderr);
            assert.deepEqual(JSON.parse(fs.readFileSync(daemonJson, "utf8")), {
                "userland-proxy": false,
                "seccomp-profile": HOST_PROFILE_PATH,
            });
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});

describe("Chromium sandbox in the plan", function () {
    this.timeout(120_000);
    for (const stack of ["stg", "prd"]) {
        it(`${stack}: both compute environments use the launch template that installs the profile`, async () => {
            const plan = await planFor(stack);
            const lt = plan.get("aws:ec2/launchTemplate:LaunchTemplate", "form-sender-instances");
            const userData = Buffer.from(String(lt.inputs.userData), "base64").toString("utf8");
            assert.equal(userData, hostUserData());
            for (const ce of ["form-sender-spot-ce", "form-sender-ondemand-ce"]) {
                const inputs = plan.inputs<{ computeResources: { launchTemplate?: { launchTemplateId?: string } } }>(
                    "aws:batch/computeEnvironment:ComputeEnvironment",
                    ce,
                );
                // The mock engine's id for the launch template resource.
                assert.equal(inputs.computeResources.launchTemplate?.launchTemplateId, "form-sender-instances-id", ce);
            }
        });

        it(`${stack}: the job definition no longer turns the sandbox off`, async () => {
            const plan = await planFor(stack);
            const job = plan.inputs<{ containerProperties: string }>(
                "aws:batch/jobDefinition:JobDefinition",
                "form-sender-job",
            );
            const props = json<{ environment: { name: string }[]; privileged: boolean }>(job.containerProperties);
            assert.deepEqual(
                props.environment.filter((e) => /SANDBOX/.test(e.name)),
                [],
            );
            assert.equal(props.privileged, false);
        });
    }
});

/** Whether this machine can emulate a Docker container: root, python3 and libseccomp 2. */
function emulationMissing(): string | undefined {
    if (process.getuid?.() !== 0) return "not root";
    const py = spawnSync("python3", [
        "-c",
        "import ctypes,ctypes.util; ctypes.CDLL(ctypes.util.find_library('seccomp') or 'libseccomp.so.2')",
    ]);
    if (py.status !== 0) return "python3 with libseccomp 2 missing";
    return undefined;
}

function nobody(): { uid: number; gid: number } {
    const r = spawnSync("getent", ["passwd", "nobody"], { encoding: "utf8" });
    const f = r.stdout.trim().split(":");
    return { uid: Number(f[2]), gid: Number(f[3]) };
}

describe("Chromium under the hosts' seccomp profile, in an emulated Docker container", function () {
    // Each case starts Chromium (and, for the runner's check, ts-node) as another user on a loaded machine.
    this.timeout(300_000);
    let dir: string;
    const profiles: Record<string, SeccompProfile> = {};
    before(function () {
        const missing = emulationMissing();
        if (missing) {
            // CI runs as root on Debian (python3 and libseccomp2 come with the image); say why it did not run.
            console.log(`      skipped: ${missing}`);
            this.skip();
        }
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "fs-seccomp-"));
        fs.chmodSync(dir, 0o755);
        const base = dockerDefaultProfile();
        profiles.default = base;
        profiles.chromium = chromiumSeccompProfile();
        profiles.cloneOnly = { ...base, syscalls: [...base.syscalls, CHROMIUM_SECCOMP_ADDITIONS[0]] };
        profiles.unshareOnly = { ...base, syscalls: [...base.syscalls, CHROMIUM_SECCOMP_ADDITIONS[1]] };
        for (const [name, p] of Object.entries(profiles))
            fs.writeFileSync(path.join(dir, `${name}.json`), JSON.stringify(p));
    });
    after(() => {
        if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    /** Runs `command` ("{home}" = its home) as nobody under the named profile; resolves with exit code and output. */
    function inContainer(
        profile: string,
        command: string[],
        env: NodeJS.ProcessEnv,
    ): Promise<{ code: number | null; out: string }> {
        const user = nobody();
        const home = fs.mkdtempSync(path.join(dir, "home-"));
        fs.chownSync(home, user.uid, user.gid);
        const child = spawn(
            "python3",
            [
                path.join(ROOT, "test", "support", "dockerSeccompExec.py"),
                path.join(dir, `${profile}.json`),
                String(user.uid),
                String(user.gid),
                "--",
                ...command.map((a) => a.replace("{home}", home)),
            ],
            {
                cwd: ROOT,
                env: { PATH: process.env.PATH, HOME: home, TMPDIR: home, ...env },
                stdio: ["ignore", "pipe", "pipe"],
            },
        );
        let out = "";
        child.stdout.on("data", (c: Buffer) => (out += c.toString()));
        child.stderr.on("data", (c: Buffer) => (out += c.toString()));
        return new Promise((resolve) => child.on("exit", (code) => resolve({ code, out })));
    }

    const chromium = resolveChromiumPath() ?? "/usr/bin/chromium-headless-shell";
    const rawChromium = () => [chromium, "--headless", "--user-data-dir={home}/ud", "--dump-dom", "about:blank"];

    it("Docker's default profile leaves Chromium no sandbox", async () => {
        const { code, out } = await inContainer("default", rawChromium(), {});
        assert.notEqual(code, 0, out);
        assert.match(out, /No usable sandbox!/);
    });

    for (const [profile, missing] of [
        ["cloneOnly", "unshare(CLONE_NEWUSER)"],
        ["unshareOnly", "clone with namespace flags"],
    ]) {
        it(`without ${missing}, Chromium still has no sandbox: both additions are needed`, async () => {
            const { code, out } = await inContainer(profile, rawChromium(), {});
            assert.notEqual(code, 0, out);
            assert.match(out, /No usable sandbox!/);
        });
    }

    it("under the hosts' profile the runner's launchBrowser gets the namespace sandbox with seccomp-bpf", async () => {
        const { code, out } = await inContainer(
            "chromium",
            [
                process.execPath,
                "-r",
                "ts-node/register/transpile-only",
                path.join(__dirname, "chromiumSeccompChild.ts"),
            ],
            { ...(process.env.CHROMIUM_PATH ? { CHROMIUM_PATH: process.env.CHROMIUM_PATH } : {}) },
        );
        assert.equal(code, 0, out);
        const line =
            out
                .split("\n")
                .filter((l) => l.startsWith("{"))
                .pop() ?? "{}";
        const { status } = JSON.parse(line) as { status: SandboxStatus };
        const { renderers, ...confinement } = status;
        assert.ok(renderers >= 1, `no renderer was inspected: ${line}`);
        assert.deepEqual(confinement, {
            layer1: "Namespace",
            pidNamespace: true,
            networkNamespace: true,
            seccompBpf: true,
            adequate: true,
        });
    });

    it("under Docker's default profile the runner's launchBrowser refuses to start", async () => {
        const { code, out } = await inContainer(
            "default",
            [
                process.execPath,
                "-r",
                "ts-node/register/transpile-only",
                path.join(__dirname, "chromiumSeccompChild.ts"),
            ],
            {},
        );
        assert.equal(code, 1, out);
        assert.match(out, /"error":"Chromium could not start its sandbox/);
    });
});
