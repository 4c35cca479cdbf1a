"""Benchmark 3: quota efficiency of the adaptive Visma rate limiter.

    python -m bench.quota [--small]

Ten connections, each with its own Ramp business and its own Visma company (a sandbox pair per
connection, all served by one child process), each with a backlog of approved bills. Every Visma
company has a fixed-window quota and every Visma call takes an extra 50 ms (a sandbox latency
fault). The connector runs here: a ``Runtime`` on a fresh SQLite store and the real ``Service``
(scheduler reconciles the backlog into records, the worker syncs them).

**Time is compressed, not the rate.** Visma's window is an hour; the benchmark uses a 60 s
window with 60 calls, i.e. 3,600 calls per hour per company, the same 1 call/s. What scales
with the window is only the granularity of the ``X-RateLimit-Reset`` header (whole seconds:
relatively 60 times coarser here than in an hour-long window) and the one probe per window.

Reported, from the sandboxes' own counters:

- **quota fraction**: calls Visma counted in complete windows, divided by what the quota
  allows over the same span (first window start to last complete window end, gaps included),
  summed over companies. Target >= 0.95.
- **429s**: answers over the quota, in total and in steady state (after each company's first
  window). Target 0 in steady state.
- **Visma calls per bill** against the minimum the flow needs. Minimum, per connection: one
  invoice POST per bill, one attachment POST per invoice file (each sandbox bill has one PDF),
  one supplier lookup per distinct vendor (the flow must look before it creates: exactly one
  supplier per vendor), one supplier POST per supplier it had to create, and one master-data
  load (accounts, subaccount dimension, VAT codes, periods, projects, currencies: the pre-flight
  check's data, cached for 5 minutes, longer than the run). Target: actual <= 1.05 x minimum.
  The steady-state figure (calls per bill after each company's first window) has its own
  minimum: the invoice POST and its file.
- **Where the supplier calls go** with the supplier index (``flows/supplier_index.py``): its
  full reads (``GET /v1/supplier`` without a filter, one per page), its delta reads (with
  ``lastModifiedDateTime``), the supplier-key read that tells how suppliers are numbered, and
  the lookups per vendor they add up to.

``--small`` (2 connections, 16 calls per 4 s window, 2 windows) is the smoke size. Prints one
summary line and writes ``bench/results/quota.json`` (``quota_small.json`` for ``--small``; the
folder is ``$ML_CONNECTOR_BENCH_RESULTS`` when set).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from cryptography.fernet import Fernet
from pydantic import SecretStr

from bench._ports import wait_listening
from bench._procs import machine
from bench._world import RAMP_ID, RAMP_SECRET, VISMA_ID, VISMA_SECRET, scaled_demo
from ml_connector.app import connection_admin as admin
from ml_connector.app.principal import Actor
from ml_connector.log import configure_logging
from ml_connector.runtime.service import Service
from ml_connector.runtime.wiring import Runtime
from ml_connector.settings import Settings
from ml_connector.store import LinkKind

RESULTS = Path(os.environ.get("ML_CONNECTOR_BENCH_RESULTS") or Path(__file__).parent / "results")
INVOICE_PATH = "/supplierinvoice"
SUPPLIER_PATH = "/supplier"
SUPPLIER_KEY_PATH = "/dimension/supllier"  # the supplier key, as Visma spells it
# Master data the pre-flight check loads (flows.context.MasterDataCache).
MASTER_PATHS = ("/account", "/dimension", "/vat", "/financialperiod", "/project", "/currency")


@dataclass(frozen=True)
class QuotaConfig:
    connections: int
    bills: int  # backlog per connection: more than the quota can sync in the run
    limit: int  # calls per window per company
    window_s: float
    latency_s: float
    windows: int  # complete windows to measure per company
    concurrency: int  # the worker's concurrency (records in flight across connections)

    @property
    def calls_per_hour(self) -> float:
        return self.limit * 3600.0 / self.window_s


FULL = QuotaConfig(10, 250, 60, 60.0, 0.05, 3, 20)
SMALL = QuotaConfig(2, 40, 16, 4.0, 0.05, 2, 4)


# --- the sandboxes, in a child process ----------------------------------------------------------


@dataclass(frozen=True)
class Tenant:
    ramp_url: str
    visma_url: str
    tenant_id: str
    company_id: str

    def credentials(self) -> dict[str, str]:
        return {
            "ramp_client_id": RAMP_ID,
            "ramp_client_secret": RAMP_SECRET,
            "visma_client_id": VISMA_ID,
            "visma_client_secret": VISMA_SECRET,
            "visma_tenant_id": self.tenant_id,
            "visma_company_id": self.company_id,
        }


@dataclass(frozen=True)
class QuotaWorld:
    tenants: list[Tenant]
    report_url: str

    def report(self, *, journal: bool) -> dict[str, Any]:
        url = f"{self.report_url}?journal={int(journal)}"
        data: dict[str, Any] = httpx.get(url, timeout=60).json()
        return data


@contextmanager
def quota_world(cfg: QuotaConfig, folder: Path) -> Iterator[QuotaWorld]:
    """Serve ``cfg.connections`` sandbox pairs from a child process; stop it afterwards."""
    ready = folder / "world.json"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    command = [sys.executable, "-m", "bench.quota", "--serve", json.dumps(dataclasses.asdict(cfg))]
    child = subprocess.Popen([*command, "--ready-file", str(ready)], env=env)
    try:
        deadline = time.monotonic() + 120
        while not ready.exists():
            if time.monotonic() > deadline or child.poll() is not None:
                raise RuntimeError("the quota sandboxes did not start")
            time.sleep(0.1)
        data = json.loads(ready.read_text())
        # The child bound port 0 itself; still, prove each URL is answered by the child.
        urls = [
            data["report_url"],
            *(t[k] for t in data["tenants"] for k in ("ramp_url", "visma_url")),
        ]
        ports = [int(url.split(":")[2].split("/")[0]) for url in urls]
        wait_listening(child.pid, ports, lambda: child.poll() is None, what="quota sandboxes")
        yield QuotaWorld([Tenant(**t) for t in data["tenants"]], data["report_url"])
    finally:
        child.send_signal(signal.SIGINT)
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()


async def _serve(cfg: QuotaConfig, ready_file: Path) -> None:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from ml_connector.sandbox.faults import FaultRule
    from ml_connector.sandbox.ramp import RampSandbox
    from ml_connector.sandbox.serve import start_server
    from ml_connector.sandbox.visma import VismaSandbox

    dataset = scaled_demo(cfg.bills)
    pairs: list[tuple[RampSandbox, VismaSandbox, Tenant]] = []
    servers = []
    for n in range(cfg.connections):
        tenant_id, company_id = f"bench-tenant-{n + 1}", str(7001 + n)
        ramp = RampSandbox(RAMP_ID, RAMP_SECRET, dataset=dataset)  # Ramp's own 200 per 10 s
        visma = VismaSandbox(VISMA_ID, VISMA_SECRET, tenant_id, company_id, dataset=dataset)
        visma.set_rate_limit(cfg.limit, window_s=cfg.window_s)
        visma.faults.add(FaultRule(kind="latency", latency_s=cfg.latency_s, count=None))
        ramp_server = await start_server(ramp.app)
        visma_server = await start_server(visma.app)
        servers += [ramp_server, visma_server]
        tenant = Tenant(ramp_server.url, visma_server.url, tenant_id, company_id)
        pairs.append((ramp, visma, tenant))

    async def report(request: Request) -> JSONResponse:
        journal = request.query_params.get("journal") == "1"
        companies = []
        for ramp, visma, tenant in pairs:
            windows = visma.limiter.windows((tenant.company_id, VISMA_ID))
            entry: dict[str, Any] = {
                "company_id": tenant.company_id,
                "windows": [[w.start, w.used, w.refused] for w in windows],
            }
            if journal:
                entry["visma"] = [
                    [e.at, e.method, e.path, e.status, e.query] for e in visma.journal.entries()
                ]
                entry["ramp_statuses"] = dict(Counter(e.status for e in ramp.journal.entries()))
            companies.append(entry)
        return JSONResponse({"now": time.time(), "companies": companies})

    report_server = await start_server(Starlette(routes=[Route("/report", report)]))
    servers.append(report_server)
    world = {
        "tenants": [dataclasses.asdict(t) for _, _, t in pairs],
        "report_url": f"{report_server.url}/report",
    }
    written = ready_file.with_suffix(".tmp")
    await asyncio.to_thread(written.write_text, json.dumps(world))
    os.replace(written, ready_file)  # the parent never reads half a file
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGINT, stop.set)
    await stop.wait()
    for server in servers:
        await server.stop()


# --- the connector, here ------------------------------------------------------------------------


def _complete(windows: list[list[float]], window_s: float, until: float) -> list[list[float]]:
    return [w for w in windows if w[0] + window_s <= until]


async def run(world: QuotaWorld, cfg: QuotaConfig, folder: Path) -> dict[str, Any]:
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{folder / 'quota.db'}",
        master_key=SecretStr(Fernet.generate_key().decode()),
        master_key_file=folder / "quota.key",
        log_level="WARNING",
    )
    configure_logging(settings)
    runtime = await Runtime.open(settings)
    try:
        connections = [
            await admin.add_connection(
                Actor.local_admin("tests"),
                runtime,
                f"quota-{n + 1}",
                credentials=tenant.credentials(),
                ramp_base_url=tenant.ramp_url,
                visma_base_url=tenant.visma_url,
                visma_token_url=f"{tenant.visma_url}/connect/token",
                settings={"mapping": {"default_vat": "1"}},
            )
            for n, tenant in enumerate(world.tenants)
        ]
        service = Service(
            runtime, concurrency=cfg.concurrency, run_chart=False, listen=False, poll_interval_s=0.2
        )
        stop = asyncio.Event()
        started = time.time()
        task = asyncio.create_task(service.run(stop))
        deadline = started + (cfg.windows + 3) * cfg.window_s + 120
        while time.time() < deadline and not task.done():
            await asyncio.sleep(min(1.0, cfg.window_s / 5))
            report = await asyncio.to_thread(world.report, journal=False)
            done = [
                len(_complete(c["windows"], cfg.window_s, report["now"]))
                for c in report["companies"]
            ]
            if min(done) >= cfg.windows:
                break
        stopped = time.time()
        stop.set()
        await asyncio.wait_for(task, timeout=cfg.window_s * 3 + 60)
        limiters = []
        vendors: list[int] = []
        synced: list[int] = []
        for connection in connections:
            ctx = await runtime.context(connection)
            limiter = ctx.visma.limiter
            limiters.append(
                {
                    "sent": limiter.sent,
                    "waits": limiter.waits,
                    "waited_s": round(limiter.waited_s, 1),
                    "throttled": limiter.throttled,
                }
            )
            vendors.append(len(await runtime.store.list_links(connection.id, LinkKind.VENDOR)))
            bills = await runtime.store.list_links(connection.id, LinkKind.BILL)
            synced.append(sum(1 for link in bills if link.visma_id))
    finally:
        await runtime.close()
    report = await asyncio.to_thread(world.report, journal=True)
    return summarise(cfg, report, stopped, started, limiters, vendors, synced)


def _endpoint(path: str) -> str:
    """The path without its query and with ids folded: ``/v1/supplier/{id}``."""
    parts = path.split("?")[0].split("/")
    return "/".join("{id}" if any(ch.isdigit() for ch in p) and p != "v1" else p for p in parts)


# The supplier calls that stand for "one lookup per vendor" in the minimum.
LOOKUP_KINDS = ("supplier_index_full", "supplier_index_delta", "supplier_lookup")


def _kind(method: str, path: str, query: str = "") -> str:
    lowered = path.lower()
    if method == "POST" and lowered.endswith(INVOICE_PATH):
        return "invoice_post"
    if method == "POST" and INVOICE_PATH in lowered and lowered.endswith("/attachment"):
        return "attachment_post"
    if INVOICE_PATH in lowered:
        return "invoice_other"
    if lowered.endswith(SUPPLIER_KEY_PATH):
        return "supplier_numbering"
    if SUPPLIER_PATH in lowered:
        if method == "POST":
            return "supplier_post"
        if lowered.rstrip("/").endswith(SUPPLIER_PATH):  # the list: the index reading it
            delta = "lastmodifieddatetime" in query.lower()
            return "supplier_index_delta" if delta else "supplier_index_full"
        return "supplier_lookup"
    if any(part in lowered for part in MASTER_PATHS):
        return "master_data"
    if lowered.endswith("/connect/token"):
        return "token"
    return "other"


def summarise(
    cfg: QuotaConfig,
    report: dict[str, Any],
    stopped: float,
    started: float,
    limiters: list[dict[str, Any]],
    vendors: list[int],
    synced: list[int],
) -> dict[str, Any]:
    """The benchmark's figures from the sandboxes' counters (see the module docstring)."""
    used = capacity = 0.0
    refused_total = refused_steady = 0
    calls = Counter[str]()
    steady_calls = steady_invoices = steady_files = 0
    minimum = 0
    endpoints = Counter[str]()
    lookups = vendors_total = 0
    companies = []
    for company, limiter, vendor_count, synced_count in zip(
        report["companies"], limiters, vendors, synced, strict=True
    ):
        windows = _complete(company["windows"], cfg.window_s, stopped)
        if not windows:
            raise RuntimeError(f"company {company['company_id']} completed no window")
        span = windows[-1][0] + cfg.window_s - windows[0][0]
        company_used = sum(w[1] for w in windows)
        used += company_used
        capacity += span / cfg.window_s * cfg.limit
        steady_from = windows[0][0] + cfg.window_s
        kinds = Counter[str]()
        for at, method, path, status, query in company["visma"]:
            kind = _kind(method, path, query)
            endpoints[f"{method} {_endpoint(path)}"] += 1
            if status == 429:
                refused_total += 1
                refused_steady += int(at >= steady_from)
                continue
            if kind == "token":
                continue  # outside the quota (Visma's token endpoint is another host)
            kinds[kind] += 1
            if steady_from <= at < stopped:
                steady_calls += 1
                steady_invoices += int(kind == "invoice_post" and 200 <= status < 300)
                steady_files += int(kind == "attachment_post" and 200 <= status < 300)
        calls.update(kinds)
        answered = [(m, p) for _, m, p, status, _ in company["visma"] if status != 429]
        # One master-data load: one call per master-data endpoint the flow reads.
        master_paths = {
            p.lower().split("?")[0] for m, p in answered if _kind(m, p) == "master_data"
        }
        # Each invoice's files are sent once: distinct attachment targets.
        attached = {p for m, p in answered if _kind(m, p) == "attachment_post"}
        company_min = synced_count + len(attached) + vendor_count + kinds["supplier_post"]
        company_min += len(master_paths)
        minimum += company_min
        lookups += sum(kinds[k] for k in LOOKUP_KINDS)
        vendors_total += vendor_count
        companies.append(
            {
                "company_id": company["company_id"],
                "minimum_calls": company_min,
                "windows": [{"used": w[1], "refused": w[2]} for w in windows],
                "quota_fraction": round(company_used / (span / cfg.window_s * cfg.limit), 4),
                "bills_synced": synced_count,
                "vendors": vendor_count,
                "visma_calls": dict(kinds),
                "limiter": limiter,
                "ramp_statuses": company["ramp_statuses"],
            }
        )
    total_calls = sum(calls.values())
    invoices = calls["invoice_post"]
    per_bill = total_calls / invoices if invoices else None
    minimum_per_bill = minimum / invoices if invoices else None
    return {
        "benchmark": "quota",
        "config": dataclasses.asdict(cfg),
        "scaling": f"{cfg.limit} calls per {cfg.window_s:g} s window = "
        f"{cfg.calls_per_hour:,.0f} calls/hour per company (window compressed, rate kept)",
        "run_s": round(stopped - started, 1),
        "quota_fraction": round(used / capacity, 4) if capacity else None,
        "calls_per_hour_per_company": round(used / capacity * cfg.calls_per_hour, 1)
        if capacity
        else None,
        "http_429_total": refused_total,
        "http_429_steady_state": refused_steady,
        "invoices_created": invoices,
        "visma_calls": dict(calls),
        "visma_endpoints": dict(endpoints.most_common()),
        "calls_used": int(used),
        "calls_capacity": capacity,
        "minimum_calls": minimum,
        "visma_calls_per_bill": round(per_bill, 3) if per_bill else None,
        "minimum_calls_per_bill": round(minimum_per_bill, 3) if minimum_per_bill else None,
        "calls_vs_minimum": round(total_calls / minimum, 3) if minimum else None,
        # The supplier index's reads, against the minimum of one lookup per vendor.
        "supplier_lookups_per_vendor": round(lookups / vendors_total, 3) if vendors_total else None,
        "supplier_index": {
            "full_reads": calls["supplier_index_full"],
            "delta_reads": calls["supplier_index_delta"],
            "numbering_reads": calls["supplier_numbering"],
            "other_lookups": calls["supplier_lookup"],
            "suppliers_created": calls["supplier_post"],
            "vendors_linked": vendors_total,
        },
        "steady_state_calls_per_bill": round(steady_calls / steady_invoices, 3)
        if steady_invoices
        else None,
        # The steady state's own minimum: the invoice POST and its file, nothing else.
        "steady_state_minimum_per_bill": round(1 + steady_files / steady_invoices, 3)
        if steady_invoices
        else None,
        "targets": {
            "quota_fraction>=0.95": bool(capacity and used / capacity >= 0.95),
            "no_429_in_steady_state": refused_steady == 0,
            "calls<=1.05x_minimum": bool(minimum and total_calls <= 1.05 * minimum),
        },
        "companies": companies,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        **machine(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--small", action="store_true", help="the smoke size")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--ready-file", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help="where to write the JSON result")
    args = parser.parse_args()
    if args.serve:
        asyncio.run(_serve(QuotaConfig(**json.loads(args.serve)), Path(args.ready_file)))
        return
    cfg = SMALL if args.small else FULL
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        with quota_world(cfg, folder) as world:
            result = asyncio.run(run(world, cfg, folder))
    out = args.out or RESULTS / ("quota_small.json" if args.small else "quota.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"quota: {result['quota_fraction']:.3f} of quota "
        f"({result['calls_per_hour_per_company']:,.0f} of {cfg.calls_per_hour:,.0f} calls/hour "
        f"per company, {cfg.connections} companies), "
        f"429s {result['http_429_total']} (steady state {result['http_429_steady_state']}), "
        f"{result['visma_calls_per_bill']} Visma calls/bill vs minimum "
        f"{result['minimum_calls_per_bill']} (x{result['calls_vs_minimum']}), "
        f"steady state {result['steady_state_calls_per_bill']} calls/bill "
        f"(minimum {result['steady_state_minimum_per_bill']}), "
        f"{result['supplier_lookups_per_vendor']} supplier index reads/vendor"
    )


if __name__ == "__main__":
    main()
