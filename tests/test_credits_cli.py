"""Credit reports from the CLI: ``claystack credits`` groups on the server, against a
ledger written on a real server's database (tests/credits_fixtures.py)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from claystack.cli import app as cli_app
from claystack.server.storage.engine import Database
from claystack.testing import ClaystackServer

from .conftest import DEMO_EMAIL, DEMO_PASSWORD
from .credits_fixtures import _write_ledger


def test_cli_credits_groups_on_the_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLAYSTACK_CONFIG_DIR", str(tmp_path / "config"))
    for name in ("CLAYSTACK_URL", "CLAYSTACK_TOKEN", "CLAYSTACK_SESSION"):
        monkeypatch.delenv(name, raising=False)
    runner = CliRunner()
    with ClaystackServer(data_dir=tmp_path / "data") as server:

        async def write() -> None:
            db = Database(server.settings.resolved_database_url)
            try:
                await _write_ledger(db, 1, [1], [("t_a", "f_a"), ("t_b", "f_b")], count=30, seed=3)
            finally:
                await db.dispose()

        asyncio.run(write())
        args = ["login", "--url", server.base_url, "--email", DEMO_EMAIL]
        result = runner.invoke(cli_app, [*args, "--password", DEMO_PASSWORD])
        assert result.exit_code == 0, result.output
        result = runner.invoke(cli_app, ["credits", "--by", "table", "--json"])
        assert result.exit_code == 0, result.output
        report = json.loads(result.stdout)
        assert report["groupBy"] == ["table"]
        assert {r["tableId"] for r in report["rows"]} == {"t_a", "t_b"}
        assert sum(r["runs"] for r in report["rows"]) == 30
        result = runner.invoke(
            cli_app, ["credits", "--by", "date", "--start", "2026-10-01", "--end", "2026-10-02"]
        )
        assert result.exit_code == 0, result.output
        assert "2026-10-01" in result.stdout and "2026-10-03" not in result.stdout
        result = runner.invoke(cli_app, ["credits", "--start", "soon"])
        assert result.exit_code != 0 and "timeRange[startTime]" in result.output
