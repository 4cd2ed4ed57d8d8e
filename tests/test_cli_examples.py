"""The examples/ folder runs as written against a real server."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from claystack.testing import ClaystackServer

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture(scope="module")
def server(database: Any) -> Iterator[ClaystackServer]:
    url, schema = database
    with ClaystackServer(database_url=url, database_schema=schema) as live:
        live.reset()  # from the seeded state, whatever earlier files left in the database
        yield live


def test_quick_start_example(server: ClaystackServer) -> None:
    server.reset()
    out = subprocess.run(
        [sys.executable, str(EXAMPLES / "quick_start.py"), server.url],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    assert "{'SUCCESS': 3}" in out.stdout, out.stdout


def test_cli_walkthrough_example(server: ClaystackServer, tmp_path: Path) -> None:
    server.reset()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLAYSTACK_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["CLAYSTACK_CONFIG_DIR"] = str(tmp_path / "config")
    env["OUT"] = str(tmp_path / "out.csv")
    out = subprocess.run(
        ["bash", str(EXAMPLES / "walkthrough.sh"), server.base_url],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "created fields Name, Email (email), Employees (number)" in out.stdout
    with open(tmp_path / "out.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["Domain"] for r in rows] == ["example.com", "example.org", "example.net"]
    assert "/v3/sources/webhook/" in out.stdout and out.stdout.splitlines()[-1] != ""
