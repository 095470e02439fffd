#!/usr/bin/env python3
"""Run a command the way Docker runs a container's process, as far as seccomp and capabilities go.

Usage: dockerSeccompExec.py PROFILE.json UID GID -- COMMAND [ARGS...]   (as root)

What dockerd and runc do, and this script repeats (on x86_64 only):
- dockerd turns the profile into the container's filter: an entry is dropped when `excludes` names this
  architecture, a capability the container has, or a kernel at least `minKernel`; kept only when `includes`
  names this architecture, capabilities the container all has, a kernel at least `minKernel`
  (moby/moby profiles/seccomp/seccomp_linux.go `setupSeccomp`, v25.0.16, the Docker of the ECS-optimized AL2023 AMI).
- The container's capabilities are Docker's default set (moby/moby oci/caps/defaults.go `DefaultCapabilities`):
  the bounding set is cut to it, so CAP_SYS_ADMIN is gone for good.
- runc loads the filter while the process still runs as root (no no_new_privs, as Docker sets none by default),
  then switches to the container's user and executes the command (opencontainers/runc libcontainer/init_linux.go,
  standard_init_linux.go: seccomp before `finalizeNamespace` only when NoNewPrivileges is off).
- Entries for syscalls this libseccomp does not know are skipped, and entries whose action is the default action
  are not added (runc libcontainer/seccomp/seccomp_linux.go `InitSeccomp`, which does the same).
Only the native architecture is added: what is checked here is what the x86_64 Chromium can do.

libseccomp 2.5 is used through ctypes (Debian's libseccomp2, a dependency of apt, so present on every Debian
machine); the constants are those of seccomp.h (libseccomp v2.5.4 include/seccomp.h.in).
"""
import ctypes
import ctypes.util
import json
import os
import platform
import sys

SCMP_ACT_KILL_THREAD = 0x00000000
SCMP_ACT_TRAP = 0x00030000
SCMP_ACT_ERRNO = 0x00050000
SCMP_ACT_TRACE = 0x7FF00000
SCMP_ACT_LOG = 0x7FFC0000
SCMP_ACT_ALLOW = 0x7FFF0000
SCMP_FLTATR_CTL_NNP = 3
OPS = {
    "SCMP_CMP_NE": 1,
    "SCMP_CMP_LT": 2,
    "SCMP_CMP_LE": 3,
    "SCMP_CMP_EQ": 4,
    "SCMP_CMP_GE": 5,
    "SCMP_CMP_GT": 6,
    "SCMP_CMP_MASKED_EQ": 7,
}
# linux include/uapi/linux/capability.h
CAP_NUMBERS = {
    "CAP_CHOWN": 0,
    "CAP_DAC_OVERRIDE": 1,
    "CAP_FOWNER": 3,
    "CAP_FSETID": 4,
    "CAP_KILL": 5,
    "CAP_SETGID": 6,
    "CAP_SETUID": 7,
    "CAP_SETPCAP": 8,
    "CAP_NET_BIND_SERVICE": 10,
    "CAP_NET_RAW": 13,
    "CAP_SYS_CHROOT": 18,
    "CAP_MKNOD": 27,
    "CAP_AUDIT_WRITE": 29,
    "CAP_SETFCAP": 31,
}
DOCKER_DEFAULT_CAPS = set(CAP_NUMBERS)
PR_CAPBSET_DROP = 24
ARCH = "amd64"


class ArgCmp(ctypes.Structure):
    _fields_ = [
        ("arg", ctypes.c_uint),
        ("op", ctypes.c_int),
        ("datum_a", ctypes.c_uint64),
        ("datum_b", ctypes.c_uint64),
    ]


