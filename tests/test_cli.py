"""The ``claystack`` command against a real server (uvicorn on its own port). Commands run in
this process (typer's CliRunner on the real command tree, over HTTP), except where the process
is the subject: the exit code of a failing ``run --wait``, a reader that closes the pipe, and
what ``--help`` imports."""

from __future__ import annotations

import csv
import json
import os
import re
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

# Three batches of the default 1,000 rows, the last one short: streaming is the same at any
# size (set more to try).
IMPORT_ROWS = int(os.environ.get("CLAYSTACK_TEST_IMPORT_ROWS", "2500"))
CLI = [sys.executable, "-c", "from claystack.cli import main; main()"]


@pytest.fixture(scope="module")
def live(database: Any) -> Iterator[ClaystackServer]:
    url, schema = database
    with ClaystackServer(database_url=url, database_schema=schema) as server:
        server.reset()  # from the seeded state, whatever earlier files left in the database
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
    # In this process (the failing commands run as processes below: run --wait, a pipe).
    args = ["--url", "http://127.0.0.1:9/v3", "--token", "x", "workspaces"]
    out = CliRunner().invoke(app, args, catch_exceptions=False)
    assert out.exit_code == 1 and out.stdout == ""
    assert _one_error_line(out) == "error: cannot reach http://127.0.0.1:9: connection refused"


def test_help_loads_neither_the_sdk_nor_the_server() -> None:
    """`claystack --help` (and every command's start) builds the command tree without
    importing the SDK, the server or their libraries: they load when a command runs."""
    code = (
        "import sys\n"
        "import typer\n"
        "from claystack.cli import app\n"
        "typer.main.get_command(app)\n"
        "heavy = ('claystack.client', 'claystack.server', 'claystack.wire', 'httpx', 'pydantic')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy or m.startswith(heavy)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


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

    result = cli("import", str(path), "--table", table["id"], "--create-fields")
    assert f"{IMPORT_ROWS} rows" in result.stderr  # the progress bar's final state
    assert f"imported {IMPORT_ROWS} rows" in result.stdout
    assert "created fields Email, Score" in result.stdout
    assert cli("tables", "count", table["id"]).stdout.strip() == str(IMPORT_ROWS)

    out = tmp_path / "out.csv"
    cli("tables", "export", table["id"], "--output", str(out))
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
        "functions",
    ):
        assert command in text


def test_run_wait_shows_progress_and_ends_with_the_counts(cli: Cli, tmp_path: Path) -> None:
    table = cli.json("tables", "create", "Runs", "--field", "Name")
    name = table["fields"][-1]["id"]
    cli.json("fields", "add", table["id"], "Upper", "--formula", "{{" + name + "}}.toUpperCase()")
    rows = tmp_path / "rows.jsonl"
    rows.write_text('{"Name": "ada"}\n{"Name": "bo"}\n{"Name": ""}\n')
    cli("import", str(rows), "--table", table["id"])
    result = cli("run", table["id"], "--field", "Upper", "--wait", "--timeout", "60")
    assert result.stdout.strip() == "done: 2 SUCCESS, 1 SUCCESS_NO_DATA"  # a blank input
    assert "SUCCESS" in result.stderr  # the live status table
    exported = cli("tables", "export", table["id"], "--format", "jsonl").stdout.splitlines()
    assert [json.loads(line).get("Upper") for line in exported][:2] == ["ADA", "BO"]


