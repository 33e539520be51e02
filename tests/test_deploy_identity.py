"""collectors.identity against a real HTTP server on loopback playing the metadata server."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from collectors.identity import RuntimeIdentity, runtime_identity
from tests._deploy_helpers import free_port

ANSWERS = {
    "/computeMetadata/v1/project/project-id": "host-proj-1",
    "/computeMetadata/v1/instance/service-accounts/default/email": (
        "runwatch-dashboard@host-proj-1.iam.gserviceaccount.com"
    ),
}


class _Metadata(BaseHTTPRequestHandler):
    answers: ClassVar[dict[str, str]] = ANSWERS
    flavor_back = True
    delay_s = 0.0
    seen: ClassVar[list[tuple[str, str | None]]] = []

    def do_GET(self) -> None:
        type(self).seen.append((self.path, self.headers.get("Metadata-Flavor")))
        time.sleep(self.delay_s)
        body = self.answers.get(self.path)
        if self.headers.get("Metadata-Flavor") != "Google" or body is None:
            self.send_response(403 if body is not None else 404)
            self.end_headers()
            return
        data = body.encode()
        self.send_response(200)
        if self.flavor_back:
            self.send_header("Metadata-Flavor", "Google")
        self.send_header("Content-Type", "application/text")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:  # quiet
        return


def _serve(handler: type[_Metadata]) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def metadata() -> Iterator[str]:
    _Metadata.seen = []
    yield from _serve(_Metadata)


def test_reads_project_and_account_with_the_metadata_header(metadata: str) -> None:
    found = runtime_identity(2.0, host=metadata)
    assert found == RuntimeIdentity(
        "host-proj-1", "runwatch-dashboard@host-proj-1.iam.gserviceaccount.com"
    )
    assert found is not None
    assert found.describe() == (
        "Running as runwatch-dashboard@host-proj-1.iam.gserviceaccount.com in project host-proj-1"
    )
    assert {flavor for _, flavor in _Metadata.seen} == {"Google"}
    assert {path for path, _ in _Metadata.seen} == set(ANSWERS)


def test_absent_metadata_server_is_none_and_fast() -> None:
    t0 = time.monotonic()
    assert runtime_identity(0.5, host=f"127.0.0.1:{free_port()}") is None
    assert time.monotonic() - t0 < 2.0


def test_answer_without_the_flavor_header_is_not_trusted() -> None:
    class NoFlavor(_Metadata):
        flavor_back = False

    for host in _serve(NoFlavor):
        assert runtime_identity(2.0, host=host) is None


def test_invalid_project_id_is_not_trusted() -> None:
    class Odd(_Metadata):
        answers: ClassVar[dict[str, str]] = {
            **ANSWERS,
            "/computeMetadata/v1/project/project-id": 'x" OR true',
        }

    for host in _serve(Odd):
        assert runtime_identity(2.0, host=host) is None


def test_slow_server_hits_the_timeout() -> None:
    class Slow(_Metadata):
        delay_s = 1.5

    for host in _serve(Slow):
        t0 = time.monotonic()
        assert runtime_identity(0.3, host=host) is None
        assert time.monotonic() - t0 < 1.4


def test_timeout_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        runtime_identity(0)
