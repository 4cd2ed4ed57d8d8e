"""CPU a ``claystack`` process spends to start (issue 11 item 6: the suite starts many).

    serve   ``claystack serve`` on a fresh SQLite data directory, from exec until its first
            ``/_claystack/health`` answer: the child's user + system time from /proc
    help    ``claystack --help`` (the command tree, no SDK)
    call    ``claystack --url http://127.0.0.1:9/v3 --token x workspaces`` (imports the SDK,
            then fails to connect: a command's start without the server's share)

Usage: ``.venv/bin/python bench/process_start.py [--repeat N]``. The processes run this
interpreter with ``-c "from claystack.cli import main; main()"`` and inherit the environment
(so ``PYTHONPATH=<other checkout>/src`` measures another version of the code).
"""

from __future__ import annotations

import argparse
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time

import httpx

CLI = [sys.executable, "-c", "from claystack.cli import main; main()"]


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def serve_to_health() -> tuple[float, float]:
    """(wall, CPU) of one ``claystack serve`` until it answers; it is stopped after."""
    with tempfile.TemporaryDirectory() as data:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CLAYSTACK_", "XDG_"))}
        env.update(HOME=data, CLAYSTACK_PASSWORD_HASH_COST="low")
        args = ["serve", "--port", str(port), "--data-dir", data, "--log-level", "warning"]
        started = time.monotonic()
        proc = subprocess.Popen(
            [*CLI, *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        with httpx.Client() as http:
            while True:
                try:
                    if http.get(f"http://127.0.0.1:{port}/_claystack/health").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if proc.poll() is not None:
                    raise SystemExit("claystack serve ended before answering")
                time.sleep(0.02)
        wall = time.monotonic() - started
        with open(f"/proc/{proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        proc.terminate()
        proc.wait()
        return wall, cpu


def command(*args: str) -> float:
    """CPU of one ``claystack ARGS`` process, run to its end."""
    before = _child_cpu()
    subprocess.run([*CLI, *args], capture_output=True, check=False)
    return _child_cpu() - before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    repeat = parser.parse_args().repeat
    for _ in range(repeat):
        wall, cpu = serve_to_health()
        help_cpu = command("--help")
        call_cpu = command("--url", "http://127.0.0.1:9/v3", "--token", "x", "workspaces")
        print(
            f"serve to health: {cpu:.2f} s CPU ({wall:.2f} s wall); "
            f"--help {help_cpu:.2f} s; workspaces (SDK, refused) {call_cpu:.2f} s"
        )


if __name__ == "__main__":
    main()
