"""Cloud Run configuration from the Admin API v2 -> SERVICES, REVISIONS and TRAFFIC.

Per project: the regions come from the scope or ``settings.regions`` when given, else from
``google.cloud.location.Locations/ListLocations`` (one call); then, in parallel per region,
``ListServices`` and — only where the region has services — ``ListRevisions`` with
``services/-`` (all services of the region in one call). The call chain is three RPCs long
whatever the number of regions. A few named services (a service's own pages) are read one by
one instead: GetService and the service's own ListRevisions per region, so what a service's
page reads does not grow with the rest of the fleet. A region that fails is left out and the
result is ``partial`` naming it; if only ListRevisions fails, the revisions are filled from the
services' templates (the configuration of each latest revision) and the result says so.
Parsing is in collectors.runconfig.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from google.cloud import run_v2
from google.cloud.location import locations_pb2

from collectors import errors, rpc, runconfig, schema
from collectors.schema import Quality, Result
from foundation import names

if TYPE_CHECKING:
    from collectors.clients import Clients

MAX_WORKERS = 16


@dataclass(frozen=True)
class Config:
    """The three configuration frames, each with its data quality."""

    services: Result
    revisions: Result
    traffic: Result

    def frames(self) -> dict[str, Result]:
        return {"services": self.services, "revisions": self.revisions, "traffic": self.traffic}


@dataclass
class _RegionOut:
    services: list[dict[str, Any]] = field(default_factory=list)
    revisions: list[dict[str, Any]] = field(default_factory=list)
    traffic: list[dict[str, Any]] = field(default_factory=list)
    service_notes: list[str] = field(default_factory=list)  # affects all three frames
    revision_notes: list[str] = field(default_factory=list)  # affects REVISIONS only


def _raw(msg: Any) -> Any:
    """The raw protobuf of a proto-plus message (or the message itself)."""
    pb = getattr(type(msg), "pb", None)
    return pb(msg) if callable(pb) else msg


def list_regions(clients: Clients, project: str) -> tuple[list[str], str]:
    """Regions Cloud Run offers the project (ListLocations); ('', reason) on failure."""
    request = locations_pb2.ListLocationsRequest(name=f"projects/{names.project(project)}")
    paged = clients.pages(
        rpc.LIST_LOCATIONS, clients.list_locations, request, what=f"regions of {project}"
    )
    regions: list[str] = []
    for page in paged.pages:
        for loc in page.locations:
            region = loc.location_id or runconfig.short_name(loc.name)
            try:
                regions.append(names.region(region))
            except names.InvalidName:
                continue  # not a region name we could ever put in a filter
    reason = paged.error.message if paged.error is not None else ""
    return sorted(set(regions)), reason


# Up to this many named services are read one by one (GetService, and ListRevisions of the
# service); more are read with the region's listings.
NAMED_SERVICES = 8


def _named(clients: Clients, project: str, region: str, services: frozenset[str]) -> _RegionOut:
    """The named services of one region, each with GetService and its own ListRevisions: the
    calls and the data do not grow with the number of other services in the region."""
    out = _RegionOut()
    parent = f"projects/{project}/locations/{region}"
    for name in sorted(services):
        try:
            svc = _raw(
                clients.call(
                    rpc.GET_SERVICE,
                    clients.services.get_service,
                    run_v2.GetServiceRequest(name=f"{parent}/services/{name}"),
                    what=f"service {name} in {project}/{region}",
                )
            )
        except errors.RunwatchError as exc:
            if isinstance(exc, errors.CallFailed) and exc.code == "NOT_FOUND":
                continue  # not in this region
            out.service_notes.append(f"{region}: {exc.message} (service left out)")
            continue
        out.services.append(runconfig.service_row(svc))
        out.traffic.extend(runconfig.traffic_rows(svc))
        revs = clients.pages(
            rpc.LIST_REVISIONS,
            clients.revisions.list_revisions,
            run_v2.ListRevisionsRequest(parent=f"{parent}/services/{name}"),
            what=f"revisions of {name} in {project}/{region}",
        )
        for page in revs.pages:
            for rev in page.revisions:
                out.revisions.append(runconfig.revision_row(_raw(rev), out.revision_notes))
        if revs.error is not None:
            _from_templates(out, [svc], region, revs.error.message)
    return out


def _from_templates(out: _RegionOut, svcs: list[Any], region: str, error: str) -> None:
    """ListRevisions failed: describe each service's latest revision from its template (the
    revisions not read), and say so."""
    seen = {r["revision"] for r in out.revisions}
    filled = 0
    for svc in svcs:
        row = runconfig.template_revision_row(svc, out.revision_notes)
        if row["revision"] and row["revision"] not in seen:
            out.revisions.append(row)
            filled += 1
    out.revision_notes.append(
        f"{region}: {error}; {filled} latest revision(s) described from their service "
        "templates, older revisions missing"
    )


def _region(
    clients: Clients,
    project: str,
    region: str,
    services: frozenset[str],
    with_revisions: bool = True,
) -> _RegionOut:
    if services and len(services) <= NAMED_SERVICES and with_revisions:
        return _named(clients, project, region, services)
    out = _RegionOut()
    parent = f"projects/{project}/locations/{region}"
    listed = clients.pages(
        rpc.LIST_SERVICES,
        clients.services.list_services,
        run_v2.ListServicesRequest(parent=parent),
        what=f"services in {project}/{region}",
    )
    if listed.error is not None:
        note = f"{region}: {listed.error.message}"
        out.service_notes.append(
            note + (" (kept the pages read before)" if listed.pages else " (region left out)")
        )
    svcs = [
        _raw(s)
        for page in listed.pages
        for s in page.services
        if not services or runconfig.short_name(s.name) in services
    ]
    for svc in svcs:
        out.services.append(runconfig.service_row(svc))
        out.traffic.extend(runconfig.traffic_rows(svc))
    if not svcs or not with_revisions:
        return out
    revs = clients.pages(
        rpc.LIST_REVISIONS,
        clients.revisions.list_revisions,
        run_v2.ListRevisionsRequest(parent=f"{parent}/services/-"),
        what=f"revisions in {project}/{region}",
    )
    wanted = {runconfig.short_name(s.name) for s in svcs}
    for page in revs.pages:
        for rev in page.revisions:
            raw = _raw(rev)
            if runconfig.short_name(raw.service) in wanted:
                out.revisions.append(runconfig.revision_row(raw, out.revision_notes))
    if revs.error is not None:
        _from_templates(out, svcs, region, revs.error.message)
    return out


def fetch_config(
    clients: Clients,
    projects: Sequence[str],
    *,
    regions: Iterable[str] = (),
    services: Iterable[str] = (),
    with_revisions: bool = True,
) -> Config:
    """SERVICES, REVISIONS and TRAFFIC for the projects, regions and services in scope.

    Empty ``regions`` means every region (ListLocations); empty ``services`` every service.
    ``with_revisions`` False reads the services only (no ListRevisions; REVISIONS empty): a
    listing of the fleet's services, as the dashboard's sidebar needs.
    Names are validated (foundation.names.InvalidName on bad input).
    """
    wanted_regions = sorted({names.region(r) for r in regions})
    wanted_services = frozenset(names.service(s) for s in services)
    projects = list(dict.fromkeys(names.project(p) for p in projects))
    notes: list[str] = []
    jobs: list[tuple[str, str]] = []
    for project in projects:
        if wanted_regions:
            jobs.extend((project, r) for r in wanted_regions)
            continue
        found, reason = list_regions(clients, project)
        if reason:
            notes.append(f"{project}: could not list regions: {reason}")
        jobs.extend((project, r) for r in found)

    def one(job: tuple[str, str]) -> _RegionOut:
        return _region(clients, job[0], job[1], wanted_services, with_revisions)

    if len(jobs) <= 1:
        outs = [one(j) for j in jobs]
    else:
        with ThreadPoolExecutor(max_workers=min(MAX_WORKERS, len(jobs))) as pool:
            outs = list(pool.map(one, jobs))
    common = notes + [n for o in outs for n in o.service_notes]
    rev_notes = common + [n for o in outs for n in o.revision_notes]
    base = Quality("partial", tuple(common)) if common else Quality()
    rev_q = Quality("partial", tuple(rev_notes)) if rev_notes else Quality()
    return Config(
        services=Result(
            runconfig.frame([r for o in outs for r in o.services], schema.SERVICES), base
        ),
        revisions=Result(
            runconfig.frame([r for o in outs for r in o.revisions], schema.REVISIONS), rev_q
        ),
        traffic=Result(runconfig.frame([r for o in outs for r in o.traffic], schema.TRAFFIC), base),
    )
