"""The ``claystack`` command against a real server (uvicorn on its own port)."""

from __future__ import annotations

import csv
import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner, Result

from claystack import Client
from claystack.cli import app
from claystack.testing import ClaystackServer

from .conftest import DEMO_EMAIL, DEMO_PASSWORD

IMPORT_ROWS = int(os.environ.get("CLAYSTACK_TEST_IMPORT_ROWS", "20000"))
CLI = [sys.executable, "-c", "from claystack.cli import main; main()"]


@pytest.fixture(scope="module")
def live(database: Any) -> Iterator[ClaystackServer]:
    url, schema = database
    with ClaystackServer(database_url=url, database_schema=schema) as server:
        yield server


@pytest.fixture
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "config"
    monkeypatch.setenv("CLAYSTACK_CONFIG_DIR", str(path))
    for name in ("CLAYSTACK_URL", "CLAYSTACK_TOKEN", "CLAYSTACK_SESSION"):
        monkeypatch.delenv(name, raising=False)
    return path


class Cli:
    def __init__(self, server: ClaystackServer) -> None:
        self.server = server
        self.runner = CliRunner()

    def __call__(self, *args: str, ok: bool = True) -> Result:
        result = self.runner.invoke(app, list(args), catch_exceptions=False)
        if ok:
            assert result.exit_code == 0, result.output
        return result

    def process(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Runs the command in its own process (no GIL shared with the server thread)."""
        out = subprocess.run([*CLI, *args], capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        return out

    def json(self, *args: str) -> Any:
        return json.loads(self(*args, "--json").stdout)

    def login(self) -> None:
        url = self.server.base_url
        self("login", "--url", url, "--email", DEMO_EMAIL, "--password", DEMO_PASSWORD)


@pytest.fixture
def cli(live: ClaystackServer, config_dir: Path) -> Cli:
    live.reset()
    runner = Cli(live)
    runner.login()
    return runner


def _one_error_line(result: Result) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.output
    return lines[0]


# -- login and errors ------------------------------------------------------------------


def test_login_keeps_session_in_a_private_config_file(cli: Cli, config_dir: Path) -> None:
    path = config_dir / "config.json"
    saved = json.loads(path.read_text())
    assert saved["base_url"] == cli.server.base_url and saved["workspace_id"] == 1
    assert saved["session"].startswith("s%3A") and "password" not in saved
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert cli.json("whoami")["email"] == DEMO_EMAIL
    spaces = cli.json("workspaces")
    assert [w["id"] for w in spaces] == [1] and spaces[0]["credits"] > 0
    assert "Demo Workspace" in cli("workspaces").stdout


def test_wrong_password_is_one_line(live: ClaystackServer, config_dir: Path) -> None:
    result = Cli(live)(
        "login", "--url", live.base_url, "--email", DEMO_EMAIL, "--password", "nope", ok=False
    )
    assert result.exit_code == 1
    assert _one_error_line(result) == "error: Unauthorized: Invalid email or password"
    assert not (config_dir / "config.json").exists()


def test_unreachable_host_is_one_line(config_dir: Path) -> None:
    out = subprocess.run(
        [*CLI, "--url", "http://127.0.0.1:9/v3", "--token", "x", "workspaces"],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 1 and out.stdout == ""
    assert out.stderr.strip() == "error: cannot reach http://127.0.0.1:9: connection refused"


def test_expired_session_is_one_line_with_a_hint(cli: Cli, config_dir: Path) -> None:
    session = json.loads((config_dir / "config.json").read_text())["session"]
    with Client(cli.server.base_url, session=session) as other:
        other.auth.logout()  # ends the saved session, as expiry would
    result = cli("workspaces", ok=False)
    assert result.exit_code == 1
    line = _one_error_line(result)
    assert line.startswith("error: Unauthorized: You must be logged in")
    assert "claystack login" in line


def test_not_logged_in(live: ClaystackServer, config_dir: Path) -> None:
    result = Cli(live)("--url", live.base_url, "workspaces", ok=False)
    assert (
        _one_error_line(result) == f"error: not logged in to {live.base_url}; run `claystack login`"
    )


def test_token_login_and_logout(cli: Cli, config_dir: Path) -> None:
    token = cli.json("whoami")["apiToken"]
    cli("login", "--url", cli.server.base_url, "--token", token)
    saved = json.loads((config_dir / "config.json").read_text())
    assert saved["token"] == token and "session" not in saved
    assert cli.json("whoami")["email"] == DEMO_EMAIL
    cli("logout")
    assert cli("whoami", ok=False).exit_code == 1


# -- tables, import, export ------------------------------------------------------------


def test_tables_create_show_count(cli: Cli) -> None:
    table = cli.json("tables", "create", "Leads", "--field", "Name", "--field", "Email")
    assert [f["name"] for f in table["fields"]][-2:] == ["Name", "Email"]
    shown = cli.json("tables", "show", table["id"])
    assert shown["recordCount"] == 0 and shown["id"] == table["id"]
    text = cli("tables", "show", table["id"]).stdout
    assert "Email" in text and "Default view" in text
    assert cli("tables", "count", table["id"]).stdout.strip() == "0"
    tree = cli("resources").stdout
    assert "Leads" in tree and table["id"] in tree
    ids = {r["id"] for r in cli.json("resources")}
    assert table["id"] in ids


def test_import_csv_streams_in_batches_with_progress(cli: Cli, tmp_path: Path) -> None:
    table = cli.json("tables", "create", "Big", "--field", "Name")
    path = tmp_path / "rows.csv"
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["Name", "Email", "Score"])
        writer.writerows([f"n{i}", f"e{i}@x.io", i] for i in range(IMPORT_ROWS))

    missing = cli("import", str(path), "--table", table["id"], ok=False)
    assert "no field named 'Email', 'Score'" in _one_error_line(missing)

    result = cli.process("import", str(path), "--table", table["id"], "--create-fields")
    assert f"{IMPORT_ROWS} rows" in result.stderr  # the progress bar's final state
    assert f"imported {IMPORT_ROWS} rows" in result.stdout
    assert "created fields Email, Score" in result.stdout
    assert cli("tables", "count", table["id"]).stdout.strip() == str(IMPORT_ROWS)

    out = tmp_path / "out.csv"
    cli.process("tables", "export", table["id"], "--output", str(out))
    with open(out, newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["id", "Name", "Email", "Score"] and len(rows) == IMPORT_ROWS + 1
    assert rows[1][1:] == ["n0", "e0@x.io", "0"]
    assert rows[-1][1:] == [f"n{IMPORT_ROWS - 1}", f"e{IMPORT_ROWS - 1}@x.io", str(IMPORT_ROWS - 1)]


def test_import_and_export_jsonl(cli: Cli, tmp_path: Path) -> None:
    table = cli.json("tables", "create", "People", "--field", "Name")
    path = tmp_path / "people.jsonl"
    path.write_text(
        '{"id": "crm-1", "Name": "Ada", "Age": 36}\n\n{"Name": "Bo", "Tags": ["a", "b"]}\n'
    )
    result = cli("import", str(path), "--table", table["id"], "--create-fields")
    assert "imported 2 rows" in result.stdout
    lines = cli("tables", "export", table["id"], "--format", "jsonl").stdout.splitlines()
    rows = [json.loads(line) for line in lines]
    assert rows[0] == {"id": "crm-1", "Name": "Ada", "Age": 36}
    assert rows[1]["Name"] == "Bo" and rows[1]["Tags"] == ["a", "b"]
    csv_text = cli("tables", "export", table["id"]).stdout
    assert csv_text.splitlines()[0] == "id,Name,Age,Tags"
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{not json}\n")
    failed = cli("import", str(bad), "--table", table["id"], ok=False)
    assert _one_error_line(failed) == "error: line 1 is not JSON"


def test_fields_add(cli: Cli) -> None:
    table = cli.json("tables", "create", "Companies", "--field", "Domain")
    domain = table["fields"][-1]["id"]
    number = cli.json("fields", "add", table["id"], "Employees", "--type", "number")
    assert number["type"] == "number"
    formula = cli.json("fields", "add", table["id"], "Upper", "--formula", "{{" + domain + "}}")
    assert formula["type"] == "formula" and formula["inputFieldIds"] == [domain]
    action = cli.json(
        "fields",
        "add",
        table["id"],
        "Homepage",
        "--action",
        "http-api-v2",
        "--input",
        "url=https://{{" + domain + "}}",
        "--input",
        "method=GET",
    )
    bindings = action["typeSettings"]["inputsBinding"]
    assert [b["name"] for b in bindings] == ["url", "method"]
    assert action["typeSettings"]["actionKey"] == "http-api-v2"
    names = [f["name"] for f in cli.json("fields", "list", table["id"])]
    assert names[-4:] == ["Domain", "Employees", "Upper", "Homepage"]
    dup = cli("fields", "add", table["id"], "Domain", ok=False)
    assert _one_error_line(dup).startswith("error: FieldNameAlreadyExists:")


def test_webhooks_add_list_send(cli: Cli, tmp_path: Path) -> None:
    table = cli.json("tables", "create", "Inbound")
    added = cli("webhooks", "add", table["id"], "--name", "Signups").stdout
    source_id, url = added.split("added source ", 1)[1].split(": ", 1)
    url = url.strip()
    assert "/v3/sources/webhook/pull-in-data-from-a-webhook-" in url
    listed = cli.json("webhooks", "list", table["id"])
    assert [(s["id"], s["name"], s["url"]) for s in listed] == [(source_id, "Signups", url)]
    assert "Signups" in cli("webhooks", "list", table["id"]).stdout

    assert (
        "sent 1 row" in cli("webhooks", "send", source_id, "--data", '{"email": "a@b.co"}').stdout
    )
    rows = tmp_path / "rows.jsonl"
    rows.write_text('{"email": "c@d.co"}\n\n{"email": "e@f.co"}\n')
    assert "sent 2 rows" in cli("webhooks", "send", url, "--file", str(rows)).stdout
    assert cli("tables", "count", table["id"]).stdout.strip() == "3"
    assert cli.json("webhooks", "list", table["id"])[0]["numSourceRecords"] == 3

    locked = cli("webhooks", "add", table["id"], "--name", "Locked", "--auth-token").stdout
    token = locked.split("x-clay-webhook-auth): ", 1)[1].split()[0]
    locked_id = locked.split("added source ", 1)[1].split(":", 1)[0]
    refused = cli("webhooks", "send", locked_id, "--data", "{}", ok=False)
    assert _one_error_line(refused).startswith("error: Unauthorized:")
    cli("webhooks", "send", locked_id, "--data", "{}", "--auth-token", token)
    assert cli("tables", "count", table["id"]).stdout.strip() == "4"


def test_help_lists_every_command() -> None:
    text = CliRunner().invoke(app, ["--help"]).stdout
    for command in (
        "serve",
        "users",
        "workspace",
        "login",
        "workspaces",
        "resources",
        "tables",
        "import",
        "fields",
        "run",
        "credits",
        "webhooks",
        "actions",
    ):
        assert command in text


def test_run_wait_shows_progress_and_ends_with_the_counts(cli: Cli, tmp_path: Path) -> None:
    table = cli.json("tables", "create", "Runs", "--field", "Name")
    name = table["fields"][-1]["id"]
    cli.json("fields", "add", table["id"], "Upper", "--formula", "{{" + name + "}}.toUpperCase()")
    rows = tmp_path / "rows.jsonl"
    rows.write_text('{"Name": "ada"}\n{"Name": "bo"}\n{"Name": ""}\n')
    cli("import", str(rows), "--table", table["id"])
    result = cli.process("run", table["id"], "--field", "Upper", "--wait", "--timeout", "60")
    assert result.stdout.strip() == "done: 2 SUCCESS, 1 SUCCESS_NO_DATA"  # a blank input
    assert "SUCCESS" in result.stderr  # the live status table
    exported = cli("tables", "export", table["id"], "--format", "jsonl").stdout.splitlines()
    assert [json.loads(line).get("Upper") for line in exported][:2] == ["ADA", "BO"]


def test_actions_catalog_and_credits_by_action(cli: Cli) -> None:
    found = {a["actionKey"]: a for a in cli.json("actions")}
    assert found["http-api-v2"]["actionPackageId"] == "4299091f-3cd3-4d68-b198-0143575f471d"
    assert found["normalize-phone"]["pricing"]["credits"] == 0
    out = cli("actions", "search", "phone number").stdout
    assert "normalize/normalize-phone" in out
    hits = cli.json("actions", "search", "phone number")
    assert [h["entity_id"] for h in hits] == ["normalize/normalize-phone"]
    out = cli("credits", "--actions").stdout
    assert "actions" in out and "credits" in out


def test_users_rotate_token_and_set_password(
    cli: Cli, database: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, schema = database
    monkeypatch.setenv("CLAYSTACK_DATABASE_URL", url)
    monkeypatch.setenv("CLAYSTACK_DATABASE_SCHEMA", schema)
    base = cli.server.base_url
    with httpx.Client() as http:
        login = {"email": DEMO_EMAIL, "password": DEMO_PASSWORD}
        session = http.post(f"{base}/auth/login", json=login).cookies["claysession"]
        old = http.get(f"{base}/me", headers={"Cookie": f"claysession={session}"}).json()[
            "apiToken"
        ]

        def me(token: str) -> int:
            return http.get(f"{base}/me", headers={"Authorization": f"Bearer {token}"}).status_code

        assert me(old) == 200
        new = cli("users", "rotate-token", "--email", DEMO_EMAIL).stdout.strip()
        assert new.startswith("cs_") and new != old
        assert me(old) == 401 and me(new) == 200
        cli("users", "rotate-token", "--email", DEMO_EMAIL, "--revoke")
        assert me(new) == 401
        result = cli("users", "rotate-token", "--email", "nobody@example.com", ok=False)
        assert result.exit_code != 0 and "nobody@example.com" in result.stderr

        cli("users", "set-password", "--email", DEMO_EMAIL, "--password", "another-password")
        assert (
            http.get(f"{base}/me", headers={"Cookie": f"claysession={session}"}).status_code == 401
        )
        assert http.post(f"{base}/auth/login", json=login).status_code == 401
        login["password"] = "another-password"
        assert http.post(f"{base}/auth/login", json=login).status_code == 200