def test_run_wait_exits_non_zero_and_says_why_cells_failed(cli: Cli, tmp_path: Path) -> None:
    table = cli.json("tables", "create", "Failing", "--field", "Name")
    name = table["fields"][-1]["id"]
    cli.json(
        "fields", "add", table["id"], "Fetch", "--action", "http-api-v2",
        "--input", "url=http://127.0.0.1:9/{{" + name + "}}", "--input", 'method="GET"',
    )  # fmt: skip
    rows = tmp_path / "rows.jsonl"
    rows.write_text('{"Name": "a"}\n{"Name": "b"}\n{"Name": "c"}\n')
    cli("import", str(rows), "--table", table["id"])
    out = subprocess.run(
        [*CLI, "run", table["id"], "--field", "Fetch", "--wait", "--timeout", "60"],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 4, out.stderr  # every cell failed
    assert re.fullmatch(r"done: 3 ERROR_\w+", out.stdout.strip()), out.stdout
    reasons = [line for line in out.stderr.splitlines() if line.startswith("3 × Fetch: ")]
    assert len(reasons) == 1, out.stderr[-800:]
    reason = reasons[0]
    assert "loopback" in reason and "CLAYSTACK_HTTP_ALLOW_PRIVATE" in reason

    exported = cli("tables", "export", table["id"]).stdout.splitlines()
    assert exported[0] == "id,Name,Fetch,Fetch (error)"
    assert "loopback" in exported[1]
    lines = cli("tables", "export", table["id"], "--format", "jsonl").stdout.splitlines()
    first = json.loads(lines[0])
    assert first["Fetch"] is None and "loopback" in first["Fetch (error)"]
    plain = cli("tables", "export", table["id"], "--no-errors").stdout.splitlines()
    assert plain[0] == "id,Name,Fetch"


# -- CSV files as people have them -----------------------------------------------------


def test_import_latin1_semicolon_and_utf16_files(cli: Cli, tmp_path: Path) -> None:
    table = cli.json("tables", "create", "Europe")
    latin = tmp_path / "excel.csv"
    latin.write_bytes("Name;City;Score\nZoë;Malmö;3,5\nJosé;São Paulo;4\n".encode("cp1252"))
    result = cli("import", str(latin), "--table", table["id"], "--create-fields")
    assert "imported 2 rows" in result.stdout
    utf16 = tmp_path / "sheets.csv"
    utf16.write_text("Name\tCity\tScore\nÅsa\tÖrebro\t1\n", encoding="utf-16")
    cli("import", str(utf16), "--table", table["id"])
    rows = [json.loads(line) for line in cli("tables", "export", table["id"], "--format", "jsonl")
            .stdout.splitlines()]  # fmt: skip
    assert [(r["Name"], r["City"], r["Score"]) for r in rows] == [
        ("Zoë", "Malmö", "3,5"),
        ("José", "São Paulo", "4"),
        ("Åsa", "Örebro", "1"),
    ]
    # The overrides: this file read as UTF-8 with commas is one column with mojibake refused.
    forced = cli("import", str(latin), "--table", table["id"], "--encoding", "utf-8", ok=False)
    assert "not valid utf-8" in _one_error_line(forced) and "--encoding" in forced.stderr
    comma = cli("import", str(latin), "--table", table["id"], "--delimiter", ",", ok=False)
    assert "line 2: 2 cells, the header has 1" in _one_error_line(comma)
    preview = cli("import", str(latin), "--table", table["id"], "--encoding", "latin-1",
                  "--delimiter", ";", "--preview")  # fmt: skip
    assert "2 rows, 3 columns, encoding latin-1, delimiter ';'" in preview.stdout


def test_import_refuses_bad_headers_and_ragged_rows_and_writes_nothing(
    cli: Cli, tmp_path: Path
) -> None:
    table = cli.json("tables", "create", "Strict")
    dup = tmp_path / "dup.csv"
    dup.write_text("Email,Name,Email\na@b.co,A,c@d.co\n")
    line = _one_error_line(cli("import", str(dup), "--table", table["id"], "--create-fields",
                               ok=False))  # fmt: skip
    assert line == "error: dup.csv: line 1: the header names 'Email' twice (columns 1 and 3)"
    empty = tmp_path / "empty.csv"
    empty.write_text("Name,,Email\n")
    line = _one_error_line(cli("import", str(empty), "--table", table["id"], ok=False))
    assert line == "error: empty.csv: line 1: column 2 of the header has no name"

    ragged = tmp_path / "ragged.csv"
    ragged.write_text("Name,Email\nAda,a@b.co\nBo\nCy,c@d.co,extra\nDi,d@e.co\n")
    result = cli("import", str(ragged), "--table", table["id"], "--create-fields", ok=False)
    assert result.exit_code == 1
    line = _one_error_line(result)
    assert line.startswith("error: ragged.csv: line 3: 1 cells, the header has 2")
    assert "--skip-bad-rows" in line
    assert cli("tables", "count", table["id"]).stdout.strip() == "0"
    assert cli.json("fields", "list", table["id"])[-1]["name"] == "Updated At"  # none created

    skipped = cli("import", str(ragged), "--table", table["id"], "--create-fields",
                  "--skip-bad-rows")  # fmt: skip
    assert "imported 2 rows" in skipped.stdout
    assert "skipped 2 bad rows:" in skipped.stderr
    assert "line 3: 1 cells, the header has 2" in skipped.stderr
    assert "line 4: 3 cells, the header has 2" in skipped.stderr
    assert cli("tables", "count", table["id"]).stdout.strip() == "2"


def test_import_types_inferred_or_given_with_a_preview(cli: Cli, tmp_path: Path) -> None:
    table = cli.json("tables", "create", "Typed", "--field", "Name")
    path = tmp_path / "people.csv"
    path.write_text(
        "id,Name,Age,Active,Joined,Email,Site,Zip\n"
        "p1,Ada,36,yes,2024-01-02,ada@x.io,https://ada.dev,01234\n"
        "p2,Bo,,no,2024-02-03,bo@x.io,http://bo.dev,98765\n"
    )
    shown = cli("import", str(path), "--table", table["id"], "--create-fields", "--infer-types",
                "--types", "Zip=text", "--preview")  # fmt: skip
    out = shown.stdout
    assert "people.csv: 2 rows, 8 columns, encoding utf-8, delimiter ','" in out
    assert "(row id)" in out and "(new)" in out and "'Ada', 'Bo'" in out
    assert cli("tables", "count", table["id"]).stdout.strip() == "0"
    assert len(cli.json("fields", "list", table["id"])) == 3  # nothing created by a preview

    done = cli("import", str(path), "--table", table["id"], "--create-fields", "--infer-types",
               "--types", "Zip=text")  # fmt: skip
    assert "created fields Age (number), Active (boolean), Joined (date), Email (email), " \
           "Site (url), Zip" in done.stdout  # fmt: skip
    types = {f["name"]: f["type"] for f in cli.json("fields", "list", table["id"])}
    assert types["Age"] == "number" and types["Zip"] == "text"
    rows = [json.loads(line) for line in cli("tables", "export", table["id"], "--format", "jsonl")
            .stdout.splitlines()]  # fmt: skip
    assert rows[0]["id"] == "p1" and rows[0]["Age"] == 36 and rows[0]["Active"] is True
    assert rows[0]["Zip"] == "01234" and rows[1]["Active"] is False and "Age" not in rows[1]

    bad = cli("import", str(path), "--table", table["id"], "--types", "Age=integer", ok=False)
    assert _one_error_line(bad).startswith("error: unknown field type 'integer'; use one of text")
    wrong = cli("import", str(path), "--table", table["id"], "--types", "Nope=text", ok=False)
    assert _one_error_line(wrong) == "error: --types names 'Nope', not a column of people.csv"


# -- polish ----------------------------------------------------------------------------


def test_version_and_help_without_type_noise() -> None:
    runner = CliRunner()
    version = runner.invoke(app, ["--version"])
    assert version.exit_code == 0 and re.fullmatch(r"claystack \S+\n", version.stdout)
    for command in ([], ["run"], ["import"], ["tables", "create"], ["users", "create"]):
        text = runner.invoke(app, [*command, "--help"], env={"COLUMNS": "120"}).stdout
        assert "<bool>" not in text and "<list[" not in text and "<str>" not in text, text


def test_tables_list_and_delete(cli: Cli) -> None:
    assert "has no tables" in cli("tables", "list").stdout
    first = cli.json("tables", "create", "First")
    second = cli.json("tables", "create", "Second")
    listed = cli.json("tables", "list")
    assert [t["id"] for t in listed] == [first["id"], second["id"]]
    assert "Second" in cli("tables", "list").stdout
    refused = cli("tables", "delete", first["id"], ok=False)
    assert "needs --yes" in _one_error_line(refused)
    assert "deleted table" in cli("tables", "delete", first["id"], "--yes").stdout
    assert [t["id"] for t in cli.json("tables", "list")] == [second["id"]]
    gone = cli("tables", "delete", first["id"], "--yes", ok=False)
    assert _one_error_line(gone).startswith("error: NotFound:")


def test_webhooks_list_shows_whole_urls_on_a_narrow_terminal(cli: Cli) -> None:
    table = cli.json("tables", "create", "Narrow")
    cli("webhooks", "add", table["id"], "--name", "A rather long source name for a narrow view")
    [source] = cli.json("webhooks", "list", table["id"])
    text = CliRunner().invoke(app, ["webhooks", "list", table["id"]], env={"COLUMNS": "40"})
    assert source["url"] in text.stdout.splitlines()[1]


def test_piping_into_head_ends_quietly(cli: Cli) -> None:
    table = cli.json("tables", "create", "Piped", "--field", "Name")
    with Client(cli.server.base_url, token=cli.json("whoami")["apiToken"]) as client:
        name = table["fields"][-1]["id"]
        # ~170 KB of CSV, well over a pipe's buffer: the export is still writing at the close.
        client.records.add(
            table["id"], ({"cells": {name: f"row {i:05d}" * 16}} for i in range(1000))
        )
    proc = subprocess.Popen(
        [*CLI, "tables", "export", table["id"]],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline().startswith(b"id,Name")
    proc.stdout.close()  # what `| head -1` does
    stderr = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait(60) == 141
    assert stderr == "", stderr


def test_credits_explains_what_is_counted(cli: Cli) -> None:
    result = cli("credits")
    assert "0 credits, 0 actions" in result.stdout
    assert "formula columns are free" in result.stderr
    assert "What is counted" in CliRunner().invoke(app, ["credits", "--help"]).stdout


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
    ran = cli.json("actions", "run", "normalize-company-name", '{"companyName": "Acme Inc"}')
    assert ran["result"] == "Acme" and ran["metadata"] == {"status": "SUCCESS"}
    assert "Functions" in cli("functions").stdout


def test_tables_share_and_describe(cli: Cli) -> None:
    table = cli.json("tables", "create", "Shared", "--field", "Name")
    share = cli.json("tables", "share", table["id"])
    assert share["id"].startswith("share_") and share["sharingType"] == "PRIVATE"
    share = cli.json("tables", "share", table["id"], "--type", "PUBLIC", "--email", "a@b.co")
    assert share["sharingType"] == "PUBLIC" and share["sharedUserEmails"] == ["a@b.co"]
    assert "Shared" in cli("tables", "describe", table["id"]).stdout


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
