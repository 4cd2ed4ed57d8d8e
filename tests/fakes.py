"""Shared helpers for tests that start real `claystack` processes."""

from __future__ import annotations

import socket
import subprocess
import time

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(url: str, procs: list[subprocess.Popen[str]], timeout: float = 180) -> None:
    """Waits for ``/_claystack/ready`` at ``url``; fails at once if one of ``procs`` exits."""
    deadline = time.monotonic() + timeout
    with poller() as http:
        while time.monotonic() < deadline:
            for p in procs:
                assert p.poll() is None, p.stderr.read() if p.stderr else p.returncode
            try:
                if http.get(f"{url}/_claystack/ready", timeout=5).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
    raise AssertionError(f"{url} not ready")


def poller() -> httpx.Client:
    """The client to poll a starting server with: one for all the polls, as each new httpx
    client loads the CA bundle (~30 ms of CPU, taken from the server that is starting)."""
    return httpx.Client(timeout=2)
