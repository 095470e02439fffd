/**
 * Chromium's sandbox on the Batch hosts (issue 19): the Docker seccomp profile the compute environments' hosts give
 * every container, and the launch-template user data that installs it.
 *
 * Why the hosts, and why this profile:
 * - Chromium's layer-1 sandbox on Linux is its namespace sandbox (unprivileged user namespaces) or, failing that, the
 *   setuid helper, which enters new PID and network namespaces as root (chromium sandbox/linux/README.md "setuid(2)",
 *   "namespaces"; docs/linux_sandboxing.md "Layered approach"). Run as an unprivileged user (the image's `runner`), it
 *   starts the
 *   namespace sandbox with clone(CLONE_NEWUSER) (probe), clone(CLONE_NEWUSER|CLONE_NEWPID|CLONE_NEWNET) (zygote),
 *   unshare(CLONE_NEWUSER) and, inside the new user namespace, clone(CLONE_NEWPID) for each renderer (strace of the
 *   image's Chromium 156; chromium sandbox/linux/services/credentials.cc, namespace_sandbox.cc).
 * - Docker's default seccomp profile, which ECS applies to every container it starts without its own security options
 *   (Batch jobs have none), allows clone only with none of the namespace flags (mask 2114060288 =
 *   CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET) and unshare only with CAP_SYS_ADMIN, which Docker's
 *   default capabilities lack (moby/moby profiles/seccomp/default.json and oci/caps/defaults.go at v25.0.16, the
 *   Docker of the ECS-optimized AL2023 AMI: aws/amazon-ecs-ami release-al2023.auto.pkrvars.hcl
 *   `docker_version_al2023 = "25.0.16"`). So Chromium finds "No usable sandbox!" and exits.
 * - A Batch job definition cannot change the container's seccomp profile or capabilities: LinuxParameters offers
 *   devices, initProcessEnabled, maxSwap, sharedMemorySize, swappiness and tmpfs only
 *   (https://docs.aws.amazon.com/batch/latest/APIReference/API_LinuxParameters.html), containerProperties has no
 *   security options. `privileged` is not an option: dockerd applies no seccomp filter at all to a privileged
 *   container and gives it every capability and device (moby/moby daemon/seccomp_linux.go `WithSeccomp` at v25.0.16:
 *   `if c.HostConfig.Privileged { return nil }`; "gives all capabilities to the container, and it also lifts all the
 *   limitations enforced by the device cgroup controller",
 *   https://docs.docker.com/engine/reference/run/#runtime-privilege-and-linux-capabilities).
 * - Debian's setuid helper (chromium-sandbox) needs CAP_SYS_ADMIN too: it clones with CLONE_NEWPID|CLONE_NEWNET as
 *   root (chromium sandbox/linux/suid/sandbox.c `MoveToNewNamespaces`), and a setuid binary gains only the bounding
 *   set's capabilities, which Docker cuts to its default set; and seccomp refuses that clone anyway. It would only
 *   add a setuid-root binary to the image, so the image installs none.
 * - dockerd takes a default profile for all containers from daemon.json `seccomp-profile`
 *   (https://docs.docker.com/reference/cli/dockerd/, `--seccomp-profile`; moby/moby daemon/config/config_linux.go
 *   `json:"seccomp-profile"`; daemon/seccomp_linux.go uses it for every container that names no profile of its own).
 *   The compute environments' launch template user data writes that file and restarts dockerd before the ECS agent
 *   starts (see `hostUserData`).
 * The profile is Docker's default unchanged plus two entries, both only for containers without CAP_SYS_ADMIN (with
 * it, Docker's own rules already allow clone and unshare):
 * - clone whose namespace flags are a subset of CLONE_NEWUSER|CLONE_NEWPID|CLONE_NEWNET (mount, UTS, IPC and cgroup
 *   namespaces stay refused). The kernel still requires CAP_SYS_ADMIN in the caller's user namespace for a PID or
 *   network namespace (man 7 user_namespaces, man 2 clone), which a container process only has inside a user
 *   namespace it created itself.
 * - unshare(CLONE_NEWUSER) exactly.
 * test/formSenderBatch/chromiumSeccomp.test.ts loads Docker's default and this profile the way runc does and shows
 * that the runner's Chromium, as an unprivileged user, is refused its sandbox under the first, needs both entries,
 * and is sandboxed under this one.
 */
import * as fs from "fs";
import * as path from "path";

/** Docker's default seccomp profile, moby/moby profiles/seccomp/default.json at v25.0.16, as JSON (vendored). */
export const DOCKER_DEFAULT_PROFILE_FILE = path.join(__dirname, "dockerSeccompDefault.json");
/** The moby/moby tag and commit the vendored profile is from (identical in v25.0.x through v27.5.1). */
export const DOCKER_DEFAULT_PROFILE_SOURCE = "moby/moby v25.0.16 (6fdf0a663f15d71b6944cb0b2bc3abac221ff15c)";

/** Namespace flags of clone(2)/unshare(2) (linux include/uapi/linux/sched.h). */
export const CLONE_NEWNS = 0x00020000;
export const CLONE_NEWCGROUP = 0x02000000;
export const CLONE_NEWUTS = 0x04000000;
export const CLONE_NEWIPC = 0x08000000;
export const CLONE_NEWUSER = 0x10000000;
export const CLONE_NEWPID = 0x20000000;
export const CLONE_NEWNET = 0x40000000;
/** The namespace flags Docker's default profile refuses in clone without CAP_SYS_ADMIN (2114060288). */
export const DOCKER_CLONE_NAMESPACE_MASK =
    CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET;

