"""One loopback gRPC server answering Google's Monitoring, Logging, Run v2 and Locations APIs
from a ``FleetData``.

No generated ``*_pb2_grpc`` stubs are needed: each RPC is a generic unary handler keyed by its
full method name, deserialising with the raw protobuf class of the GAPIC type. Servicers raise
``RpcError`` to answer with a status; every call is counted and passes the fault switchboard
first.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter, deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

import grpc
from google.protobuf.message import Message
from google.rpc import status_pb2
from grpc_status import rpc_status

from emulator.api.errors import RpcError
from emulator.api.faults import Faults
from emulator.api.paging import page_number
from emulator.sim.model import FleetData

log = logging.getLogger(__name__)

Handler = Callable[[Any], "bytes | Message"]
BIG_FLEET_FROM = 20  # services from which a fleet is simulated in child processes
BIG_FLEET_PROCESSES = 2  # the machine's cores


class CallCounter:
    """Thread-safe count of RPCs per full method name ("google.monitoring.v3.MetricService/..."),
    the short names of the latest SEQUENCE_KEPT in the order they came (tests ask which calls a
    page made before which), and the latest REQUESTS_KEPT requests as they arrived (tests read
    what went over the wire, e.g. a log filter)."""

    SEQUENCE_KEPT = 10_000
    REQUESTS_KEPT = 200

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self._sequence: deque[str] = deque(maxlen=self.SEQUENCE_KEPT)
        self._requests: deque[tuple[str, Any]] = deque(maxlen=self.REQUESTS_KEPT)

    def add(self, method: str, request: Any = None) -> None:
        short = method.rsplit("/", 1)[-1]
        with self._lock:
            self._counts[method] += 1
            self._sequence.append(short)
            if request is not None:
                self._requests.append((short, request))

    def requests(self, short: str) -> list[Any]:
        """The latest requests of one method (short name), as the server decoded them."""
        with self._lock:
            return [r for name, r in self._requests if name == short]

    def sequence(self) -> list[str]:
        """Short method names ("ListServices") in arrival order since the last reset."""
        with self._lock:
            return list(self._sequence)

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def get(self, method: str) -> int:
        """Calls of one method; a short name ("ListTimeSeries") sums every service with it."""
        with self._lock:
            if "/" in method:
                return self._counts.get(method, 0)
            return sum(n for m, n in self._counts.items() if m.endswith("/" + method))

    def total(self) -> int:
        with self._lock:
            return sum(self._counts.values())

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()
            self._sequence.clear()
            self._requests.clear()


def _serialize(msg: bytes | Message) -> bytes:
    return msg if isinstance(msg, bytes) else msg.SerializeToString()


def _abort(context: grpc.ServicerContext, err: RpcError) -> None:
    status = status_pb2.Status(
        code=err.code.value[0], message=err.message, details=err.packed_details()
    )
    context.abort_with_status(rpc_status.to_status(status))


class Emulator:
    """A running emulator. ``address`` is "host:port"; stop it with ``stop()`` or ``with``."""

    def __init__(
        self, fleet: FleetData, faults: Faults, *, host: str, port: int, scoping_project: str = ""
    ) -> None:
        from emulator.api.admin import AdminService
        from emulator.api.billing import CatalogService
        from emulator.api.logservice import LoggingService
        from emulator.api.timeseries import MetricService

        self.fleet = fleet
        self.faults = faults
        self.calls = CallCounter()
        self.metrics = MetricService(fleet, faults, scoping_project)
        self.logging = LoggingService(fleet, faults)
        self.admin = AdminService(fleet)
        self.catalog = CatalogService()
        self._server = grpc.server(
            ThreadPoolExecutor(max_workers=8, thread_name_prefix="emulator"),
            options=[
                ("grpc.max_send_message_length", 64 * 1024 * 1024),
                ("grpc.max_receive_message_length", 16 * 1024 * 1024),
            ],
        )
        services: dict[str, dict[str, tuple[Handler, Any]]] = {}
        for svc in (self.metrics, self.logging, self.admin, self.catalog):
            for full, table in svc.handlers().items():
                services.setdefault(full, {}).update(table)
        for service_name, methods in services.items():
            rpc_handlers = {
                name: grpc.unary_unary_rpc_method_handler(
                    self._wrap(f"{service_name}/{name}", name, fn),
                    request_deserializer=req_cls.FromString,
                    response_serializer=_serialize,
                )
                for name, (fn, req_cls) in methods.items()
            }
            self._server.add_generic_rpc_handlers(
                (grpc.method_handlers_generic_handler(service_name, rpc_handlers),)
            )
        bound = self._server.add_insecure_port(f"{host}:{port}")
        if bound == 0:
            raise OSError(f"cannot listen on {host}:{port}")
        self.host = host
        self.port = bound
        self.address = f"{host}:{bound}"
        self._server.start()

    def _wrap(
        self, full_name: str, short: str, fn: Handler
    ) -> Callable[[Any, grpc.ServicerContext], bytes | Message | None]:
        def handle(request: Any, context: grpc.ServicerContext) -> bytes | Message | None:
            self.calls.add(full_name, request)
            try:
                self.faults.before_call(short, page_number(getattr(request, "page_token", "")))
                return fn(request)
            except RpcError as err:
                _abort(context, err)
            except Exception:
                log.exception("emulator: %s failed", full_name)
                _abort(context, RpcError(grpc.StatusCode.INTERNAL, "Internal error."))
            return None  # not reached: abort raises

        return handle

    def stop(self, grace: float = 1.0) -> None:
        self._server.stop(grace).wait(grace + 5.0)

    def wait(self) -> None:
        self._server.wait_for_termination()

    def __enter__(self) -> Emulator:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def default_fleet(
    now: datetime,
    days: int,
    seed: int,
    project: str,
    services: int | None = None,
    projects: Sequence[str] | None = None,
) -> FleetData:
    """The fleet of emulator.sim.fleetgen (the demo fleet by default), simulated by
    emulator.sim.fleet."""
    from emulator.sim.fleet import SIM_THREADS, simulate
    from emulator.sim.fleetgen import build_fleet

    spec = build_fleet(now, days, seed, project, services=services, projects=projects)
    if len(spec.services) <= BIG_FLEET_FROM:
        return simulate(spec, workers=SIM_THREADS)
    return simulate(spec, processes=BIG_FLEET_PROCESSES)


def start(
    fleet: FleetData | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    now: datetime | None = None,
    days: int = 7,
    seed: int = 42,
    project: str = "runwatch-demo",
    faults: Faults | None = None,
    services: int | None = None,
    projects: Sequence[str] | None = None,
    scoping_project: str = "",
) -> Emulator:
    """Serve ``fleet`` (default: the fleet ending at ``now`` that emulator.sim.fleetgen builds for
    ``services`` and ``projects``; without them the demo fleet) on host:port (0 = any free).
    ``scoping_project``: ListTimeSeries on it reads every project's series (a metrics scope)."""
    if fleet is None:
        if now is None:
            now = datetime.now(UTC)
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        if not 1 <= days <= 30:
            raise ValueError(f"days must be between 1 and 30, got {days}")
        fleet = default_fleet(now, days, seed, project, services=services, projects=projects)
    return Emulator(
        fleet,
        faults if faults is not None else Faults(),
        host=host,
        port=port,
        scoping_project=scoping_project,
    )
