"""Cloud Run Admin API v2 (Services, Revisions) and the Locations mixin, from the fleet's specs.

Shapes follow the v2 fixtures: full resource names, template scaling, containers with
``resources.limits`` {"cpu", "memory"}, ``cpu_idle``, ``startup_cpu_boost``, traffic and
traffic_statuses (type REVISION), latest ready/created revisions, conditions, uri.
A revision whose concurrency is 0 in its spec is written with
``max_instance_request_concurrency`` unset; so is a default one (80 with cpu >= 1) on every
other service (by name), so clients meet both shapes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime
from typing import Any

from google.cloud import run_v2
from google.cloud.location import locations_pb2
from google.protobuf.message import Message

from emulator.api.errors import invalid, not_found
from emulator.api.faults import _error_for
from emulator.api.paging import page_of
from emulator.sim.model import FleetData, RevisionSpec, ServiceSpec, TrafficChange

SERVICES = "google.cloud.run.v2.Services"
REVISIONS = "google.cloud.run.v2.Revisions"
LOCATIONS = "google.cloud.location.Locations"
_SERVICE = run_v2.Service.pb()
_REVISION = run_v2.Revision.pb()
_COND = run_v2.Condition.pb()


def cpu_text(cpu: float) -> str:
    return f"{cpu:g}"


def memory_text(gib: float) -> str:
    if float(gib).is_integer():
        return f"{int(gib)}Gi"
    return f"{round(gib * 1024)}Mi"


def _uid(*parts: object) -> str:
    h = hashlib.sha1(repr(parts).encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def _traffic_now(svc: ServiceSpec, end: datetime) -> TrafficChange:
    current = svc.traffic[0]
    for t in svc.traffic:
        if t.at <= end:
            current = t
    return current


class AdminService:
    """Answers per project: a project sees its own services only; ListLocations gives every
    region of the fleet (all Cloud Run regions) to each project, as Cloud Run lists the regions
    it offers, not those in use."""

    def __init__(self, fleet: FleetData) -> None:
        spec = fleet.spec
        self.project = spec.project
        self.number = spec.project_number
        self.end = spec.end
        self.regions = sorted({s.region for s in spec.services})
        self.numbers = {p: spec.number_of(p) for p in spec.projects}
        self._ids = {p: p for p in spec.projects}  # id or number (as text) -> id
        self._ids.update({str(n): p for p, n in self.numbers.items()})
        self.services: dict[tuple[str, str, str], ServiceSpec] = {
            (spec.project_of(s), s.region, s.name): s for s in spec.services
        }
        names = sorted((k[1], k[2]) for k in self.services)
        self._unset_default = {k for j, k in enumerate(names) if j % 2 == 0}
        self._project_of = {(k[1], k[2]): k[0] for k in self.services}

    def handlers(self) -> dict[str, dict[str, tuple[Callable[[Any], bytes | Message], Any]]]:
        return {
            SERVICES: {
                "ListServices": (self.list_services, run_v2.ListServicesRequest.pb()),
                "GetService": (self.get_service, run_v2.GetServiceRequest.pb()),
            },
            REVISIONS: {
                "ListRevisions": (self.list_revisions, run_v2.ListRevisionsRequest.pb()),
                "GetRevision": (self.get_revision, run_v2.GetRevisionRequest.pb()),
            },
            LOCATIONS: {"ListLocations": (self.list_locations, locations_pb2.ListLocationsRequest)},
        }

    # -- names ----------------------------------------------------------------------------
    def _project(self, pid: str, method: str) -> str:
        """The project id of ``pid`` (an id or a number); PERMISSION_DENIED for others."""
        found = self._ids.get(pid)
        if found is None:
            raise _error_for(method, "PERMISSION_DENIED")
        return found

    def _location(self, parent: str, method: str) -> tuple[str, str]:
        parts = parent.split("/")
        if len(parts) != 4 or parts[0] != "projects" or parts[2] != "locations" or not parts[3]:
            raise invalid(
                f"Invalid parent: {parent!r}; expected projects/PROJECT/locations/REGION."
            )
        project = self._project(parts[1], method)
        if parts[3] == "-":
            raise invalid(
                "The location '-' is not supported for this method; name a region "
                "(projects/PROJECT/locations/REGION)."
            )
        return project, parts[3]

    def _service_of(self, name: str, method: str) -> tuple[str, str, str]:
        parts = name.split("/")
        if (
            len(parts) != 6
            or parts[0] != "projects"
            or parts[2] != "locations"
            or (parts[4] != "services")
        ):
            raise invalid(f"Invalid resource name: {name!r}.")
        return self._project(parts[1], method), parts[3], parts[5]

    def _svc(self, project: str, region: str, name: str) -> ServiceSpec:
        svc = self.services.get((project, region, name))
        if svc is None:
            raise not_found(
                f"Resource '{name}' of kind 'SERVICE' in region '{region}' in project "
                f"'{project}' does not exist."
            )
        return svc

    def _pid(self, svc: ServiceSpec) -> str:
        return self._project_of[(svc.region, svc.name)]

    def _svc_name(self, svc: ServiceSpec) -> str:
        return f"projects/{self._pid(svc)}/locations/{svc.region}/services/{svc.name}"

    # -- builders -------------------------------------------------------------------------
    def _concurrency(self, svc: ServiceSpec, rev: RevisionSpec) -> int:
        if rev.concurrency == 80 and rev.cpu >= 1 and (svc.region, svc.name) in self._unset_default:
            return 0
        return rev.concurrency

    def _fill_template(self, t: Any, svc: ServiceSpec, rev: RevisionSpec) -> None:
        t.scaling.min_instance_count = rev.min_instances
        t.scaling.max_instance_count = rev.max_instances
        t.timeout.seconds = rev.timeout_s
        t.service_account = f"{self.numbers[self._pid(svc)]}-compute@developer.gserviceaccount.com"
        t.max_instance_request_concurrency = self._concurrency(svc, rev)
        t.execution_environment = run_v2.ExecutionEnvironment.EXECUTION_ENVIRONMENT_GEN2
        c = t.containers.add()
        c.name = rev.container_name
        c.image = rev.image
        port = c.ports.add()
        port.name = "http1"
        port.container_port = rev.port
        c.resources.limits["cpu"] = cpu_text(rev.cpu)
        c.resources.limits["memory"] = memory_text(rev.memory_gib)
        c.resources.cpu_idle = rev.cpu_idle
        c.resources.startup_cpu_boost = rev.startup_cpu_boost
        c.startup_probe.timeout_seconds = 240
        c.startup_probe.period_seconds = 240
        c.startup_probe.failure_threshold = 1
        c.startup_probe.tcp_socket.port = rev.port

    def _condition(self, cond_list: Any, kind: str, at: datetime) -> None:
        c = cond_list.add()
        c.type_ = kind
        c.state = run_v2.Condition.State.CONDITION_SUCCEEDED
        c.last_transition_time.FromDatetime(at)

    def service(self, svc: ServiceSpec) -> Any:
        revs = sorted(svc.revisions, key=lambda r: r.create_time)
        latest = revs[-1]
        name = self._svc_name(svc)
        s = _SERVICE()
        s.name = name
        s.uid = _uid(name)
        s.generation = len(revs)
        s.observed_generation = len(revs)
        s.labels.update(dict(svc.labels))
        s.create_time.FromDatetime(revs[0].create_time)
        s.update_time.FromDatetime(latest.create_time)
        s.creator = "deployer@runwatch-demo.example"
        s.last_modifier = "deployer@runwatch-demo.example"
        s.client = "gcloud"
        s.client_version = "520.0.0"
        s.ingress = run_v2.IngressTraffic.INGRESS_TRAFFIC_ALL
        s.launch_stage = 4  # GA (google.api.LaunchStage)
        self._fill_template(s.template, svc, latest)
        s.scaling.scaling_mode = run_v2.ServiceScaling.ScalingMode.AUTOMATIC
        number = self.numbers[self._pid(svc)]
        traffic = _traffic_now(svc, self.end)
        for rev_name, pct in sorted(traffic.percents.items()):
            for target in (s.traffic.add(), s.traffic_statuses.add()):
                target.type_ = (
                    run_v2.TrafficTargetAllocationType.TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION
                )
                target.revision = rev_name
                target.percent = pct
                tag = traffic.tags.get(rev_name, "")
                if tag:
                    target.tag = tag
                    if hasattr(target, "uri"):
                        target.uri = f"https://{tag}---{svc.name}-{number}.{svc.region}.run.app"
        s.latest_ready_revision = f"{name}/revisions/{latest.name}"
        s.latest_created_revision = f"{name}/revisions/{latest.name}"
        s.uri = f"https://{svc.name}-{number}.{svc.region}.run.app"
        s.urls.append(s.uri)
        s.terminal_condition.type_ = "Ready"
        s.terminal_condition.state = run_v2.Condition.State.CONDITION_SUCCEEDED
        s.terminal_condition.last_transition_time.FromDatetime(latest.create_time)
        self._condition(s.conditions, "RoutesReady", latest.create_time)
        self._condition(s.conditions, "ConfigurationsReady", latest.create_time)
        s.etag = f'"{_uid(name, len(revs))[:16]}"'
        return s

    def revision(self, svc: ServiceSpec, rev: RevisionSpec) -> Any:
        name = f"{self._svc_name(svc)}/revisions/{rev.name}"
        r = _REVISION()
        r.name = name
        r.uid = _uid(name)
        r.generation = 1
        r.observed_generation = 1
        r.create_time.FromDatetime(rev.create_time)
        r.update_time.FromDatetime(rev.create_time)
        r.launch_stage = 4
        r.service = self._svc_name(svc)
        r.labels["serving.knative.dev/service"] = svc.name
        r.labels["serving.knative.dev/configuration"] = svc.name
        r.scaling.min_instance_count = rev.min_instances
        r.scaling.max_instance_count = rev.max_instances
        r.max_instance_request_concurrency = self._concurrency(svc, rev)
        r.timeout.seconds = rev.timeout_s
        r.service_account = f"{self.numbers[self._pid(svc)]}-compute@developer.gserviceaccount.com"
        r.execution_environment = run_v2.ExecutionEnvironment.EXECUTION_ENVIRONMENT_GEN2
        tmp = run_v2.RevisionTemplate.pb()()
        self._fill_template(tmp, svc, rev)
        r.containers.extend(tmp.containers)
        r.scaling_status.desired_min_instance_count = rev.min_instances
        for kind in ("Ready", "ContainerHealthy", "ResourcesAvailable"):
            self._condition(r.conditions, kind, rev.create_time)
        r.log_uri = (
            f"https://console.cloud.google.com/logs/viewer?project={self._pid(svc)}"
            f"&resource=cloud_run_revision/service_name/{svc.name}/revision_name/{rev.name}"
        )
        r.etag = f'"{_uid(name)[:16]}"'
        return r

    # -- RPCs -------------------------------------------------------------------------------
    def list_services(self, req: Any) -> Any:
        project, region = self._location(req.parent, "ListServices")
        svcs = [self.services[k] for k in sorted(self.services) if k[:2] == (project, region)]
        items, token = page_of(svcs, req, ("svc", req.parent))
        resp = run_v2.ListServicesResponse.pb()()
        resp.services.extend(self.service(s) for s in items)
        resp.next_page_token = token
        return resp

    def get_service(self, req: Any) -> Any:
        return self.service(self._svc(*self._service_of(req.name, "GetService")))

    def list_revisions(self, req: Any) -> Any:
        project, region, name = self._service_of(req.parent, "ListRevisions")
        if region == "-":
            raise invalid("The location '-' is not supported for this method; name a region.")
        if name == "-":
            svcs = [self.services[k] for k in sorted(self.services) if k[:2] == (project, region)]
        else:
            svcs = [self._svc(project, region, name)]
        pairs = [
            (s, r)
            for s in svcs
            for r in sorted(s.revisions, key=lambda r: r.create_time, reverse=True)
        ]
        items, token = page_of(pairs, req, ("rev", req.parent))
        resp = run_v2.ListRevisionsResponse.pb()()
        resp.revisions.extend(self.revision(s, r) for s, r in items)
        resp.next_page_token = token
        return resp

    def get_revision(self, req: Any) -> Any:
        parts = req.name.split("/")
        if len(parts) != 8 or parts[6] != "revisions":
            raise invalid(f"Invalid resource name: {req.name!r}.")
        project, region, svc_name = self._service_of("/".join(parts[:6]), "GetRevision")
        svc = self.services.get((project, region, svc_name))
        rev = next((r for r in svc.revisions if r.name == parts[7]), None) if svc else None
        if svc is None or rev is None:
            raise not_found(
                f"Resource '{parts[7]}' of kind 'REVISION' in region '{region}' in project "
                f"'{project}' does not exist."
            )
        return self.revision(svc, rev)

    def list_locations(self, req: Any) -> Any:
        parts = req.name.split("/")
        if len(parts) != 2 or parts[0] != "projects":
            raise invalid(f"Invalid resource name: {req.name!r}; expected projects/PROJECT.")
        project = self._project(parts[1], "ListLocations")
        resp = locations_pb2.ListLocationsResponse()
        for region in self.regions:
            loc = resp.locations.add()
            loc.name = f"projects/{project}/locations/{region}"
            loc.location_id = region
            loc.display_name = region
        return resp
