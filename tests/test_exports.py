"""CSV exports: the job, the view's columns and rows, and the signed download link."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI

from claystack.server.services import exports

from .conftest import UserFactory, new_table

# The export job's batch, lowered from 5,000 rows so that a few thousand rows make several
# batches (bench/export_import.py measures large exports at the product's batch size).
BATCH = 500


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(exports, "_BATCH", BATCH)
    return BATCH


async def wait_export(client: httpx.AsyncClient, export_id: str, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        r = await client.get(f"/v3/exports/{export_id}")
        assert r.status_code == 200, r.text
        job = r.json()
        if job["status"] != "ACTIVE":
            return job
        assert time.monotonic() < deadline, job
        await asyncio.sleep(0.02)


def _path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


async def _leads(client: httpx.AsyncClient) -> dict[str, Any]:
    table = await new_table(client, fields=("Name", "Email", "Score"))
    f = table["byName"]
    rows = [
        {"cells": {f["Name"]: "Ada", f["Email"]: "ada@x.io", f["Score"]: 3}},
        {"cells": {f["Name"]: "Bob", f["Email"]: None, f["Score"]: 10}},
        {"cells": {f["Name"]: 'Cy "the, one"', f["Score"]: {"a": 1}}},
        {"cells": {f["Name"]: "Dee", f["Email"]: "dee@x.io", f["Score"]: True}},
    ]
    r = await client.post(f"/v3/tables/{table['id']}/records", json={"records": rows})
    assert r.status_code == 200, r.text
    return table


async def test_table_export_has_every_row_and_visible_column(
    client: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    table = await _leads(client)
    r = await client.post(f"/v3/tables/{table['id']}/export")
    assert r.status_code == 200, r.text
    job = r.json()
    assert job["id"].startswith("ej_") and job["status"] == "ACTIVE"
    assert job["recordsExportedCount"] == 0 and job["downloadUrl"] is None
    assert job["totalRecordsInViewCount"] == 4 and job["exportType"] == "CSV"
    assert job["viewId"] == table["firstViewId"] and job["fileName"].endswith(".csv")
    done = await wait_export(client, job["id"])
    assert done["status"] == "FINISHED" and done["recordsExportedCount"] == 4
    assert done["url"] == done["downloadUrl"]
    assert done["downloadUrl"].startswith("http://testserver/v3/exports/")
    assert done["expiresAt"]
    got = await anon.get(_path(done["downloadUrl"]))  # no cookie
    assert got.status_code == 200, got.text
    assert got.headers["content-type"].startswith("text/csv")
    assert "attachment" in got.headers["content-disposition"]
    rows = _rows(got.text)
    assert rows[0] == ["Created At", "Updated At", "Name", "Email", "Score"]
    assert [r[2:] for r in rows[1:]] == [
        ["Ada", "ada@x.io", "3"],
        ["Bob", "", "10"],
        ['Cy "the, one"', "", '{"a":1}'],
        ["Dee", "dee@x.io", "true"],
    ]
    assert rows[1][0].endswith("Z")


async def test_view_export_filters_sorts_and_hides(
    client: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    table = await _leads(client)
    f = table["byName"]
    view = {
        "name": "With email",
        "filter": {"items": [{"fieldId": f["Email"], "operator": "is_not_empty"}]},
        "sort": [{"fieldId": f["Name"], "direction": "DESC"}],
    }
    r = await client.post(f"/v3/tables/{table['id']}/views", json=view)
    assert r.status_code == 200, r.text
    vid = r.json()["view"]["id"]
    hidden = {fid: {"isVisible": False} for fid in ("f_created_at", "f_updated_at", f["Score"])}
    r = await client.patch(f"/v3/tables/{table['id']}/views/{vid}", json={"fields": hidden})
    assert r.status_code == 200, r.text
    r = await client.post(f"/v3/tables/{table['id']}/views/{vid}/export", json={})
    assert r.status_code == 200, r.text
    assert r.json()["totalRecordsInViewCount"] == 2
    done = await wait_export(client, r.json()["id"])
    assert done["recordsExportedCount"] == 2
    rows = _rows((await anon.get(_path(done["downloadUrl"]))).text)
    assert rows == [["Name", "Email"], ["Dee", "dee@x.io"], ["Ada", "ada@x.io"]]


async def test_view_order_strings_decide_the_columns(
    client: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    table = await _leads(client)
    f = table["byName"]
    vid = table["firstViewId"]
    views = f"/v3/tables/{table['id']}/views/{vid}"
    # Moving a column gives it a fractional order string between its neighbours (spec §5).
    r = await client.patch(f"{views}/fields/{f['Score']}", json={"beforeFieldId": f["Name"]})
    assert r.status_code == 200, r.text
    hidden = {fid: {"isVisible": False} for fid in ("f_created_at", "f_updated_at")}
    r = await client.patch(f"{views}/fields", json=hidden)
    assert r.status_code == 200, r.text
    r = await client.post(f"/v3/tables/{table['id']}/export")
    done = await wait_export(client, r.json()["id"])
    rows = _rows((await anon.get(_path(done["downloadUrl"]))).text)
    assert rows[0] == ["Score", "Name", "Email"]


async def test_signed_link_is_checked(
    app: FastAPI, client: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    table = await _leads(client)
    r = await client.post(f"/v3/tables/{table['id']}/export")
    eid = r.json()["id"]
    done = await wait_export(client, eid)
    parts = urlsplit(done["downloadUrl"])
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    base = f"/v3/exports/{eid}/file"
    bad = await anon.get(base, params={**query, "sig": query["sig"][:-2] + "xx"})
    assert bad.status_code == 403 and bad.json()["type"] == "Forbidden"
    other = await anon.get(base, params={**query, "expires": str(int(query["expires"]) + 1)})
    assert other.status_code == 403
    missing = await anon.get(base)
    assert missing.status_code == 403 and "signature" in missing.json()["message"]
    # A link signed for another export does not open this one.
    wrong = await anon.get("/v3/exports/ej_0tOther/file", params=query)
    assert wrong.status_code == 403
    # An expired link, signed correctly.
    from claystack.server.services.exports import signed_file_url

    url, _ = signed_file_url(app.state.secret, "http://testserver", eid, -10)
    expired = await anon.get(_path(url))
    assert expired.status_code == 403 and "expired" in expired.json()["message"]
    # A good link to an export that is gone.
    url, _ = signed_file_url(app.state.secret, "http://testserver", "ej_0tGone", 60)
    gone = await anon.get(_path(url))
    assert gone.status_code == 404 and gone.json()["type"] == "NotFound"


async def test_unknown_foreign_and_viewer(
    client: httpx.AsyncClient, anon: httpx.AsyncClient, other_user: UserFactory
) -> None:
    table = await _leads(client)
    r = await client.post(f"/v3/tables/{table['id']}/export")
    eid = r.json()["id"]
    assert (await client.get("/v3/exports/ej_0tNope")).status_code == 404
    assert (await anon.get(f"/v3/exports/{eid}")).status_code == 401
    assert (await anon.post(f"/v3/tables/{table['id']}/export")).status_code == 401
    stranger, _ = await other_user()
    for resp in (
        await stranger.get(f"/v3/exports/{eid}"),
        await stranger.post(f"/v3/tables/{table['id']}/export"),
        await stranger.post(f"/v3/tables/{table['id']}/views/{table['firstViewId']}/export"),
    ):
        assert resp.status_code == 404, resp.text
        assert resp.json()["type"] == "NotFound"
    r = await client.post(f"/v3/tables/{table['id']}/views/gv_0tNope/export")
    assert r.status_code == 404 and r.json()["message"] == "View not found"
    # An export is a read: a viewer may start one and read it.
    viewer, _ = await other_user("viewer@example.com", role="viewer", workspace=1)
    r = await viewer.post(f"/v3/tables/{table['id']}/export")
    assert r.status_code == 200, r.text
    assert (await wait_export(viewer, r.json()["id"]))["status"] == "FINISHED"


async def test_export_of_a_deleted_table_is_gone(client: httpx.AsyncClient) -> None:
    table = await _leads(client)
    r = await client.post(f"/v3/tables/{table['id']}/export")
    eid = r.json()["id"]
    await wait_export(client, eid)
    assert (await client.delete(f"/v3/tables/{table['id']}")).status_code == 200
    assert (await client.get(f"/v3/exports/{eid}")).status_code == 404


async def test_export_of_thousands_of_rows_in_batches(
    client: httpx.AsyncClient, anon: httpx.AsyncClient, small_batches: int
) -> None:
    """A sorted view's window of 1,350 rows: three batches, the last one short."""
    table = await new_table(client, fields=("N",))
    fid = table["byName"]["N"]
    for start in range(0, 1_500, 500):
        rows = [{"cells": {fid: str(i)}} for i in range(start, start + 500)]
        r = await client.post(f"/v3/tables/{table['id']}/records", json={"records": rows})
        assert r.status_code == 200
    view = {"name": "Sorted", "sort": [{"fieldId": fid, "direction": "DESC"}], "limit": 1_350}
    vid = (await client.post(f"/v3/tables/{table['id']}/views", json=view)).json()["view"]["id"]
    r = await client.post(f"/v3/tables/{table['id']}/views/{vid}/export")
    done = await wait_export(client, r.json()["id"])
    assert done["recordsExportedCount"] == 1_350
    rows = _rows((await anon.get(_path(done["downloadUrl"]))).text)
    assert len(rows) == 1_351
    assert rows[1][-1] == "999" and rows[-1][-1] == sorted(map(str, range(1_500)))[-1_350]


