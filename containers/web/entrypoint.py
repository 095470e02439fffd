#!/usr/bin/env python3
"""Supervise the weather app's two servers in one container.

Starts Streamlit (:8501) and the FastAPI server (:8000), forwards SIGTERM/SIGINT to both, and
exits as soon as either one exits, stopping the other, so ECS sees a dead task and replaces it
instead of running half an app. (`sh -c "a & b"` would neither forward signals nor notice a
crashed background process.)

Given a command (`entrypoint.py python src/batch/nightly_comments.py`, which is what an ECS
container override's `command` becomes, since it replaces the image's CMD and never its
ENTRYPOINT), it runs that command instead of the servers: it replaces this process (exec), so the
command receives signals from tini directly and its exit code is the container's.

WEB_FRONTEND_CMD / WEB_API_CMD override the commands (shell words, no shell is started);
WEB_STOP_GRACE_SECONDS is how long a child gets after SIGTERM before SIGKILL (ECS gives the
container 30 s by default, so the default stays below that).
"""
import os
import shlex
import signal
import subprocess
import sys
import time

FRONTEND = "streamlit run app.py --server.address=0.0.0.0 --server.port=8501 --server.headless=true"
API = "python api_server.py"


def log(message):
    print(f"entrypoint: {message}", file=sys.stderr, flush=True)


def run_command(argv):
    log(f"running the given command instead of the servers: {' '.join(argv)}")
    try:
        os.execvp(argv[0], argv)
    except OSError as err:
        # 127 is what a shell reports for a command it cannot run; the batch must not look successful.
        log(f"cannot run {argv[0]!r}: {err}")
        sys.exit(127)


def main():
    if len(sys.argv) > 1:
        run_command(sys.argv[1:])
    grace = float(os.environ.get("WEB_STOP_GRACE_SECONDS", "20"))
    commands = {
        "frontend": shlex.split(os.environ.get("WEB_FRONTEND_CMD", FRONTEND)),
        "api": shlex.split(os.environ.get("WEB_API_CMD", API)),
    }
    children = {name: subprocess.Popen(cmd) for name, cmd in commands.items()}
    for name, child in children.items():
        log(f"started {name} (pid {child.pid}): {' '.join(commands[name])}")

    received = []

    def forward(signum, _frame):
        received.append(signum)
        for child in children.values():
            if child.poll() is None:
                child.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)

    exited = None
    while exited is None:
        for name, child in children.items():
            if child.poll() is not None:
                exited = (name, child.returncode)
                break
        else:
            time.sleep(0.1)

    name, code = exited
    if received:
        log(f"{name} exited with {code} after signal {received[0]}")
    else:
        log(f"{name} exited unexpectedly with {code}; stopping the other server")
    deadline = time.monotonic() + grace
    for child in children.values():
        if child.poll() is None:
            child.terminate()
    for other, child in children.items():
        remaining = deadline - time.monotonic()
        try:
            child.wait(timeout=max(remaining, 0))
        except subprocess.TimeoutExpired:
            log(f"{other} ignored SIGTERM for {grace:.0f} s; killing it")
            child.kill()
            child.wait()

    if received:
        # Stopped on request: report the conventional 128 + signal code unless a child failed.
        sys.exit(code if code not in (0, -received[0]) else 128 + received[0])
    # A server died on its own: never report success, whatever its code.
    sys.exit(code if code and code > 0 else 1)


if __name__ == "__main__":
    main()
