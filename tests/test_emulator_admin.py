"""The emulator's Cloud Run Admin API (v2 services and revisions) and Locations, through the real
clients, against the fleet and against a real recorded listing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import _emulator_fixtures as fixtures
import grpc
import pytest
from _emulator_helpers import (
    PROJECT,
    revisions_client,
    services_client,
)
from google.api_core import exceptions
from google.cloud import run_v2
from google.cloud.location import locations_pb2
from google.protobuf import json_format

from emulator.sim.model import FleetData

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT.parent / "shared" / "fixtures" / "real"

# the module-scoped fixtures every test here shares
fleet, emu, fresh = fixtures.fleet, fixtures.emu, fixtures.fresh


def test_run_v2_services_revisions_and_locations(fleet: FleetData, fresh: Any) -> None:
    sc, rc = services_client(fresh.address), revisions_client(fresh.address)
    svcs = list(sc.list_services(parent=f"projects/{PROJECT}/locations/europe-west1"))
    assert [s.name for s in svcs] == [
        f"projects/{PROJECT}/locations/europe-west1/services/checkout"
    ]
    s = svcs[0]
    assert s.template.containers[0].resources.limits["cpu"] == "1"
    assert s.template.containers[0].resources.limits["memory"] == "512Mi"
    assert s.template.containers[0].resources.cpu_idle is True
    assert {(t.revision, t.percent, t.tag) for t in s.traffic} == {
        ("checkout-00001-abc", 90, ""),
        ("checkout-00002-def", 10, "canary"),
    }
    assert len(s.traffic_statuses) == 2
    assert s.latest_ready_revision.endswith("/revisions/checkout-00002-def")
    assert s.uri.startswith("https://checkout-")
    assert sc.get_service(name=s.name).name == s.name
    revs = list(
        rc.list_revisions(
            parent=f"projects/{PROJECT}/locations/-/services/-".replace(
                "locations/-", "locations/europe-west1"
            )
        )
    )
    assert {r.name.rsplit("/", 1)[1] for r in revs} == {"checkout-00001-abc", "checkout-00002-def"}
    assert any(r.max_instance_request_concurrency == 0 for r in revs)  # unset: default rule
    admin = rc.get_revision(
        name=f"projects/{PROJECT}/locations/us-central1/services/admin/revisions/admin-00001-xyz"
    )
    assert admin.scaling.min_instance_count == 2
    assert admin.containers[0].resources.cpu_idle is False
    assert admin.max_instance_request_concurrency == 1
    with pytest.raises(exceptions.InvalidArgument):
        list(sc.list_services(parent=f"projects/{PROJECT}/locations/-"))
    with pytest.raises(exceptions.NotFound):
        sc.get_service(name=f"projects/{PROJECT}/locations/europe-west1/services/nope")
    with pytest.raises(exceptions.NotFound):
        rc.get_revision(name=f"{s.name}/revisions/nope")
    ch = grpc.insecure_channel(fresh.address)
    call = ch.unary_unary(
        "/google.cloud.location.Locations/ListLocations",
        request_serializer=locations_pb2.ListLocationsRequest.SerializeToString,
        response_deserializer=locations_pb2.ListLocationsResponse.FromString,
    )
    locs = call(locations_pb2.ListLocationsRequest(name=f"projects/{PROJECT}"))
    assert [loc.location_id for loc in locs.locations] == ["europe-west1", "us-central1"]


def test_location_dash_is_refused_like_run_v2(fresh: Any) -> None:
    """Run v2 lists services and revisions per region: the wildcard location '-' is refused."""
    sc, rc = services_client(fresh.address), revisions_client(fresh.address)
    for parent in (f"projects/{PROJECT}/locations/-", "projects/123456789/locations/-"):
        with pytest.raises(exceptions.InvalidArgument, match="location '-'"):
            list(sc.list_services(parent=parent))
    for parent in (
        f"projects/{PROJECT}/locations/-/services/-",
        f"projects/{PROJECT}/locations/-/services/checkout",
    ):
        with pytest.raises(exceptions.InvalidArgument, match="location '-'"):
            list(rc.list_revisions(parent=parent))


def test_v2_shapes_agree_with_fixture(fresh: Any) -> None:
    path = FIXTURES / "cloudrun_v2_services_list_gcpdiag_cloudrun2.json"
    if not path.exists():
        pytest.skip(f"real fixtures not present at {FIXTURES}")
    real = json_format.ParseDict(
        json.loads(path.read_text())["services"][0],
        run_v2.Service.pb()(),
        ignore_unknown_fields=True,
    )
    ours = run_v2.Service.pb(
        services_client(fresh.address).get_service(
            name=f"projects/{PROJECT}/locations/europe-west1/services/checkout"
        )
    )
    real_fields = {f.name for f, _ in real.ListFields()} - {
        "description",
        "annotations",
        "labels",
        "binary_authorization",
        "reconciling",
    }
    assert real_fields <= {f.name for f, _ in ours.ListFields()}
    ours_res = ours.template.containers[0].resources
    # proto3 leaves false booleans off the wire; compare presence of the rest
    real_res = {
        f.name
        for f, v in real.template.containers[0].resources.ListFields()
        if not (v is True and getattr(ours_res, f.name) is False)
    }
    assert real_res <= {f.name for f, _ in ours_res.ListFields()}