async def test_sdk_exports_and_downloads(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Any
) -> None:
    from claystack import AsyncClient, ClayError

    table = await _leads(client)
    transport = httpx.ASGITransport(app=app)
    async with AsyncClient(
        "http://testserver/v3",
        email="demo@claystack.dev",
        password="claystack",
        transport=transport,
    ) as clay:
        job = await clay.exports.create(table["id"])
        assert job.id.startswith("ej_") and not job.done
        target = tmp_path / "out.csv"
        size = await clay.exports.download(job, target)
        assert size == target.stat().st_size > 0
        assert len(_rows(target.read_text())) == 5
        vid = table["firstViewId"]
        job = await clay.exports.create(table["id"], vid)
        done = await clay.exports.wait(job.id, poll_interval=0.05)
        assert done.status == "FINISHED" and done.recordsExportedCount == 4
        assert (await clay.exports.get(done.id)).downloadUrl
        try:
            await clay.exports.get("ej_0tNope")
        except ClayError as exc:
            assert exc.status_code == 404
        else:  # pragma: no cover
            raise AssertionError("expected a 404")


# -- over real HTTP --------------------------------------------------------------------------

# 3,000 rows: the filtered view's 1,500 are written in three of the job's batches (BATCH), as
# a million would be in 200 at the product's 5,000. Set CLAYSTACK_TEST_EXPORT_ROWS=100000 to
# run the scenario at the size the issue named, in batches of the product's size.
SCENARIO_ROWS = int(os.environ.get("CLAYSTACK_TEST_EXPORT_ROWS", "3000"))


