"""Deleting the files exports and imports leave under the data dir, so that disk use stays
bounded on a server that runs for months.

- An export's CSV goes ``export_retention_hours`` after the export finished (its signed links
  never outlive it); the file of a failed export, and the file of an export whose row is gone
  (its table was deleted), go at once. A file still being written (an ACTIVE job) stays.
- An upload goes ``upload_retention_hours`` after it arrived, imported or not.

Any server process may sweep at any time: deleting a file twice is harmless.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import anyio

from ..config import Settings
from ..storage.engine import Database
from ..storage.repositories import jobs as jobs_repo
from . import exports, imports


@dataclass
class Swept:
    exports: int = 0
    uploads: int = 0


async def sweep(db: Database, settings: Settings, now: float | None = None) -> Swept:
    """Deletes what is due at ``now`` (epoch seconds; the clock by default)."""
    now = time.time() if now is None else now
    export_files = await anyio.to_thread.run_sync(_files, exports.export_dir(settings))
    ids = sorted({p.name.split(".", 1)[0] for p in export_files})
    rows: dict[str, tuple[str | None, int | None]] = {}
    async with db.transaction(write=False) as conn:
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            for row in await jobs_repo.export_states(conn, chunk):
                rows[row.id] = (row.status, row.finished_at)
    due: list[Path] = []
    for path in export_files:
        status, finished_at = rows.get(path.name.split(".", 1)[0], (None, None))
        if status == exports.ACTIVE:
            continue
        if status == exports.FINISHED and finished_at is not None:
            if exports.file_deadline(settings, finished_at) > now:
                continue
        due.append(path)
    keep_uploads = settings.upload_retention_hours * 3600
    upload_files = await anyio.to_thread.run_sync(_files, imports.upload_dir(settings))
    old_uploads = [p for p in upload_files if _mtime(p) + keep_uploads <= now]
    await anyio.to_thread.run_sync(_unlink, due + old_uploads)
    return Swept(exports=len(due), uploads=len(old_uploads))


def _files(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if p.is_file()] if folder.is_dir() else []


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return float("inf")


def _unlink(paths: list[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)
