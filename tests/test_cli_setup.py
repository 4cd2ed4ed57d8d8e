"""A new user's setup through the real ``claystack`` command, with a fresh HOME and no
CLAYSTACK_ settings but the cheap password hashing of tests (test_quickstart serves with none at
all): where the data lives, serve's output, the admin commands from another directory, login's
default URL. ``serve`` runs in its own process (the process is what is
tested); the other commands run in this one (typer's CliRunner, with that HOME, environment
and working directory), against the served database and over HTTP."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from claystack.cli import app as cli_app

from .fakes import free_port, poller

CLI = [sys.executable, "-c", "from claystack.cli import main; main()"]


@dataclass
class Ran:
    """What a ``claystack`` command did: its exit code and output."""

    returncode: int
    stdout: str
    stderr: str


class Home:
    """A fresh HOME with the claystack command, the way a new user has it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.home = root / "home"
        self.home.mkdir()
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("CLAYSTACK_", "XDG_"))}
        self.env["HOME"] = str(self.home)
        # Each default-cost hash (two at a first start, one per login) costs ~0.3 s of CPU.
        self.env["CLAYSTACK_PASSWORD_HASH_COST"] = "low"
        self.data = self.home / ".local" / "share" / "claystack" / "claystack.db"

    def run(self, *args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> Ran:
        """Runs ``claystack ARGS`` in this process, as this user in ``cwd``."""
        with pytest.MonkeyPatch.context() as patch:
            for name in os.environ.keys() - self.env.keys():
                patch.delenv(name)
            for name, value in {**self.env, **(env or {})}.items():
                patch.setenv(name, value)
            patch.chdir(cwd or self.root)
            result = CliRunner().invoke(cli_app, list(args), catch_exceptions=False)
        return Ran(result.exit_code, result.stdout, result.stderr)

    def process(self, *args: str, cwd: Path) -> Ran:
        """Runs ``claystack ARGS`` in its own process (for ``serve``, which would not return)."""
        out = subprocess.run(
            [*CLI, *args], cwd=cwd, env=self.env, capture_output=True, text=True, timeout=120
        )
        return Ran(out.returncode, out.stdout, out.stderr)

    def dir(self, name: str) -> Path:
        path = self.root / name
        path.mkdir(exist_ok=True)
        return path


class Serving:
    def __init__(self, proc: subprocess.Popen[bytes], log: Path, port: int) -> None:
        self.proc, self.log, self.port = proc, log, port
        self.url = f"http://127.0.0.1:{port}"

    def output(self) -> str:
        return self.log.read_text()


@pytest.fixture
def home(tmp_path: Path) -> Home:
    return Home(tmp_path)


@pytest.fixture
def serve(home: Home) -> Iterator[object]:
    started: list[Serving] = []

    def start(cwd: Path, *args: str, answering: bool = True) -> Serving:
        """``claystack serve ARGS`` in ``cwd``; returns once it answers health checks or, not
        ``answering``, once it has said it listens: the database is migrated and seeded then,
        and the app is not yet built."""
        port = free_port()
        log = cwd / f"serve-{len(started)}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [*CLI, "serve", "--port", str(port), "--log-level", "warning", *args],
                cwd=cwd,
                env=home.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        server = Serving(proc, log, port)
        started.append(server)
        deadline = time.monotonic() + 180
        with poller() as http:
            while True:
                assert proc.poll() is None, log.read_text()
                if not answering and "claystack listening on" in log.read_text():
                    return server
                try:
                    if answering and http.get(f"{server.url}/_claystack/health").status_code == 200:
                        return server
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.05)

    yield start
    for server in started:
        server.proc.terminate()
        try:
            server.proc.wait(10)
        except subprocess.TimeoutExpired:
            server.proc.kill()
            server.proc.wait()


def stop(server: Serving) -> None:
    server.proc.terminate()
    server.proc.wait(30)


def one_line_error(out: Ran) -> str:
    assert out.returncode != 0, out.stdout
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), out.stderr
    return lines[0]