def test_scenario_export_a_large_filtered_view_over_http(
    database: Any, tmp_path: Any, monkeypatch: Any
) -> None:
    """A real server: thousands of rows, a filtered view with a hidden column, exported by
    the CLI (``tables export --wait``) and downloaded with a plain httpx client (no
    cookie)."""
    from typer.testing import CliRunner

    from claystack.cli import app as cli_app
    from claystack.testing import ClaystackServer

    if "CLAYSTACK_TEST_EXPORT_ROWS" not in os.environ:
        monkeypatch.setattr(exports, "_BATCH", BATCH)  # the server's thread is in this process
    url, schema = database
    with ClaystackServer(database_url=url, database_schema=schema) as server:
        server.reset()  # from the seeded state, whatever earlier files left in the database
        with server.client() as clay:
            table = clay.tables.create(1, "Big")
            n = clay.fields.create(table.id, "N", "text")
            parity = clay.fields.create(table.id, "Parity", "text")
            note = clay.fields.create(table.id, "Note", "text")
            rows = (
                {n.id: str(i), parity.id: "even" if i % 2 == 0 else "odd", note.id: f"n{i}"}
                for i in range(SCENARIO_ROWS)
            )
            clay.records.add(table.id, rows, batch_size=10_000, return_records=False)
            view = clay.views.create(
                table.id,
                "Even",
                filter={"items": [{"fieldId": parity.id, "operator": "equals", "value": "even"}]},
            )
            hidden = {"f_created_at": {"isVisible": False}, "f_updated_at": {"isVisible": False}}
            token = clay.auth.me().apiToken
            r = httpx.patch(
                f"{server.base_url}/tables/{table.id}/views/{view.id}",
                json={"fields": {**hidden, note.id: {"isVisible": False}}},
                headers={"authorization": f"Bearer {token}"},
            )
            assert r.status_code == 200, r.text
            job = clay.exports.create(table.id, view.id)
            assert job.totalRecordsInViewCount == SCENARIO_ROWS // 2
            done = clay.exports.wait(job.id, poll_interval=0.05, timeout=300)
        assert done.downloadUrl and done.downloadUrl.startswith(server.url + "/v3/exports/")
        with httpx.Client() as plain, plain.stream("GET", done.downloadUrl) as r:
            assert r.status_code == 200
            lines = list(csv.reader(r.iter_lines()))
        assert lines[0] == ["N", "Parity"]
        assert len(lines) == SCENARIO_ROWS // 2 + 1
        assert lines[1] == ["0", "even"] and lines[-1] == [str(SCENARIO_ROWS - 2), "even"]
        # The CLI runs the same job and writes the file.
        monkeypatch.setenv("CLAYSTACK_CONFIG_DIR", str(tmp_path / "config"))
        runner = CliRunner()
        login = ["login", "--url", server.base_url, "--email", server.email]
        assert runner.invoke(cli_app, [*login, "--password", server.password]).exit_code == 0
        out = tmp_path / "even.csv"
        args = ["tables", "export", table.id, "--view", view.id, "--wait", "-o", str(out)]
        result = runner.invoke(cli_app, args, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        assert out.read_text().count("\n") == SCENARIO_ROWS // 2 + 1
