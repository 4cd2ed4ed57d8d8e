"""Shared benchmark helpers: a real ``claystack serve`` subprocess, an RSS sampler, a
logged-in httpx client, and an optional py-spy profiler per phase.

The server runs in its own process (uvicorn, access log off) on 127.0.0.1 and a free
port, against a fresh SQLite file in a temporary directory or, given a PostgreSQL URL, a
fresh private schema that is dropped again on exit. The benchmark client is the calling
process.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
DEMO_EMAIL = "demo@claystack.dev"
DEMO_PASSWORD = "claystack"
WORKSPACE = 1


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pg(url: str, sql: str) -> None:
    import asyncpg

    async def run() -> None:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run())


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of a process, in kB."""
    out: dict[str, int] = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    key, value = line.split(":", 1)
                    out[key] = int(value.split()[0])
    except OSError:
        pass
    return out


def proc_cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU time of the process and its children (``serve --workers N``)."""
    total = proc_cpu_seconds(pid)
    children: list[int] = []
    try:  # a child started by any thread (the formula workers) is listed under that thread
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                children += [int(c) for c in f.read().split()]
    except OSError:
        pass
    return total + sum(tree_cpu_seconds(c) for c in children)


class RssSampler(threading.Thread):
    """Samples ``VmRSS`` of a pid every ``interval`` seconds until stopped."""

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        super().__init__(daemon=True, name="rss-sampler")
        self.pid = pid
        self.interval = interval
        self.max_kb = 0
        self.samples = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            rss = proc_status(self.pid).get("VmRSS", 0)
            if rss > self.max_kb:
                self.max_kb = rss
            self.samples += 1
            self._stop_event.wait(self.interval)

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=2)


class Server:
    """``claystack serve`` in a subprocess with a fresh database; use as a context manager."""

    def __init__(
        self,
        database: str | None = None,
        *,
        log_level: str = "warning",
        env: dict[str, str] | None = None,
        args: list[str] | None = None,
    ) -> None:
        self.database = database
        self.args = args or []
        self.extra_env = env or {}
        self.log_level = log_level
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.tmp = Path(tempfile.mkdtemp(prefix="claystack-bench-"))
        self.schema = ""
        self.proc: subprocess.Popen[bytes] | None = None
        self.sampler: RssSampler | None = None
        self.token = ""

    @property
    def backend(self) -> str:
        return "postgresql" if self.database else "sqlite"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def __enter__(self) -> Server:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CLAYSTACK_")}
        env["CLAYSTACK_DATA_DIR"] = str(self.tmp)
        env.update(self.extra_env)
        if self.database:
            self.schema = "bench_" + uuid.uuid4().hex[:12]
            _pg(self.database, f'CREATE SCHEMA "{self.schema}"')
            env["CLAYSTACK_DATABASE_URL"] = self.database
            env["CLAYSTACK_DATABASE_SCHEMA"] = self.schema
        cmd = [
            str(VENV_BIN / "claystack"),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--log-level",
            self.log_level,
            *self.args,
        ]
        self.log_path = self.tmp / "server.log"
        log = open(self.log_path, "wb")  # noqa: SIM115 - closed with the process
        self.proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        log.close()
        try:
            self._wait_ready()
            self.sampler = RssSampler(self.pid)
            self.sampler.start()
            self.token = self._login()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _wait_ready(self, timeout: float = 180.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log_path.read_text()}")
            try:
                httpx.get(f"{self.base_url}/v3/me", timeout=1.0)
                return
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError(f"server did not start listening within {timeout:g} s")

    def _login(self) -> str:
        with httpx.Client(base_url=self.base_url, timeout=30) as c:
            r = c.post(
                "/v3/auth/login",
                json={"email": DEMO_EMAIL, "password": DEMO_PASSWORD, "source": None},
            )
            r.raise_for_status()
            me = c.get("/v3/me")
            me.raise_for_status()
            return str(me.json()["apiToken"])

    def client(self, timeout: float = 600.0) -> httpx.Client:
        """A keep-alive client carrying the bearer token."""
        return httpx.Client(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=timeout,
            limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
        )

    def memory(self) -> dict[str, float]:
        st = proc_status(self.pid)
        return {
            "rss_max_sampled_mb": (self.sampler.max_kb if self.sampler else 0) / 1024,
            "rss_samples": self.sampler.samples if self.sampler else 0,
            "vm_hwm_mb": st.get("VmHWM", 0) / 1024,
            "vm_rss_now_mb": st.get("VmRSS", 0) / 1024,
        }

    def __exit__(self, *exc: object) -> None:
        if self.sampler is not None:
            self.sampler.stop()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.schema and self.database:
            try:
                _pg(self.database, f'DROP SCHEMA "{self.schema}" CASCADE')
            except Exception as e:  # noqa: BLE001 - report and go on cleaning up
                print(f"warning: could not drop schema {self.schema}: {e}", file=sys.stderr)
        shutil.rmtree(self.tmp, ignore_errors=True)


class Profiler:
    """``py-spy record`` on the server for the duration of a ``with`` block (raw format:
    collapsed stacks), summarized into the functions that dominate."""

    def __init__(self, pid: int, out_dir: Path | None, rate: int = 200) -> None:
        self.pid = pid
        self.out_dir = out_dir
        self.rate = rate
        self.py_spy = shutil.which("py-spy", path=str(VENV_BIN)) or shutil.which("py-spy")

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        if self.out_dir is None or self.py_spy is None:
            yield
            return
        self.out_dir.mkdir(parents=True, exist_ok=True)
        raw = self.out_dir / f"{name}.txt"
        svg = self.out_dir / f"{name}.svg"
        # GIL-only samples would hide time spent in SQLite/asyncpg threads; sample idle too
        # is off so the summary shows where CPU goes.
        procs = [
            subprocess.Popen(
                [self.py_spy, "record", "--pid", str(self.pid), "--rate", str(self.rate)]
                + ["--format", fmt, "-o", str(path), "--threads", "--subprocesses"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for fmt, path in (("raw", raw), ("flamegraph", svg))
        ]
        time.sleep(0.5)
        try:
            yield
        finally:
            for p in procs:
                p.send_signal(signal.SIGINT)
            for p in procs:
                try:
                    p.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    p.kill()
            if raw.exists():
                (self.out_dir / f"{name}.summary.txt").write_text(summarize_collapsed(raw))


_WAIT_FRAMES = ("_connection_worker_thread (aiosqlite/core.py:59)", "Condition.wait (threading.py")
_PKG = re.compile(r"\(([^/ ]+)/")


def _package(frame: str) -> str:
    """The top-level package of a frame such as ``f (sqlalchemy/engine/base.py:12)``."""
    m = _PKG.search(frame)
    if m:
        return m.group(1)
    m = re.search(r"\(([^ :]+)\.py", frame)
    return m.group(1) if m else frame


def summarize_collapsed(path: Path, top: int = 25) -> str:
    """Where a py-spy raw (collapsed-stack) profile spends its samples: self time by frame
    and by package, and inclusive time of claystack's own functions. Samples whose leaf is a
    queue or condition wait (the aiosqlite worker waiting for work) are counted apart."""
    self_counts: Counter[str] = Counter()
    pkg_counts: Counter[str] = Counter()
    own_incl: Counter[str] = Counter()
    threads: Counter[str] = Counter()
    total = waiting = 0
    for line in path.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if not stack or not n.isdigit():
            continue
        count = int(n)
        frames = [f for f in stack.split(";") if f]
        while frames and frames[0].startswith("process "):  # py-spy --subprocesses
            frames.pop(0)
        if frames and frames[0].startswith("thread ("):
            thread = frames.pop(0)
            threads[thread.split(":", 1)[1].strip() if ":" in thread else thread] += count
        if not frames:
            continue
        if frames[-1].startswith(_WAIT_FRAMES):
            waiting += count
            continue
        total += count
        self_counts[frames[-1]] += count
        pkg_counts[_package(frames[-1])] += count
        for f in set(frames):
            if "(claystack/" in f and "claystack/cli/" not in f:
                own_incl[f] += count

    def pct(c: int) -> str:
        return f"{100 * c / max(total, 1):5.1f}%"

    lines = [f"{path.name}: {total} busy samples ({waiting} more waiting for work, left out)"]
    lines.append(
        "\nSamples by thread (incl. waiting): "
        + ", ".join(f"{t} {c}" for t, c in threads.most_common())
    )
    lines.append("\nSelf time by package (% of busy samples):")
    lines += [f"  {pct(c)}  {p}" for p, c in pkg_counts.most_common(15)]
    lines.append(f"\nTop {top} frames by self time:")
    lines += [f"  {pct(c)}  {f}" for f, c in self_counts.most_common(top)]
    lines.append(f"\nTop {top} claystack functions by inclusive time:")
    lines += [f"  {pct(c)}  {f}" for f, c in own_incl.most_common(top)]
    return "\n".join(lines) + "\n"


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


def summary_ms(samples_s: Sequence[float]) -> dict[str, float]:
    ms = [s * 1000 for s in samples_s]
    return {
        "n": len(ms),
        "median_ms": statistics.median(ms),
        "p95_ms": percentile(ms, 95),
        "p99_ms": percentile(ms, 99),
        "min_ms": min(ms),
        "max_ms": max(ms),
    }


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _run(cmd: list[str]) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def machine_info() -> dict[str, Any]:
    lscpu = _run(["lscpu"])
    model = next(
        (ln.split(":", 1)[1].strip() for ln in lscpu.splitlines() if ln.startswith("Model name")),
        platform.processor(),
    )
    mem_total_gb = 0.0
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    mem_total_gb = int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "cpu_model": model,
        "nproc": os.cpu_count(),
        "mem_total_gb": round(mem_total_gb, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "git_rev": _run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"]),
        "uptime": _run(["uptime"]),
    }


def _socket_ports(pid: int) -> set[int]:
    """Local TCP ports of the sockets ``pid`` has open (from /proc)."""
    inodes: set[str] = set()
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    except OSError:
        return set()
    ports: set[int] = set()
    for table in ("tcp", "tcp6"):
        try:
            with open(f"/proc/{pid}/net/{table}") as f:
                next(f)
                for line in f:
                    cols = line.split()
                    if cols[9] in inodes:
                        ports.add(int(cols[1].rsplit(":", 1)[1], 16))
        except OSError:
            continue
    return ports


def pg_backend_pids(database: str, pid: int) -> list[int]:
    """The PostgreSQL backends serving process ``pid`` (matched by client port), so a
    benchmark can count the database's CPU for that process alone."""
    import asyncpg

    ports = _socket_ports(pid)

    async def run() -> list[int]:
        conn = await asyncpg.connect(database)
        try:
            rows = await conn.fetch("SELECT pid, client_port FROM pg_stat_activity")
        finally:
            await conn.close()
        return [r["pid"] for r in rows if r["client_port"] in ports]

    return asyncio.run(run())


def pids_cpu_seconds(pids: Sequence[int]) -> float:
    return sum(proc_cpu_seconds(p) for p in pids)