/** One entry of a Docker seccomp profile's `syscalls` (moby/moby profiles/seccomp/seccomp.go `Syscall`). */
export interface SeccompSyscall {
    readonly names: readonly string[];
    readonly action: string;
    readonly args?: readonly { readonly index: number; readonly value: number; readonly op: string }[] | null;
    readonly comment?: string;
    readonly includes?: { readonly caps?: readonly string[]; readonly arches?: readonly string[] } | null;
    readonly excludes?: { readonly caps?: readonly string[]; readonly arches?: readonly string[] } | null;
    readonly errnoRet?: number;
}

/** A Docker seccomp profile (moby/moby profiles/seccomp/seccomp.go `Seccomp`), as far as it matters here. */
export interface SeccompProfile {
    readonly defaultAction: string;
    readonly defaultErrnoRet?: number;
    readonly archMap?: unknown;
    readonly syscalls: readonly SeccompSyscall[];
}

/** What Chromium's namespace sandbox needs beyond Docker's default profile (see the file comment). */
export const CHROMIUM_SECCOMP_ADDITIONS: readonly SeccompSyscall[] = [
    {
        names: ["clone"],
        action: "SCMP_ACT_ALLOW",
        // (flags & (mask without NEWUSER|NEWPID|NEWNET)) == 0. The s390 argument order differs; like Docker's own
        // rule this one does not apply there.
        args: [
            {
                index: 0,
                value: DOCKER_CLONE_NAMESPACE_MASK & ~(CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET),
                op: "SCMP_CMP_MASKED_EQ",
            },
        ],
        comment: "Chromium namespace sandbox: clone with user, PID and network namespaces only",
        excludes: { caps: ["CAP_SYS_ADMIN"], arches: ["s390", "s390x"] },
    },
    {
        names: ["unshare"],
        action: "SCMP_ACT_ALLOW",
        args: [{ index: 0, value: CLONE_NEWUSER, op: "SCMP_CMP_EQ" }],
        comment: "Chromium namespace sandbox: unshare(CLONE_NEWUSER) only",
        excludes: { caps: ["CAP_SYS_ADMIN"] },
    },
];

/** Docker's default seccomp profile (the vendored file). */
export function dockerDefaultProfile(): SeccompProfile {
    return JSON.parse(fs.readFileSync(DOCKER_DEFAULT_PROFILE_FILE, "utf8")) as SeccompProfile;
}

/** Docker's default profile plus `CHROMIUM_SECCOMP_ADDITIONS`, nothing else changed. */
export function chromiumSeccompProfile(): SeccompProfile {
    const base = dockerDefaultProfile();
    return { ...base, syscalls: [...base.syscalls, ...CHROMIUM_SECCOMP_ADDITIONS] };
}

/** Where the user data writes the profile on the host. */
export const HOST_PROFILE_PATH = "/etc/docker/seccomp-chromium.json";
/** The MIME boundary of the user data (AWS Batch adds its own part with its own boundary). */
export const USER_DATA_BOUNDARY = "==FS-RUNNER-HOST==";

/**
 * The shell script that installs the profile: write it, point daemon.json's `seccomp-profile` at it (keeping the
 * AMI's other settings: the ECS AMI ships `{"userland-proxy": false}`, aws/amazon-ecs-ami scripts/install-docker.sh),
 * restart dockerd. cloud-init runs user-data scripts in cloud-final, and the ECS agent starts only after it
 * (`After=cloud-final.service` in aws/amazon-ecs-agent packaging/amazon-linux-ami-integrated/ecs.service), so no
 * container has started yet when dockerd restarts. python3 edits the JSON: AL2023 ships it (dnf runs on it).
 */
export function hostScript(profile: SeccompProfile = chromiumSeccompProfile()): string {
    return [
        "#!/bin/bash",
        "# Docker seccomp profile for the form-sender runner: Docker's default plus what Chromium's namespace",
        "# sandbox needs (components/formSender/chromiumSeccomp.ts).",
        "set -euo pipefail",
        "install -d -m 0755 /etc/docker",
        `cat > ${HOST_PROFILE_PATH} <<'PROFILE'`,
        JSON.stringify(profile),
        "PROFILE",
        "python3 - <<'PY'",
        "import json, os",
        'path = "/etc/docker/daemon.json"',
        "conf = json.load(open(path)) if os.path.exists(path) else {}",
        `conf["seccomp-profile"] = "${HOST_PROFILE_PATH}"`,
        'json.dump(conf, open(path, "w"), indent=2)',
        "PY",
        "systemctl restart docker",
        // On the instance's console log: the profile dockerd uses, and whether the kernel allows user namespaces.
        "echo \"fs-runner host: docker $(docker info --format '{{json .SecurityOptions}}')," +
            ' user.max_user_namespaces=$(cat /proc/sys/user/max_user_namespaces)"',
        "",
    ].join("\n");
}

/**
 * The launch template's user data: a MIME multi-part archive with one shell-script part, the form AWS Batch requires
 * so that it can merge its own part (https://docs.aws.amazon.com/batch/latest/userguide/launch-templates.html,
 * "Amazon EC2 user data in launch templates"; the format is cloud-init's,
 * https://cloudinit.readthedocs.io/en/latest/explanation/format.html#mime-multi-part-archive). CRLF line ends are
 * not needed: cloud-init parses it with Python's email package, which accepts LF.
 */
export function hostUserData(profile: SeccompProfile = chromiumSeccompProfile()): string {
    return [
        "MIME-Version: 1.0",
        `Content-Type: multipart/mixed; boundary="${USER_DATA_BOUNDARY}"`,
        "",
        `--${USER_DATA_BOUNDARY}`,
        'Content-Type: text/x-shellscript; charset="us-ascii"',
        "",
        hostScript(profile),
        `--${USER_DATA_BOUNDARY}--`,
        "",
    ].join("\n");
}
