"""The seed's Quick Start (steps 1–3) and the README, against a real ``claystack serve``
started in a fresh directory with no settings, as a new user would."""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import typer

from claystack.cli import app as cli_app
from claystack.server.config import Settings

from .fakes import free_port, poller

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
CLI = [sys.executable, "-c", "from claystack.cli import main; main()"]


class Served:
    def __init__(self, cwd: Path, port: int, log: Path) -> None:
        self.cwd, self.port, self.log = cwd, port, log
        self.url = f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """``claystack serve --port N`` in an empty directory, with no CLAYSTACK_ settings."""
    cwd = tmp_path_factory.mktemp("fresh")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLAYSTACK_")}
    log = cwd / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*CLI, "serve", "--port", str(port), "--log-level", "warning"],
            cwd=cwd,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = Served(cwd, port, log)
    try:
        deadline = time.monotonic() + 60
        with poller() as http:
            while True:
                assert proc.poll() is None, log.read_text()
                try:
                    if http.get(f"{server.url}/_claystack/health").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_serve_defaults(served: Served) -> None:
    # The per-user data directory (the test session points XDG_DATA_HOME at a temporary one).
    data = Path(os.environ["XDG_DATA_HOME"]) / "claystack" / "claystack.db"
    assert data.is_file() and not (served.cwd / ".claystack").exists()
    printed = served.log.read_text()
    assert f"database: {data}" in printed
    assert "demo@claystack.dev" in printed and "claystack" in printed
    assert f"http://127.0.0.1:{served.port}/v3" in printed


def test_seed_quick_start_steps_1_to_3(served: Served) -> None:
    base = served.url + "/v3"
    # 1. Authenticate (curl -X POST … -H 'Content-Type: application/json' -d '…').
    r = httpx.post(
        f"{base}/auth/login",
        headers={"Content-Type": "application/json"},
        content='{"password":"claystack","email":"demo@claystack.dev","source":null}',
    )
    assert r.status_code == 200, r.text
    set_cookie = r.headers["set-cookie"]
    assert re.match(r"claysession=s%3A[^;]+;", set_cookie), set_cookie
    for attribute in ("HttpOnly", "Max-Age=86400", "Path=/"):
        assert attribute in set_cookie
    session = set_cookie.split(";")[0].split("=", 1)[1]
    cookie = {"Cookie": f"claysession={session}"}

    # 2. List workspaces.
    r = httpx.get(f"{base}/my-workspaces", headers=cookie)
    assert r.status_code == 200
    workspaces = r.json()["results"]
    assert [(w["id"], w["name"]) for w in workspaces] == [(1, "Demo Workspace")]

    # 3. List resources in the workspace.
    def step3() -> Any:
        r = httpx.post(
            f"{base}/workspaces/1/resources_v2/",
            headers={**cookie, "Content-Type": "application/json"},
            content='{"filters":{"resourceTypes":["WORKBOOK"]}}',
        )
        assert r.status_code == 200, r.text
        return r.json()

    assert step3() == {"resources": []}
    # curl -d without a content type sends the JSON form-encoded; it works too.
    r = httpx.post(
        f"{base}/workbooks",
        headers={**cookie, "Content-Type": "application/x-www-form-urlencoded"},
        content='{"name":"Quick start","workspaceId":1}',
    )
    assert r.status_code == 200, r.text
    [book] = step3()["resources"]
    assert book["resourceType"] == "WORKBOOK" and book["name"] == "Quick start"


def test_readme_python_example(served: Served) -> None:
    block = re.search(r"```python\n(.*?)```", README, re.S)
    assert block is not None
    code = block.group(1).replace("http://127.0.0.1:8080", served.url).replace("50_000", "500")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README.md", "exec"), {})
    assert out.getvalue().strip() == "500"


def test_readme_settings_match_the_code() -> None:
    fields = Settings.model_fields
    mentioned = set(re.findall(r"CLAYSTACK_([A-Z_]+[A-Z])", README))
    mentioned -= {"CONFIG_DIR"}  # the CLI's own, not a server setting
    for name in mentioned:
        assert name.lower() in fields, f"README mentions CLAYSTACK_{name}, not a setting"
    defaults = Settings(_env_file=None)  # type: ignore[call-arg]
    rows = {
        m.group(1): m.group(2)
        for m in re.finditer(r"^\| `CLAYSTACK_([A-Z_]+)`[^|]*\| ([^|]+) \|", README, re.M)
    }
    assert defaults.resolved_database_url.endswith("/claystack/claystack.db")
    assert "~/.local/share/claystack" in rows["DATA_DIR"]
    assert "<data dir>/claystack.db" in rows["DATABASE_URL"]
    assert f"`{defaults.host}` / `{defaults.port}`" in rows["HOST"]
    assert str(defaults.session_ttl_seconds) in rows["SESSION_TTL_SECONDS"]
    assert (
        f"`{defaults.login_max_failures}` / `{defaults.login_window_seconds}`"
        in rows["LOGIN_MAX_FAILURES"]
    )
    assert str(defaults.enable_reset).lower() in rows["ENABLE_RESET"]
    assert str(defaults.initial_credits) in rows["INITIAL_CREDITS"]
    assert defaults.max_body_bytes == 50 * 1024 * 1024 and "50 MiB" in rows["MAX_BODY_BYTES"]
    assert (defaults.demo_email, defaults.demo_password) == ("demo@claystack.dev", "claystack")
    assert "`demo@claystack.dev` / `claystack`" in README


def test_readme_commands_exist() -> None:
    assert os.access(ROOT / "scripts" / "test", os.X_OK)
    assert os.access(ROOT / ".ci" / "run", os.X_OK)
    assert '.venv/bin/pip install -q -e ".[server]" && .venv/bin/claystack serve' in README
    root = typer.main.get_command(cli_app)
    lines = [
        line.split("#")[0].strip()
        for block in re.findall(r"```bash\n(.*?)```", README, re.S)
        for line in block.splitlines()
        if line.strip().startswith("claystack ")
    ]
    assert len(lines) >= 10
    for line in lines:
        for part in line.split("&&"):
            words = shlex.split(part.strip())[1:]
            command: Any = root
            while hasattr(command, "commands") and words and words[0] in command.commands:
                command = command.commands[words.pop(0)]
            assert not hasattr(command, "commands"), f"README: unknown command in {part!r}"
            options = {opt for p in command.params for opt in (*p.opts, *p.secondary_opts)}
            for word in words:
                if word.startswith("-"):
                    assert word.split("=")[0] in options, (
                        f"README: {word} not an option of {part!r}"
                    )
