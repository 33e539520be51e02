"""google.logging.v2.LoggingServiceV2/ListLogEntries over the fleet's log entries.

Validates like Cloud Logging (resource names, filter, order_by ``timestamp asc|desc``, page_size
at most 1000, default 50), charges the per-project read quota when the fault switch turns it
on, and applies the log faults: an empty first page with a token, duplicated entries, entries
out of order.
"""

from __future__ import annotations

import bisect
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

from google.cloud.logging_v2.types import ListLogEntriesRequest
from google.protobuf.message import Message

from emulator.api.errors import invalid
from emulator.api.faults import Faults, _error_for
from emulator.api.logentries import Entry, build_entries
from emulator.api.logging_filter import parse
from emulator.api.paging import make_token, query_key, read_token
from emulator.api.wire import length_delimited
from emulator.sim.model import FleetData

SERVICE = "google.logging.v2.LoggingServiceV2"
DEFAULT_PAGE = 50
MAX_PAGE = 1000
_REQ = ListLogEntriesRequest.pb()


class LoggingService:
    def __init__(self, fleet: FleetData, faults: Faults) -> None:
        spec = fleet.spec
        self.project = spec.project
        self.project_number = str(spec.project_number)
        self.projects = {p: p for p in spec.projects}  # id or number (as text) -> id
        self.projects.update({str(spec.number_of(p)): p for p in spec.projects})
        self.faults = faults
        self.entries: list[Entry] = build_entries(fleet)
        self._times = [e.record.timestamp for e in self.entries]
        # positions (in time order) of each service's entries: a filter naming its services
        # scans only theirs, as Cloud Logging searches an index rather than the whole bucket
        self._by_service: dict[str, list[int]] = {}
        for i, e in enumerate(self.entries):
            name = e.record.resource_labels.get("service_name", "")
            self._by_service.setdefault(name, []).append(i)
        self._cache: OrderedDict[str, list[int]] = OrderedDict()
        self._lock = threading.Lock()

    def handlers(self) -> dict[str, dict[str, tuple[Callable[[Any], bytes | Message], Any]]]:
        return {SERVICE: {"ListLogEntries": (self.list_log_entries, _REQ)}}

    def _matching(self, key: str, flt_text: str, desc: bool, projects: frozenset[str]) -> list[int]:
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return hit
        flt = parse(flt_text)
        lo = 0 if flt.after is None else bisect.bisect_left(self._times, flt.after)
        hi = (
            len(self.entries)
            if flt.before is None
            else bisect.bisect_right(self._times, flt.before)
        )
        entries = self.entries
        idx = [
            i
            for i in self._candidates(flt.services, lo, hi)
            if entries[i].project in projects and flt.matches(entries[i].record)
        ]
        if desc:
            idx.reverse()
        with self._lock:
            self._cache[key] = idx
            while len(self._cache) > 32:
                self._cache.popitem(last=False)
        return idx

    def _candidates(self, services: frozenset[str] | None, lo: int, hi: int) -> Iterable[int]:
        """Positions in [lo, hi) that may match: every one, or (a filter naming its services)
        those of the named services, in time order."""
        if services is None:
            return range(lo, hi)
        found: list[int] = []
        for name in services:
            at = self._by_service.get(name, [])
            found.extend(at[bisect.bisect_left(at, lo) : bisect.bisect_left(at, hi)])
        return sorted(found)

    def list_log_entries(self, req: Any) -> bytes:
        if not req.resource_names:
            raise invalid("Field resource_names is required: name at least one projects/ID.")
        projects = []
        for name in req.resource_names:
            kind, _, ident = name.partition("/")
            if kind not in ("projects", "organizations", "folders", "billingAccounts") or not (
                ident
            ):
                raise invalid(f'Invalid resource name "{name}".')
            pid = self.projects.get(ident.split("/")[0]) if kind == "projects" else None
            if pid is None:
                raise _error_for("ListLogEntries", "PERMISSION_DENIED")
            projects.append(pid)
        order = " ".join(req.order_by.lower().split()) or "timestamp asc"
        if order not in ("timestamp asc", "timestamp desc", "timestamp"):
            raise invalid(
                f'Invalid order_by "{req.order_by}": only "timestamp asc" and '
                f'"timestamp desc" are supported.'
            )
        if req.page_size < 0 or req.page_size > MAX_PAGE:
            raise invalid(f"page_size must be between 0 and {MAX_PAGE}; got {req.page_size}.")
        size = req.page_size or DEFAULT_PAGE
        key = query_key(tuple(req.resource_names), req.filter, order)
        page, offset = read_token(req.page_token, key)
        parse(req.filter)  # validate before charging the quota
        self.faults.charge_logging_read(projects[0])
        cfg = self.faults.snapshot()
        chunks: list[bytes] = []
        if cfg.empty_log_page and page == 1:
            chunks.append(length_delimited(2, make_token(2, 0, key).encode()))
            return b"".join(chunks)
        idx = self._matching(key, req.filter, order == "timestamp desc", frozenset(projects))
        window = idx[offset : offset + size]
        blobs = [self.entries[i].pb for i in window]
        if cfg.dup_logs or cfg.shuffle_logs:
            rng = self.faults.rng(int(key[:6], 16) + page)
            out: list[bytes] = []
            for b in blobs:
                out.append(b)
                if cfg.dup_logs and rng.random() < cfg.dup_logs:
                    out.append(b)
            for j in range(len(out) - 1):
                if cfg.shuffle_logs and rng.random() < cfg.shuffle_logs:
                    out[j], out[j + 1] = out[j + 1], out[j]
            blobs = out
        chunks.extend(length_delimited(1, b) for b in blobs)
        if offset + size < len(idx):
            chunks.append(length_delimited(2, make_token(page + 1, offset + size, key).encode()))
        return b"".join(chunks)