def test_serve_and_admin_commands_share_one_per_user_database(home: Home, serve: object) -> None:
    server = serve(home.dir("project"))  # type: ignore[operator]
    printed = server.output()
    assert f"database: {home.data}" in printed
    assert "created the demo login: demo@claystack.dev / claystack" in printed
    assert printed.index("database:") < printed.index("claystack listening on")
    assert home.data.is_file() and not (home.root / "project" / ".claystack").exists()

    # login's default URL is the local server's, from CLAYSTACK_HOST and CLAYSTACK_PORT.
    out = home.run(
        "login",
        "--email",
        "demo@claystack.dev",
        "--password",
        "claystack",
        env={"CLAYSTACK_PORT": str(server.port), "CLAYSTACK_HOST": "0.0.0.0"},
    )
    assert out.returncode == 0, out.stderr
    assert f"logged in to {server.url}/v3" in out.stdout
    # The saved login is used from then on, wherever the command runs.
    whoami = home.run("whoami", cwd=home.dir("q"))
    assert whoami.returncode == 0 and "demo@claystack.dev" in whoami.stdout

    # From any other directory, the admin commands find the same database.
    elsewhere = home.dir("elsewhere")
    created = home.run(
        "users",
        "create",
        "--email",
        "ada@example.com",
        "--password",
        "correct horse",
        cwd=elsewhere,
    )
    assert created.returncode == 0, created.stderr
    assert f"(database: {home.data})" in created.stdout
    assert not (elsewhere / ".claystack").exists()
    login = home.run(
        "login",
        "--url",
        server.url + "/v3",
        "--email",
        "ada@example.com",
        "--password",
        "correct horse",
        cwd=elsewhere,
    )
    assert login.returncode == 0, login.stderr
    assert "as ada@example.com" in login.stdout

    workspace = home.run("workspace", "create", "Team", "--owner", "ada@example.com")
    assert workspace.returncode == 0 and "created workspace" in workspace.stdout
    invited = home.run("workspace", "invite", "1", "ada@example.com", "--role", "viewer")
    assert "ada@example.com is now viewer of workspace 1" in invited.stdout

    short = home.run("users", "create", "--email", "bo@example.com", "--password", "short")
    assert one_line_error(short) == "error: Password must be at least 8 characters long"

    # The same port again: one line, before anything says "listening".
    busy = home.process("serve", "--port", str(server.port), cwd=elsewhere)
    line = one_line_error(busy)
    assert f"port {server.port} on 127.0.0.1 is already in use" in line
    assert "listening" not in busy.stdout

    # A second start does not claim to create the demo login again. It says so once it has
    # migrated and seeded, before it builds the app: what follows does not depend on whether
    # the database is new (the first start above answers over HTTP).
    stop(server)
    again = serve(home.dir("third"), answering=False)  # type: ignore[operator]
    text = again.output()
    assert "created the demo login" not in text and "made on the first start" in text


def test_admin_commands_take_data_dir_and_refuse_a_missing_database(
    home: Home, serve: object, tmp_path: Path
) -> None:
    empty = tmp_path / "empty"
    out = home.run(
        "users",
        "create",
        "--email",
        "a@b.co",
        "--password",
        "long enough",
        "--data-dir",
        str(empty),
    )
    line = one_line_error(out)
    assert f"no claystack database at {empty / 'claystack.db'}" in line
    assert "claystack serve" in line and not empty.exists()

    # --data-dir and --database-url reach the server's own data (migrated and seeded once
    # it says it listens).
    data = tmp_path / "team-data"
    stop(serve(tmp_path, "--data-dir", str(data), answering=False))  # type: ignore[operator]
    by_dir = home.run(
        "users",
        "create",
        "--email",
        "a@b.co",
        "--password",
        "long enough",
        "--data-dir",
        str(data),
    )
    assert by_dir.returncode == 0, by_dir.stderr
    by_url = home.run(
        "workspace",
        "create",
        "X",
        "--owner",
        "a@b.co",
        "--database-url",
        f"sqlite:///{data / 'claystack.db'}",
    )
    assert by_url.returncode == 0, by_url.stderr
    assert f"(database: {data / 'claystack.db'})" in by_url.stdout
    assert not home.data.exists()
