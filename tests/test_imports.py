"""CSV imports through claystack's own signed upload form and the import job."""

from __future__ import annotations

import asyncio
import time
from typing import Any
from urllib.parse import urlsplit

import httpx
from fastapi import FastAPI

from .conftest import UserFactory, new_table


async def upload(
    client: httpx.AsyncClient, anon: httpx.AsyncClient, data: bytes, name: str = "leads.csv"
) -> str:
    r = await client.post(
        "/v3/imports/signed-s3-post-url", json={"filename": name, "uploadMode": "import"}
    )
    assert r.status_code == 200, r.text
    form = r.json()
    assert set(form["fields"]) == {"key", "policy", "signature"}
    url = urlsplit(form["url"])
    assert url.path == "/v3/imports/upload"
    up = await anon.post(url.path, data=form["fields"], files={"file": (name, data, "text/csv")})
    assert up.status_code == 204, up.text
    key: str = form["fields"]["key"]
    return key


async def wait_import(client: httpx.AsyncClient, import_id: str, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        r = await client.get(f"/v3/imports/{import_id}")
        assert r.status_code == 200, r.text
        job = r.json()
        if job["status"] != "ACTIVE":
            return job
        assert time.monotonic() < deadline, job
        await asyncio.sleep(0.02)


def config(key: str, table_id: str, mapping: dict[str, str], **source: Any) -> dict[str, Any]:
    return {
        "workspaceId": 1,
        "config": {
            "source": {"type": "S3_CSV", "key": key, "filename": "leads.csv", **source},
            "destination": {"type": "TABLE", "tableId": table_id},
            "map": mapping,
            "isImportWithoutRun": False,
        },
    }


async def rows_of(client: httpx.AsyncClient, table: dict[str, Any]) -> list[dict[str, Any]]:
    r = await client.get(
        f"/v3/tables/{table['id']}/views/{table['firstViewId']}/records", params={"limit": 10_000}
    )
    assert r.status_code == 200
    return [
        {k: c["value"] for k, c in rec["cells"].items() if not k.startswith("f_created")}
        for rec in r.json()["results"]
    ]


async def test_latin1_csv_through_the_signed_flow(
    client: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    table = await new_table(client, fields=("Name", "City", "Greeting"))
    f = table["byName"]
    data = "Nom;Ville\nJosé;Zürich\nRenée;Orléans\n".encode("latin-1")
    key = await upload(client, anon, data)
    mapping = {f["Name"]: "{{Nom}}", f["City"]: "{{ Ville }}", f["Greeting"]: "Hi {{Nom}}!"}
    r = await client.post("/v3/imports", json=config(key, table["id"], mapping, hasHeader=True))
    assert r.status_code == 200, r.text
    job = r.json()
    assert job["id"].startswith("ij_") and job["status"] == "ACTIVE"
    assert job["state"]["status"] == "ACTIVE"
    done = await wait_import(client, job["id"])
    assert done["status"] == "FINISHED" and done["state"]["numRowsSoFar"] == 2
    rows = await rows_of(client, table)
    assert [(r[f["Name"]], r[f["City"]], r[f["Greeting"]]) for r in rows] == [
        ("José", "Zürich", "Hi José!"),
        ("Renée", "Orléans", "Hi Renée!"),
    ]


async def test_utf16_tabs_and_bad_rows_are_reported(
    client: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    table = await new_table(client, fields=("Name", "Email"))
    f = table["byName"]
    text = "name\temail\nÅsa\tasa@x.io\nbroken\nBo\t\n"
    key = await upload(client, anon, text.encode("utf-16"))
    mapping = {f["Name"]: "{{name}}", f["Email"]: "{{email}}"}
    r = await client.post("/v3/imports", json=config(key, table["id"], mapping))
    assert r.status_code == 200, r.text
    done = await wait_import(client, r.json()["id"])
    assert done["status"] == "FINISHED", done
    state = done["state"]
    assert state["numRowsSoFar"] == 2 and state["errorCount"] == 1
    assert state["errors"][0]["line"] == 3 and "cells" in state["errors"][0]["message"]
    rows = await rows_of(client, table)
    assert [r.get(f["Name"]) for r in rows] == ["Åsa", "Bo"]
    assert f["Email"] not in rows[1]  # a blank CSV cell stays blank


async def test_headerless_with_given_delimiter(
    client: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    table = await new_table(client, fields=("A",))
    key = await upload(client, anon, b"x|1\ny|2\n")
    mapping = {table["byName"]["A"]: "{{column_2}}"}
    body = config(key, table["id"], mapping, hasHeader=False, fieldDelimiter="|")
    r = await client.post("/v3/imports", json=body)
    assert r.status_code == 200, r.text
    assert (await wait_import(client, r.json()["id"]))["state"]["numRowsSoFar"] == 2
    assert [r[table["byName"]["A"]] for r in await rows_of(client, table)] == ["1", "2"]


async def test_upload_form_is_checked(
    app: FastAPI, client: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    r = await client.post("/v3/imports/signed-s3-post-url", json={"filename": "a.csv"})
    fields = r.json()["fields"]
    files = {"file": ("a.csv", b"a\n1\n", "text/csv")}
    forged = {**fields, "signature": fields["signature"][:-2] + "zz"}
    bad = await anon.post("/v3/imports/upload", data=forged, files=files)
    assert bad.status_code == 403 and bad.json()["type"] == "Forbidden"
    other_key = {**fields, "key": fields["key"] + "x"}
    assert (await anon.post("/v3/imports/upload", data=other_key, files=files)).status_code == 403
    no_file = await anon.post("/v3/imports/upload", data=fields, files={"x": ("a", b"", "")})
    assert no_file.status_code == 400
    not_form = await anon.post("/v3/imports/upload", json=fields)
    assert not_form.status_code == 400
    from claystack.server.services import imports
    from claystack.server.services.common import Actor, Scope

    scope = Scope(Actor(1, "demo@claystack.dev", "Demo"), 1, "owner")
    old = imports.signed_post(scope, "a.csv", secret=app.state.secret, base_url="", ttl_seconds=-5)
    expired = await anon.post("/v3/imports/upload", data=old["fields"], files=files)
    assert expired.status_code == 403 and "expired" in expired.json()["message"]
    assert (await anon.post("/v3/imports/signed-s3-post-url", json={})).status_code == 401


async def test_bad_configs_are_400_or_404(
    client: httpx.AsyncClient, anon: httpx.AsyncClient, other_user: UserFactory
) -> None:
    table = await new_table(client, fields=("Name",))
    fid = table["byName"]["Name"]
    key = await upload(client, anon, b"Name\nAda\n")
    r = await client.post("/v3/imports", json=config(key, table["id"], {fid: "{{Nope}}"}))
    assert r.status_code == 400 and "Nope" in r.json()["message"]
    r = await client.post("/v3/imports", json=config(key, table["id"], {"f_nope": "{{Name}}"}))
    assert r.status_code == 400 and "f_nope" in r.json()["message"]
    r = await client.post("/v3/imports", json=config(key + "x", table["id"], {fid: "{{Name}}"}))
    assert r.status_code == 404 and r.json()["message"] == "Upload not found"
    r = await client.post("/v3/imports", json=config(key, "t_0tNope", {fid: "{{Name}}"}))
    assert r.status_code == 404
    r = await client.post("/v3/imports", json={"config": {"source": {}}})
    assert r.status_code == 400 and r.json()["type"] == "BadRequest"
    assert (await client.get("/v3/imports/ij_0tNope")).status_code == 404
    ok = await client.post("/v3/imports", json=config(key, table["id"], {fid: "{{Name}}"}))
    iid = ok.json()["id"]
    await wait_import(client, iid)
    # Another workspace: neither the import, nor the table, nor the upload's key.
    stranger, ws = await other_user()
    assert (await stranger.get(f"/v3/imports/{iid}")).status_code == 404
    theirs = await new_table(stranger, fields=("Name",), workspace=ws)
    body = config(key, theirs["id"], {theirs["byName"]["Name"]: "{{Name}}"})
    body["workspaceId"] = ws
    r = await stranger.post("/v3/imports", json=body)
    assert r.status_code == 404 and r.json()["message"] == "Upload not found"
    r = await stranger.post("/v3/imports", json=config(key, table["id"], {fid: "{{Name}}"}))
    assert r.status_code == 404
    # A viewer may read the import but not start one.
    viewer, _ = await other_user("viewer@example.com", role="viewer", workspace=1)
    assert (await viewer.get(f"/v3/imports/{iid}")).status_code == 200
    r = await viewer.post("/v3/imports", json=config(key, table["id"], {fid: "{{Name}}"}))
    assert r.status_code == 403
    r = await viewer.post("/v3/imports/signed-s3-post-url", json={"filename": "a.csv"})
    assert r.status_code == 403


async def test_auto_run_unless_import_without_run(
    client: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    table = await new_table(client, fields=("Domain",))
    tid, dom = table["id"], table["byName"]["Domain"]
    r = await client.post(
        f"/v3/tables/{tid}/fields",
        json={
            "name": "Clean",
            "type": "action",
            "typeSettings": {
                "actionKey": "normalize-domain",
                "actionPackageId": "normalize-domain",
                "inputsBinding": [{"name": "url", "formulaText": f"{{{{{dom}}}}}"}],
            },
        },
    )
    assert r.status_code == 200, r.text
    clean = r.json()["field"]["id"]
    key = await upload(client, anon, b"domain\nhttps://www.Example.com/x\n")
    body = config(key, tid, {dom: "{{domain}}"})
    body["config"]["isImportWithoutRun"] = True
    r = await client.post("/v3/imports", json=body)
    await wait_import(client, r.json()["id"])
    body["config"]["isImportWithoutRun"] = False
    r = await client.post("/v3/imports", json=body)
    await wait_import(client, r.json()["id"])
    deadline = time.monotonic() + 30
    while True:
        rows = (await client.get(f"/v3/tables/{tid}/views/{table['firstViewId']}/records")).json()[
            "results"
        ]
        if rows[1]["cells"].get(clean, {}).get("metadata", {}).get("status") == "SUCCESS":
            break
        assert time.monotonic() < deadline, rows
        await asyncio.sleep(0.05)
    assert clean not in rows[0]["cells"]
    assert rows[1]["cells"][clean]["value"] == "example.com"


async def test_sdk_upload_and_import(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Any
) -> None:
    from claystack import AsyncClient

    table = await new_table(client, fields=("Name",))
    path = tmp_path / "names.csv"
    path.write_bytes("Name,Other\nÉmile,1\nZoë,2\n".encode("cp1252"))
    async with AsyncClient(
        "http://testserver/v3",
        email="demo@claystack.dev",
        password="claystack",
        transport=httpx.ASGITransport(app=app),
    ) as clay:
        key = await clay.imports.upload(path)
        assert key.startswith("imports/1/") and key.endswith("names.csv")
        job = await clay.imports.create(table["id"], key, {table["byName"]["Name"]: "{{Name}}"})
        done = await clay.imports.wait(job.id)
        assert done.status == "FINISHED" and done.rows == 2
        assert (await clay.imports.get(job.id)).rows == 2
        key2 = await clay.imports.upload(b"Name\nA\n", filename="b.csv")
        assert key2.endswith("b.csv")
    names = [r[table["byName"]["Name"]] for r in await rows_of(client, table)]
    assert names == ["Émile", "Zoë"]


# -- over real HTTP --------------------------------------------------------------------------


def test_scenario_latin1_import_over_http(database: Any, tmp_path: Any, monkeypatch: Any) -> None:
    """A real server: a Latin-1, semicolon CSV uploaded with plain httpx through the signed
    form (no cookie) and imported by the job in three batches; then the same through
    ``claystack imports``."""
    from typer.testing import CliRunner

    from claystack.cli import app as cli_app
    from claystack.testing import ClaystackServer

    url, schema = database
    rows = [f"Zoë {i};Müller-Lüdenscheidt {i}" for i in range(1_000)]
    data = ("Name;Company\n" + "\n".join(rows) + "\n").encode("latin-1")
    batches = {"import_batch_size": 400}
    with ClaystackServer(database_url=url, database_schema=schema, **batches) as server:
        server.reset()  # from the seeded state, whatever earlier files left in the database
        with server.client() as clay:
            table = clay.tables.create(1, "People")
            name = clay.fields.create(table.id, "Name", "text")
            company = clay.fields.create(table.id, "Company", "text")
            token = clay.auth.me().apiToken
        auth = {"authorization": f"Bearer {token}"}
        with httpx.Client(base_url=server.base_url) as http:
            form = http.post(
                "/imports/signed-s3-post-url",
                json={"filename": "people.csv", "uploadMode": "import"},
                headers=auth,
            ).json()
            with httpx.Client() as plain:
                up = plain.post(
                    form["url"], data=form["fields"], files={"file": ("people.csv", data)}
                )
            assert up.status_code == 204, up.text
            body = config(form["fields"]["key"], table.id, {name.id: "{{Name}}"})
            body["config"]["map"][company.id] = "{{Company}}"
            r = http.post("/imports", json=body, headers=auth)
            assert r.status_code == 200, r.text
        with server.client() as clay:
            job = clay.imports.wait(r.json()["id"], timeout=120, poll_interval=0.05)
            assert job.status == "FINISHED" and job.state["numRowsSoFar"] == 1_000
            got = list(clay.records.iter(table.id))
            assert len(got) == 1_000 and got[0].cells[name.id].value == "Zoë 0"
            assert got[-1].cells[company.id].value == "Müller-Lüdenscheidt 999"
            # The CLI: columns named like fields are mapped by default.
            monkeypatch.setenv("CLAYSTACK_CONFIG_DIR", str(tmp_path / "config"))
            runner = CliRunner()
            login = ["login", "--url", server.base_url, "--email", server.email]
            assert runner.invoke(cli_app, [*login, "--password", server.password]).exit_code == 0
            path = tmp_path / "people.csv"
            path.write_bytes(("Name;Company\nJosé;Café\nbad;row;extra\n").encode("latin-1"))
            result = runner.invoke(
                cli_app, ["imports", "run", str(path), "-t", table.id], catch_exceptions=False
            )
            assert result.exit_code == 0, result.output
            assert "FINISHED: 1 rows imported" in result.stdout
            assert "line 3" in result.stderr
            assert clay.tables.count(table.id) == 1_001


async def test_a_job_taken_over_resumes_after_its_stored_rows(
    app: FastAPI, client: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    """A crash after the first batch: the next holder of the job skips the rows already
    stored (they committed with the job's progress) and adds the rest once; a process whose
    lease was taken over adds nothing."""
    from sqlalchemy import delete, select, update

    from claystack.server.services import imports
    from claystack.server.services.common import now_ms
    from claystack.server.services.leases import Lease
    from claystack.server.storage.models import ImportJob, Record

    app.state.settings.import_batch_size = 2
    table = await new_table(client, fields=("N",))
    fid = table["byName"]["N"]
    key = await upload(client, anon, b"N\n1\n2\n3\n4\n5\n")
    r = await client.post("/v3/imports", json=config(key, table["id"], {fid: "{{N}}"}))
    iid = r.json()["id"]
    assert (await wait_import(client, iid))["state"]["numRowsSoFar"] == 5
    # Back to the state a crash after the first batch leaves: 2 rows stored, lease lapsed.
    db = app.state.db
    async with db.transaction(write=True) as conn:
        await conn.execute(
            update(ImportJob)
            .where(ImportJob.id == iid)
            .values(status="ACTIVE", rows_read=2, rows_imported=2, lease_until=now_ms() - 1)
        )
        keep = select(Record.seq).where(Record.table_id == table["id"]).order_by(Record.seq)
        seqs = list(await conn.scalars(keep))
        await conn.execute(delete(Record).where(Record.seq.in_(seqs[2:])))
    # A process holding an older lease is refused at its first write.
    stale = Lease(now_ms() - 10_000, 60)
    await imports.run_import(db, app.state.settings, iid, stale)
    async with db.transaction(write=False) as conn:
        assert len(list(await conn.scalars(keep))) == 2
    app.state.jobs.submit("import", iid)
    done = await wait_import(client, iid)
    assert done["status"] == "FINISHED" and done["state"]["numRowsSoFar"] == 5
    rows = await rows_of(client, table)
    assert [r[fid] for r in rows] == ["1", "2", "3", "4", "5"]


async def test_an_upload_over_the_limit_is_413_and_stores_nothing(settings: Any) -> None:
    from claystack.server import lifecycle
    from claystack.server.app import create_app

    from .conftest import login, make_client

    settings.import_max_file_bytes = 2_000
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        await lifecycle.reset(application)
        async with make_client(application) as c, make_client(application) as anon:
            await login(c, "demo@claystack.dev", "claystack")
            form = (await c.post("/v3/imports/signed-s3-post-url", json={"filename": "a"})).json()
            big = {"file": ("a.csv", b"a\n" + b"x\n" * 5_000, "text/csv")}
            r = await anon.post("/v3/imports/upload", data=form["fields"], files=big)
            assert r.status_code == 413 and r.json()["type"] == "PayloadTooLarge"
            small = {"file": ("a.csv", b"a\nx\n", "text/csv")}
            r = await anon.post("/v3/imports/upload", data=form["fields"], files=small)
            assert r.status_code == 204
    assert not list((settings.data_dir / "uploads").glob("*.part"))
