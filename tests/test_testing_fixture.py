"""``claystack.testing`` as a user meets it: a separate test project run by pytest."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from claystack.testing import ClaystackServer, MissingServerExtra

PROJECT = Path(__file__).resolve().parent / "fixture_project"


def _pytest(*args: str, autoload: bool) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLAYSTACK_", "PYTEST_"))}
    if not autoload:
        env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", str(PROJECT), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=PROJECT,
        timeout=300,
    )


def test_fixture_project_passes_with_the_plugin() -> None:
    out = _pytest("-p", "claystack.testing", "--claystack-reset", autoload=False)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "4 passed" in out.stdout


def test_plugin_is_registered_as_a_pytest11_entry_point() -> None:
    found = {ep.name: ep.value for ep in entry_points(group="pytest11")}
    assert found.get("claystack") == "claystack.testing"


def test_clear_message_without_the_server_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    # In this process (the message is what is tested): uvicorn unimportable, as without it.
    monkeypatch.setitem(sys.modules, "uvicorn", None)
    with pytest.raises(MissingServerExtra, match=r"pip install 'claystack\[server\]'"):
        ClaystackServer().start()
