"""Export and upload files are deleted once their time is up, so disk use stays bounded."""

from __future__ import annotations

import time

import httpx
from fastapi import FastAPI
from sqlalchemy import update

from claystack.server.services import exports, imports, retention
from claystack.server.services.common import now_ms
from claystack.server.storage.models import ExportJob

from .conftest import new_table
from .test_exports import _leads, _path, wait_export
from .test_imports import config, upload


async def test_an_export_file_goes_after_its_retention(
    app: FastAPI, client: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    settings, db = app.state.settings, app.state.db
    table = await _leads(client)
    job = await wait_export(
        client, (await client.post(f"/v3/tables/{table['id']}/export")).json()["id"]
    )
    path = exports.export_path(settings, job["id"])
    link = _path(job["downloadUrl"])
    await retention.sweep(db, settings)
    assert path.exists()
    assert (await anon.get(link)).status_code == 200

    # The export finished longer ago than CLAYSTACK_EXPORT_RETENTION_HOURS.
    keep_ms = int(settings.export_retention_hours * 3_600_000)
    async with db.transaction(write=True) as conn:
        await conn.execute(
            update(ExportJob)
            .where(ExportJob.id == job["id"])
            .values(finished_at=now_ms() - keep_ms - 1_000)
        )
    old = (await client.get(f"/v3/exports/{job['id']}")).json()
    assert old["status"] == "FINISHED" and old["downloadUrl"] is None and old["url"] is None
    assert old["expiresAt"] < time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
    gone = await anon.get(link)  # a link handed out before is dead too
    assert gone.status_code == 404 and "deleted" in gone.json()["message"]
    assert (await retention.sweep(db, settings)).exports >= 1
    assert not path.exists()


async def test_a_fresh_link_never_outlives_the_file(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    settings, db = app.state.settings, app.state.db
    table = await _leads(client)
    job = await wait_export(
        client, (await client.post(f"/v3/tables/{table['id']}/export")).json()["id"]
    )
    # Finished an hour before its file is due: the link lasts that hour, not 24.
    keep_ms = int(settings.export_retention_hours * 3_600_000)
    async with db.transaction(write=True) as conn:
        await conn.execute(
            update(ExportJob)
            .where(ExportJob.id == job["id"])
            .values(finished_at=now_ms() - keep_ms + 3_600_000)
        )
    fresh = (await client.get(f"/v3/exports/{job['id']}")).json()
    expires = int(fresh["downloadUrl"].split("expires=")[1].split("&")[0])
    assert 3_500 < expires - time.time() <= 3_600


async def test_files_of_deleted_tables_go_at_once(app: FastAPI, client: httpx.AsyncClient) -> None:
    settings, db = app.state.settings, app.state.db
    table = await _leads(client)
    job = await wait_export(
        client, (await client.post(f"/v3/tables/{table['id']}/export")).json()["id"]
    )
    path = exports.export_path(settings, job["id"])
    assert (await client.delete(f"/v3/tables/{table['id']}")).status_code == 200
    assert path.exists()
    await retention.sweep(db, settings)
    assert not path.exists()


async def test_an_upload_goes_after_its_retention(
    app: FastAPI, client: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    settings, db = app.state.settings, app.state.db
    key = await upload(client, anon, b"N\n1\n")
    path = imports.upload_path(settings, key)
    await retention.sweep(db, settings)
    assert path.exists()
    # A controllable clock: the sweep as it runs a day later.
    later = time.time() + settings.upload_retention_hours * 3600 + 1
    await retention.sweep(db, settings, now=later)
    assert not path.exists()
    table = await new_table(client, fields=("N",))
    r = await client.post(
        "/v3/imports", json=config(key, table["id"], {table["byName"]["N"]: "{{N}}"})
    )
    assert r.status_code == 404 and r.json()["message"] == "Upload not found"
