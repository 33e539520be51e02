"""Admin API v2 parsing on Google's real Service payloads, quantities and documented defaults."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from google.cloud import run_v2

from collectors import runconfig, schema
from tests._collect_logs_helpers import dtypes, load_json, v2_services

FIXTURES = (
    "cloudrun_v2_service_get_firebase-tools_runv2_comment.json",
    "cloudrun_v2_services_list_gcpdiag_cloudrun1.json",
    "cloudrun_v2_services_list_gcpdiag_cloudrun2.json",
)


@pytest.mark.parametrize("name", FIXTURES)
def test_services_frame_matches_json(name: str) -> None:
    raw = load_json(name)
    items = raw.get("services", [raw])
    df = runconfig.frame([runconfig.service_row(s) for s in v2_services(name)], schema.SERVICES)
    assert dtypes(df) == dict(schema.SERVICES)
    assert len(df) == len(items)
    for (_, row), obj in zip(df.iterrows(), items, strict=True):
        parts = obj["name"].split("/")
        assert (row["project_id"], row["location"], row["service"]) == (
            parts[1],
            parts[3],
            parts[5],
        )
        latest = obj.get("latestReadyRevision", "")
        assert row["latest_ready_revision"] == (latest.split("/")[-1] if latest else "")
        assert row["create_time"] == pd.Timestamp(obj["createTime"])
        assert row["ingress"] == "all"
        assert pd.isna(row["service_min_instances"])  # no service-level scaling in these
        assert row["scaling_mode"] == "AUTOMATIC"


@pytest.mark.parametrize("name", FIXTURES)
def test_template_revisions_match_json(name: str) -> None:
    raw = load_json(name)
    items = raw.get("services", [raw])
    df = runconfig.frame(
        [runconfig.template_revision_row(s) for s in v2_services(name)], schema.REVISIONS
    )
    assert dtypes(df) == dict(schema.REVISIONS)
    for (_, row), obj in zip(df.iterrows(), items, strict=True):
        tpl = obj["template"]
        res = tpl["containers"][0]["resources"]
        cpu = res["limits"]["cpu"]
        want_cpu = float(cpu[:-1]) / 1000 if cpu.endswith("m") else float(cpu)
        mem = res["limits"]["memory"]
        assert mem.endswith("Mi")
        assert row["cpu"] == want_cpu
        assert row["memory_gib"] == int(mem[:-2]) / 1024
        assert row["billing"] == ("request" if res.get("cpuIdle") else "instance")
        assert row["startup_cpu_boost"] == bool(res.get("startupCpuBoost", False))
        assert row["concurrency"] == tpl["maxInstanceRequestConcurrency"]
        assert row["concurrency_set"]
        assert row["max_instances"] == tpl["scaling"]["maxInstanceCount"]
        assert row["timeout_s"] == float(tpl["timeout"].rstrip("s"))
        assert row["gpu"] == 0


def test_traffic_latest_resolves_to_latest_ready_revision() -> None:
    svcs = v2_services("cloudrun_v2_service_get_firebase-tools_runv2_comment.json")
    rows = runconfig.traffic_rows(svcs[0])
    assert rows == [
        {
            "project_id": "inlined-junkdrawer",
            "location": "us-central1",
            "service": "ejectrequest",
            "revision": "ejectrequest-00002-ruh",
            "tag": "",
            "percent": 100,
            "latest": True,
        }
    ]


def test_traffic_without_ready_revision_stays_unresolved() -> None:
    svcs = v2_services("cloudrun_v2_services_list_gcpdiag_cloudrun2.json")
    by_name = {runconfig.short_name(s.name): s for s in svcs}
    rows = runconfig.traffic_rows(by_name["no-image-permission"])
    assert [r["revision"] for r in rows] == [""]
    df = runconfig.frame(rows, schema.TRAFFIC)
    assert dtypes(df) == dict(schema.TRAFFIC)


def _revision(**kw: object) -> object:
    return run_v2.Revision.pb()(**kw)


def test_unset_concurrency_defaults_by_cpu() -> None:
    Container = run_v2.Container.pb()
    Res = run_v2.ResourceRequirements.pb()
    name = "projects/p-1234/locations/europe-west1/services/svc/revisions/svc-00001-abc"
    big = _revision(
        name=name,
        service="projects/p-1234/locations/europe-west1/services/svc",
        containers=[Container(resources=Res(limits={"cpu": "2", "memory": "1Gi"}, cpu_idle=True))],
    )
    small = _revision(
        name=name,
        containers=[Container(resources=Res(limits={"cpu": "500m", "memory": "256Mi"}))],
    )
    bare = _revision(name=name, containers=[Container()])
    rb, rs, rn = (runconfig.revision_row(r) for r in (big, small, bare))
    assert (rb["concurrency"], rb["concurrency_set"], rb["billing"]) == (80, False, "request")
    assert (rs["concurrency"], rs["concurrency_set"]) == (1, False)
    # resources set without cpu_idle: the API's documented reading is instance-based
    assert rs["billing"] == "instance"
    # no resources at all: Cloud Run's defaults (1 vCPU, 512 MiB, request-based)
    assert (rn["cpu"], rn["memory_gib"], rn["billing"], rn["concurrency"]) == (
        1.0,
        0.5,
        "request",
        80,
    )
    assert rb["max_instances"] == 100  # unset max: the documented default
    assert rb["service"] == "svc"
    assert math.isnan(rb["timeout_s"])


def test_sidecars_sum_and_gpu_counted() -> None:
    Container = run_v2.Container.pb()
    Res = run_v2.ResourceRequirements.pb()
    Port = run_v2.ContainerPort.pb()
    rev = _revision(
        name="projects/p-1234/locations/europe-west4/services/s/revisions/s-1",
        max_instance_request_concurrency=4,
        containers=[
            Container(resources=Res(limits={"cpu": "1", "memory": "512Mi"})),
            Container(
                ports=[Port(container_port=8080)],
                resources=Res(
                    limits={"cpu": "4", "memory": "16Gi", "nvidia.com/gpu": "1"},
                    cpu_idle=False,
                    startup_cpu_boost=True,
                ),
            ),
        ],
    )
    row = runconfig.revision_row(rev)
    assert (row["cpu"], row["memory_gib"], row["gpu"]) == (5.0, 16.5, 1)
    assert (row["billing"], row["startup_cpu_boost"], row["concurrency"]) == ("instance", True, 4)


def test_bad_quantity_becomes_unknown_with_a_note() -> None:
    Container = run_v2.Container.pb()
    Res = run_v2.ResourceRequirements.pb()
    rev = _revision(
        name="projects/p-1234/locations/europe-west1/services/s/revisions/s-1",
        containers=[Container(resources=Res(limits={"cpu": "lots", "memory": "1Gi"}))],
    )
    notes: list[str] = []
    row = runconfig.revision_row(rev, notes)
    assert math.isnan(row["cpu"])
    assert pd.isna(row["concurrency"])
    assert notes
    assert "lots" in notes[0]
    df = runconfig.frame([row], schema.REVISIONS)
    assert dtypes(df) == dict(schema.REVISIONS)


@pytest.mark.parametrize(
    ("text", "vcpu"),
    [("1", 1.0), ("0.5", 0.5), ("1000m", 1.0), ("250m", 0.25), ("2", 2.0), ("8", 8.0)],
)
def test_cpu_quantities(text: str, vcpu: float) -> None:
    assert runconfig.parse_cpu(text) == pytest.approx(vcpu)


@pytest.mark.parametrize(
    ("text", "gib"),
    [
        ("512Mi", 0.5),
        ("2Gi", 2.0),
        ("256M", 256e6 / 2**30),
        ("1G", 1e9 / 2**30),
        ("524288Ki", 0.5),
        ("536870912", 0.5),
        ("32Gi", 32.0),
    ],
)
def test_memory_quantities(text: str, gib: float) -> None:
    assert runconfig.parse_memory_gib(text) == pytest.approx(gib)


@pytest.mark.parametrize("text", ["", "abc", "1Xi", "-1", "0", "1 Gi Gi"])
def test_bad_quantities_raise(text: str) -> None:
    with pytest.raises(ValueError, match=r"quantity|unit|positive"):
        runconfig.parse_memory_gib(text)


def test_service_level_scaling() -> None:
    Svc = run_v2.Service.pb()
    Scaling = run_v2.ServiceScaling.pb()
    svc = Svc(
        name="projects/p-1234/locations/us-east1/services/web",
        scaling=Scaling(min_instance_count=3, max_instance_count=20),
    )
    manual = Svc(
        name="projects/p-1234/locations/us-east1/services/batch",
        scaling=Scaling(scaling_mode=2, manual_instance_count=0),
    )
    a, b = runconfig.service_row(svc), runconfig.service_row(manual)
    assert (a["service_min_instances"], a["service_max_instances"]) == (3, 20)
    assert (a["scaling_mode"], b["scaling_mode"]) == ("AUTOMATIC", "MANUAL")
    assert pd.isna(a["manual_instance_count"])
    assert b["manual_instance_count"] == 0  # explicitly set to 0 is not "unset"
    assert pd.isna(a["create_time"])
