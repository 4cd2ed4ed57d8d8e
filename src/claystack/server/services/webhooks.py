"""Webhook ingestion: one JSON payload per POST becomes one row.

Requests are checked here (source, token, body, rate) and then handed to one writer task
that commits the rows of all requests waiting at that moment in one transaction (group
commit): on SQLite a transaction per POST would cap ingestion at the disk's commit rate.
Each request is answered only after the transaction holding its row has committed, so a
2xx always means the row is stored. Limits that depend on stored counts (submissions per
source, rows per table, a source deleted meanwhile) are checked inside that transaction.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import defaultdict
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import parse_qsl

import orjson

from ..config import Settings
from ..errors import (
    BadRequest,
    ClayError,
    NotFound,
    PayloadTooLarge,
    ServiceUnavailable,
    TooManyRequests,
    Unauthorized,
    UnsupportedMediaType,
    as_clay_error,
)
from ..ids import new_ids
from ..middleware import check_depth, legacy_body, parse_json
from ..storage.engine import Database
from ..storage.repositories import deliveries
from ..storage.uow import UnitOfWork
from . import rates, subscriptions
from . import records as records_svc
from . import runs as runs_svc
from .common import Actor, Scope, now_ms
from .records import check_cells
from .sources import parse_hook, token_matches
from .tables import SYSTEM_FIELD_IDS, TableRef

log = logging.getLogger("claystack")

MAX_KEY_LENGTH = 200
# A lifetime or table cap does not lift by waiting a second; tell clients to come back later.
_CAP_RETRY_AFTER = 3600


@dataclass(frozen=True, slots=True)
class Hook:
    """What a request needs to know about the source behind a webhook URL."""

    source_id: str
    workspace_id: int
    table_id: str | None  # None: no field subscribes the source yet; payloads are buffered
    slug: str
    token_hash: str | None
    plain_text: bool = False  # the source's responseType is PLAIN_TEXT: answer ``OK``


@dataclass(slots=True)
class _Pending:
    hook: Hook
    payload: Any
    key: str | None
    future: asyncio.Future[tuple[str, bool]]


@dataclass(slots=True)
class _Bucket:
    tokens: float
    stamp: float


@dataclass(slots=True)
class TokenBuckets:
    """Per-key token buckets (in memory, for SQLite's one process): ``rate`` per second,
    ``burst`` deep."""

    rate: float
    burst: int
    buckets: dict[Any, _Bucket] = field(default_factory=dict)

    def take(self, key: Any) -> float:
        """0 if a token was taken, else the seconds until one will be there."""
        now = time.monotonic()
        b = self.buckets.get(key)
        if b is None:
            if len(self.buckets) > 100_000:
                self.buckets.clear()
            b = self.buckets[key] = _Bucket(float(self.burst), now)
        b.tokens = min(float(self.burst), b.tokens + (now - b.stamp) * self.rate)
        b.stamp = now
        if b.tokens >= 1:
            b.tokens -= 1
            return 0.0
        return (1 - b.tokens) / self.rate


class WebhookIngest:
    """The per-app ingestion machinery: URL cache, rate buckets and the group-commit writer."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self.secret = ""
        self._cache: dict[str, tuple[Hook, float]] = {}
        self._buckets = (
            TokenBuckets(settings.webhook_rate_per_second, settings.webhook_rate_burst)
            if settings.webhook_rate_per_second > 0
            else None
        )
        self._queue: asyncio.Queue[_Pending | None] | None = None
        self._writer: asyncio.Task[None] | None = None
        self._closed = False
        # The writer waiting for more requests: how many it waits for, and for what.
        self._want = 0
        self._more: asyncio.Future[None] | None = None

    # -- checks before the write ---------------------------------------------------------

    async def hook(self, path_segment: str, *, fresh: bool = False) -> Hook:
        """The live source behind ``{slug}-{uuid}``; 404 for anything else. ``fresh``
        skips the cache."""
        parsed = parse_hook(path_segment)
        if parsed is None:
            raise NotFound("Webhook not found")
        slug, hook_uuid = parsed
        now = time.monotonic()
        hit = None if fresh else self._cache.get(hook_uuid)
        if hit is not None and hit[1] > now:
            found: Hook | None = hit[0]
        else:
            async with self.db.transaction(write=False) as conn:
                row = await deliveries.hook(conn, hook_uuid)
            found = None
            if row is not None:
                plain = (row.type_settings or {}).get("responseType") == "PLAIN_TEXT"
                found = Hook(
                    row.id, row.workspace_id, row.table_id, row.slug, row.auth_token_hash, plain
                )
                ttl = self.settings.webhook_cache_seconds
                if ttl > 0:
                    if len(self._cache) > 10_000:
                        self._cache.clear()
                    self._cache[hook_uuid] = (found, now + ttl)
        if found is None or found.slug != slug:
            raise NotFound("Webhook not found")
        return found

    def forget(self, hook_uuid: str | None = None) -> None:
        """Drops cached URL lookups (one, or all) after a source changed."""
        if hook_uuid is None:
            self._cache.clear()
        else:
            self._cache.pop(hook_uuid, None)

    def reset(self) -> None:
        """Forgets cached lookups and rate-limit state (the emulator's reset; the shared
        state in ``rate_buckets`` is emptied with the other tables)."""
        self._cache.clear()
        if self._buckets is not None:
            self._buckets.buckets.clear()

    def check_length(self, content_length: str | None) -> None:
        limit = self.settings.webhook_max_payload_bytes
        if content_length and content_length.isdigit() and int(content_length) > limit:
            raise PayloadTooLarge(f"Webhook payloads are limited to {limit} bytes")

    async def authorize(self, hook: Hook, path_segment: str, given: str | None) -> Hook:
        """Checks ``x-clay-webhook-auth``; a token that fails against a cached lookup is
        checked again against the database, where another process may have rotated it."""
        if self._token_ok(hook, given):
            return hook
        hook = await self.hook(path_segment, fresh=True)
        if self._token_ok(hook, given):
            return hook
        if given:
            raise Unauthorized("Invalid x-clay-webhook-auth token for this webhook")
        raise Unauthorized("This webhook requires the x-clay-webhook-auth header")

    def _token_ok(self, hook: Hook, given: str | None) -> bool:
        return hook.token_hash is None or token_matches(self.secret, hook.token_hash, given)

    def parse(self, body: bytes, content_type: str | None = None) -> Any:
        """The payload. JSON is read whatever the Content-Type says; a body that is not
        JSON is read by its type: form fields (``application/x-www-form-urlencoded``)
        become an object of strings, or the legacy form-encoded JSON; ``text/*`` may hold
        the legacy form; any other type is a 415."""
        limit = self.settings.webhook_max_payload_bytes
        if len(body) > limit:
            raise PayloadTooLarge(f"Webhook payloads are limited to {limit} bytes")
        body = body.removeprefix(b"\xef\xbb\xbf")
        if not body.strip():
            raise BadRequest("Empty body: send one JSON object per request")
        text = body
        depth = self.settings.max_json_depth
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError:
            payload = _not_json(body, (content_type or "").split(";")[0].strip().lower(), depth)
            text = orjson.dumps(payload)
        else:
            check_depth(payload, body, depth)
        if not isinstance(payload, dict | list):
            raise BadRequest("The body must be a JSON object (or an array, kept as one row)")
        if not self.db.is_sqlite and b"\\u0000" in text:
            # PostgreSQL's jsonb cannot hold NUL characters; say so instead of failing later.
            raise BadRequest("JSON text must not contain \\u0000 on this server")
        return payload

    async def check_rate(self, hook: Hook) -> None:
        """429 when the workspace is over its webhook rate: counted in this process on
        SQLite (its one process), in the database on PostgreSQL, where several API
        processes must enforce one limit."""
        if self._buckets is None:
            return
        if self.db.is_sqlite:
            wait = self._buckets.take(hook.workspace_id)
        else:
            async with self.db.transaction(write=True) as conn:
                wait = await rates.take(
                    conn,
                    f"webhook:{hook.workspace_id}",
                    self.settings.webhook_rate_per_second,
                    self.settings.webhook_rate_burst,
                )
        if wait > 0:
            rate = self.settings.webhook_rate_per_second
            raise TooManyRequests(
                f"Webhook rate limit of {rate:g} rows per second for this workspace exceeded",
                retry_after=math.ceil(wait),
            )

    # -- the write -----------------------------------------------------------------------

    async def submit(self, hook: Hook, payload: Any, key: str | None) -> tuple[str, bool]:
        """Queues one row and waits until it is committed: ``(record id, replayed)``, where
        ``replayed`` means an earlier POST with the same idempotency key made the row."""
        if key is not None and (not key or len(key) > MAX_KEY_LENGTH):
            raise BadRequest(f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters")
        if self._closed:
            raise ServiceUnavailable("The server is shutting down")
        if hook.table_id is None:
            async with self.db.transaction(write=True) as conn:
                buffered, table_id = await subscriptions.buffer_payload(
                    conn, hook.source_id, payload
                )
            if buffered is not None:
                return buffered, False
            self.forget()  # subscribed since the URL was looked up
            hook = replace(hook, table_id=table_id)
        if self._queue is None:
            self._queue = asyncio.Queue()
            self._writer = asyncio.create_task(self._run(self._queue), name="webhook-writer")
        future: asyncio.Future[tuple[str, bool]] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Pending(hook, payload, key, future))
        if self._want and self._queue.qsize() >= self._want:
            _settle(self._more)
        return await future

    async def close(self) -> None:
        """Stops the writer once it has written everything queued before this call."""
        self._closed = True
        if self._queue is None or self._writer is None:
            return
        self._queue.put_nowait(None)
        _settle(self._more)
        try:
            await asyncio.wait_for(asyncio.shield(self._writer), timeout=30)
        except TimeoutError:
            self._writer.cancel()

    async def _run(self, queue: asyncio.Queue[_Pending | None]) -> None:
        limit = self.settings.webhook_batch_size
        wait = self.settings.webhook_batch_wait_ms / 1000
        last = 1
        while True:
            first = await queue.get()
            if first is None:
                return
            # One turn of the event loop before taking the batch: requests whose bytes have
            # arrived meanwhile join it (a bigger batch costs the same round trips).
            try:
                await asyncio.sleep(0)
                if wait and queue.qsize() + 1 < last:
                    # Fewer are waiting than the last batch held: its senders are likely
                    # sending again (their answers just went out). Waiting briefly for them
                    # makes one commit of what would be two, and commits are what cost (on
                    # PostgreSQL the batches of every process queue on their table's row
                    # until each commit's flush is done). A lone sender never waits: its
                    # batches hold one.
                    await self._gather(queue, min(last, limit) - 1, wait)
            except asyncio.CancelledError:
                _fail([first], ServiceUnavailable("The server is shutting down"))
                raise
            batch = [first]
            stop = False
            while len(batch) < limit and not queue.empty():
                item = queue.get_nowait()
                if item is None:
                    stop = True
                    break
                batch.append(item)
            last = len(batch)
            try:
                await self._write(batch)
            except asyncio.CancelledError:
                _fail(batch, ServiceUnavailable("The server is shutting down"))
                raise
            except Exception:  # noqa: BLE001 - never let the writer die
                log.exception("webhook writer failed")
                _fail(batch, ServiceUnavailable("Could not store the row; try again"))
            if stop:
                return

    async def _gather(self, queue: asyncio.Queue[_Pending | None], want: int, wait: float) -> None:
        """Returns once ``want`` requests are queued, or after ``wait`` seconds."""
        loop = asyncio.get_running_loop()
        more = self._more = loop.create_future()
        self._want = want
        timer = loop.call_later(wait, _settle, more)
        try:
            if queue.qsize() < want:
                await more
        finally:
            timer.cancel()
            self._want = 0
            self._more = None

    async def _write(self, batch: list[_Pending], attempt: int = 0) -> None:
        try:
            async with self.db.unit_of_work() as uow:
                results = await _apply(uow, batch, self.settings)
        except _KeyRace:
            # Another process stored one of these keys after our read; the retry sees it.
            if attempt < 3:
                await self._write(batch, attempt + 1)
            else:
                _fail(batch, ServiceUnavailable("Could not store the row; try again"))
            return
        except Exception as exc:  # noqa: BLE001 - one bad row must not fail the others
            if len(batch) > 1:
                # Each row again in a transaction of its own: only the bad one fails.
                for item in batch:
                    await self._write([item])
                return
            error = as_clay_error(exc)
            if error.status_code >= 500:
                error = ServiceUnavailable("Could not store the row; try again")
            _fail(batch, error)
            return
        for item, result in zip(batch, results, strict=True):
            if item.future.done():
                continue
            if isinstance(result, ClayError):
                item.future.set_exception(result)
            else:
                item.future.set_result(result)


_FORM = "application/x-www-form-urlencoded"


def _not_json(body: bytes, ctype: str, depth: int) -> Any:
    """The payload of a body that is not JSON, by its media type."""
    if ctype == _FORM:
        try:
            inner = legacy_body(body)
        except BadRequest:
            return _form_fields(body)
        return parse_json(inner, depth)
    if ctype.startswith("text/") and ctype != "text/json":
        return parse_json(legacy_body(body), depth)
    if ctype in ("", "application/json", "text/json") or ctype.endswith("+json"):
        raise BadRequest("Malformed JSON body")
    raise UnsupportedMediaType(f"Webhook bodies must be JSON (or form fields), not {ctype}")


def _form_fields(body: bytes) -> dict[str, Any]:
    """``a=1&b=2&b=3`` as ``{"a": "1", "b": ["2", "3"]}``."""
    try:
        pairs = parse_qsl(body.decode(), keep_blank_values=True, strict_parsing=True)
    except (UnicodeDecodeError, ValueError):
        raise BadRequest("Malformed form body: expected key=value pairs") from None
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key not in out:
            out[key] = value
        elif isinstance(out[key], list):
            out[key].append(value)
        else:
            out[key] = [out[key], value]
    return out


class _KeyRace(Exception):
    pass


def _settle(future: asyncio.Future[None] | None) -> None:
    if future is not None and not future.done():
        future.set_result(None)


def _fail(batch: list[_Pending], error: ClayError) -> None:
    for item in batch:
        if not item.future.done():
            item.future.set_exception(error)


@dataclass(slots=True)
class _Admitted:
    """What a batch may write, decided against the locked sources: each request's answer
    so far (None: written by this batch, or a repeat of a key written by it), the requests
    to write per table, new submissions per source, and the keys this batch claims (with
    the index of the request that writes each)."""

    results: list[tuple[str, bool] | ClayError | None]
    by_table: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    submissions: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    claimed: dict[tuple[str, str], int] = field(default_factory=dict)


def _admit(
    batch: list[_Pending],
    sources: dict[str, Any],
    stored: dict[tuple[str, str], str],
    settings: Settings,
) -> _Admitted:
    """Checks each request against its source (gone, token rotated, key already stored,
    caps reached) in batch order."""
    out = _Admitted([None] * len(batch))
    results = out.results
    rows_added: dict[str, int] = defaultdict(int)
    sub_cap = settings.webhook_max_submissions_per_source
    row_cap = settings.webhook_max_table_rows
    for i, item in enumerate(batch):
        sid = item.hook.source_id
        src = sources.get(sid)
        if src is None:
            results[i] = NotFound("Webhook not found")
            continue
        token_hash = src.source_token_hash
        if token_hash is not None and token_hash != item.hook.token_hash:
            # The token was set or rotated after this request was checked (maybe by
            # another process): the token it carried is no longer the source's.
            results[i] = Unauthorized("Invalid x-clay-webhook-auth token for this webhook")
            continue
        if item.key is not None:
            pair = (sid, item.key)
            if pair in stored:
                results[i] = (stored[pair], True)
                continue
            if pair in out.claimed:
                continue
        if sub_cap and src.source_submissions + out.submissions[sid] >= sub_cap:
            results[i] = TooManyRequests(
                f"This webhook has received its limit of {sub_cap} submissions",
                retry_after=_CAP_RETRY_AFTER,
            )
            continue
        if row_cap and src.row_count + rows_added[src.id] >= row_cap:
            results[i] = TooManyRequests(
                f"The table has reached its limit of {row_cap} rows",
                retry_after=_CAP_RETRY_AFTER,
            )
            continue
        out.submissions[sid] += 1
        rows_added[src.id] += 1
        out.by_table[src.id].append(i)
        if item.key is not None:
            out.claimed[(sid, item.key)] = i
    return out


async def _apply(
    uow: UnitOfWork, batch: list[_Pending], settings: Settings
) -> list[tuple[str, bool] | ClayError]:
    """Writes a batch inside one transaction; returns each request's answer in order."""
    conn = uow.conn
    at_once = uow.dialect == "postgresql"
    ids = list({item.hook.source_id for item in batch})
    # One row per source: the source's columns plus its table's (``TableRef.row``), and on
    # PostgreSQL its table's fields.
    capped = settings.webhook_max_submissions_per_source or settings.webhook_max_table_rows
    sources = await deliveries.lock_sources(conn, ids, exclusive=bool(capped), fields=at_once)
    # Idempotency: keys already stored answer with the row they made; a key repeated in
    # this batch is written once and its later requests get the first one's row.
    stored: dict[tuple[str, str], str] = {}
    keyed = list({(item.hook.source_id, item.key) for item in batch if item.key is not None})
    if keyed:
        stored = await deliveries.stored_keys(conn, keyed)
    admitted = _admit(batch, sources, stored, settings)
    results = admitted.results
    if at_once:
        await _write_at_once(uow, batch, sources, admitted, settings)
    else:
        await _write_each(uow, batch, sources, admitted, settings)

    claimed = admitted.claimed
    out: list[tuple[str, bool] | ClayError] = []
    for i, item in enumerate(batch):
        result = results[i]
        if result is None:
            assert item.key is not None
            first = results[claimed[(item.hook.source_id, item.key)]]
            assert isinstance(first, tuple)
            result = (first[0], True)
        out.append(result)
    return out


def _ref(table_id: str, src: Any) -> TableRef:
    actor = Actor(src.source_owner_id or 0, "", "Webhook")
    return TableRef(table_id, Scope(actor, src.workspace_id, "owner"), src)


async def _write_each(
    uow: UnitOfWork,
    batch: list[_Pending],
    sources: dict[str, Any],
    admitted: _Admitted,
    settings: Settings,
) -> None:
    """The admitted rows through ``records.add_records`` a table at a time, then the keys
    and the sources' counters (SQLite)."""
    conn = uow.conn
    results = admitted.results
    for table_id, indexes in admitted.by_table.items():
        src = sources[batch[indexes[0]].hook.source_id]
        added = await records_svc.add_records(
            uow,
            _ref(table_id, src),
            [
                {"cells": {sources[batch[i].hook.source_id].source_field_id: batch[i].payload}}
                for i in indexes
            ],
            max_cell_bytes=settings.max_cell_bytes,
        )
        for i, row in zip(indexes, added, strict=True):
            results[i] = (row["id"], False)

    claimed = admitted.claimed
    if claimed:
        record_of = {pair: results[i][0] for pair, i in claimed.items()}  # type: ignore[index]
        if await deliveries.claim_keys(conn, record_of, now_ms()) != set(record_of):
            raise _KeyRace()
    await deliveries.count_submissions(conn, admitted.submissions)


async def _write_at_once(
    uow: UnitOfWork,
    batch: list[_Pending],
    sources: dict[str, Any],
    admitted: _Admitted,
    settings: Settings,
) -> None:
    """PostgreSQL: the admitted rows, checked as ``records.add_records`` checks them, go
    with their tables' counts, the sources' counters and the keys in one statement
    (``deliveries.write_batch``); then auto-run queues what the new rows start, from the
    fields read with the sources."""
    results = admitted.results
    rows: list[tuple[str, str, dict[str, Any]]] = []
    added: list[tuple[TableRef, list[deliveries.TableField], int]] = []
    for table_id, indexes in admitted.by_table.items():
        src = sources[batch[indexes[0]].hook.source_id]
        fields = deliveries.table_fields_of(src)
        writable = {f.id for f in fields} - SYSTEM_FIELD_IDS
        start = len(rows)
        for n, (i, rid) in enumerate(zip(indexes, new_ids("r", len(indexes)), strict=True)):
            item = batch[i]
            cells = {sources[item.hook.source_id].source_field_id: item.payload}
            cells = check_cells(cells, writable, f"records[{n}]", settings.max_cell_bytes)
            rows.append((table_id, rid, cells))
            results[i] = (rid, False)
        added.append((_ref(table_id, src), fields, start))
    if not rows:
        return
    keys = {pair: results[i][0] for pair, i in admitted.claimed.items()}  # type: ignore[index]
    tables, won = await deliveries.write_batch(uow.conn, rows, admitted.submissions, keys, now_ms())
    if len(tables) != len(added):
        raise NotFound("Table not found")  # as ``UnitOfWork.write_tables``; locked, so never
    if won != set(keys):
        raise _KeyRace()
    uow.tables_written(tables)
    for i, (ref, fields, start) in enumerate(added):
        end = added[i + 1][2] if i + 1 < len(added) else len(rows)
        new = ({"id": rid, "cells": cells} for _, rid, cells in rows[start:end])
        await runs_svc.auto_run(uow, ref, new, table_fields=fields)