def action(name, errno_ret, default_errno):
    if name == "SCMP_ACT_ALLOW":
        return SCMP_ACT_ALLOW
    if name == "SCMP_ACT_ERRNO":
        return SCMP_ACT_ERRNO | ((errno_ret if errno_ret is not None else default_errno) & 0xFFFF)
    if name in ("SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD"):
        return SCMP_ACT_KILL_THREAD
    if name == "SCMP_ACT_TRAP":
        return SCMP_ACT_TRAP
    if name == "SCMP_ACT_LOG":
        return SCMP_ACT_LOG
    raise SystemExit(f"dockerSeccompExec: unsupported action {name}")


def kernel_at_least(version):
    want = [int(x) for x in version.split(".")]
    have = [int(x) for x in platform.release().split("-")[0].split(".")[:2]]
    return have >= want


def kept(entry, caps):
    exc = entry.get("excludes") or {}
    inc = entry.get("includes") or {}
    if ARCH in (exc.get("arches") or []):
        return False
    if any(c in caps for c in (exc.get("caps") or [])):
        return False
    if exc.get("minKernel") and kernel_at_least(exc["minKernel"]):
        return False
    if inc.get("arches") and ARCH not in inc["arches"]:
        return False
    if any(c not in caps for c in (inc.get("caps") or [])):
        return False
    if inc.get("minKernel") and not kernel_at_least(inc["minKernel"]):
        return False
    return True


def main():
    if len(sys.argv) < 6 or sys.argv[4] != "--":
        raise SystemExit("usage: dockerSeccompExec.py PROFILE.json UID GID -- COMMAND [ARGS...]")
    profile = json.load(open(sys.argv[1]))
    uid, gid = int(sys.argv[2]), int(sys.argv[3])
    command = sys.argv[5:]
    lib = ctypes.CDLL(ctypes.util.find_library("seccomp") or "libseccomp.so.2", use_errno=True)
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_init.argtypes = [ctypes.c_uint32]
    lib.seccomp_attr_set.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_uint32]
    lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_rule_add_array.argtypes = [
        ctypes.c_void_p,
        ctypes.c_uint32,
        ctypes.c_int,
        ctypes.c_uint,
        ctypes.POINTER(ArgCmp),
    ]
    lib.seccomp_load.argtypes = [ctypes.c_void_p]

    default_errno = profile.get("defaultErrnoRet", 1)
    default = action(profile["defaultAction"], None, default_errno)
    ctx = lib.seccomp_init(default)
    if not ctx:
        raise SystemExit("dockerSeccompExec: seccomp_init failed")
    if lib.seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0) != 0:
        raise SystemExit("dockerSeccompExec: cannot turn no_new_privs off")
    rules = 0
    for entry in profile["syscalls"]:
        if not kept(entry, DOCKER_DEFAULT_CAPS):
            continue
        act = action(entry["action"], entry.get("errnoRet"), default_errno)
        if act == default:
            continue
        args = entry.get("args") or []
        cmps = (ArgCmp * max(len(args), 1))()
        for i, a in enumerate(args):
            cmps[i] = ArgCmp(a["index"], OPS[a["op"]], a["value"], a.get("valueTwo", 0))
        for name in entry["names"]:
            nr = lib.seccomp_syscall_resolve_name(name.encode())
            if nr < 0:
                continue
            rc = lib.seccomp_rule_add_array(ctx, act, nr, len(args), cmps)
            if rc != 0:
                raise SystemExit(f"dockerSeccompExec: seccomp_rule_add_array({name}) failed: {rc}")
            rules += 1
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in range(0, 64):
        if cap in CAP_NUMBERS.values():
            continue
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 and ctypes.get_errno() != 22:  # EINVAL: no such cap
            raise SystemExit(f"dockerSeccompExec: cannot drop capability {cap} from the bounding set")
    rc = lib.seccomp_load(ctx)
    if rc != 0:
        raise SystemExit(f"dockerSeccompExec: seccomp_load failed: {rc}")
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)
    sys.stderr.write(f"dockerSeccompExec: {rules} rules loaded, running as {uid}:{gid}\n")
    os.execvp(command[0], command)


main()
