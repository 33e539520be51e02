"""clients.py constructors and rpc.py policy pieces that need no emulator."""

from __future__ import annotations

import random

import pytest

import config
from collectors import clients, errors, rpc


def test_google_mode_without_credentials_says_what_to_do(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", "/nonexistent/runwatch-test.json")
    with pytest.raises(errors.RunwatchError, match="application-default login"):
        clients.for_google()


def test_emulator_clients_share_one_channel_and_take_the_policy() -> None:
    settings = config.load({"RUNWATCH_SOURCE": "demo", "RUNWATCH_RPC_TIMEOUT_S": "7"})
    c = clients.from_settings(settings, "127.0.0.1:9")
    try:
        assert c.mode == "emulator"
        assert c.policy.timeout_s == 7.0
        assert c.policy.deadline_s == 14.0
        assert c.counter.snapshot() == {}
    finally:
        c.close()
    with pytest.raises(ValueError, match="emulator's address"):
        clients.from_settings(settings, "")
    with pytest.raises(ValueError, match="host:port"):
        clients.for_emulator("nonsense")


def test_backoff_is_full_jitter_and_capped() -> None:
    policy = rpc.CallPolicy(backoff_initial_s=0.5, backoff_max_s=2.0)
    rng = random.Random(1)
    for n in range(8):
        cap = min(2.0, 0.5 * 2**n)
        draws = [policy.backoff(n, rng) for _ in range(200)]
        assert min(draws) >= 0.0
        assert max(draws) <= cap
        assert max(draws) > 0.8 * cap  # spread over the whole range
    with pytest.raises(ValueError, match="attempts"):
        rpc.CallPolicy(attempts=0)
    with pytest.raises(ValueError, match="positive"):
        rpc.CallPolicy(timeout_s=0)


def test_rpc_counter_is_thread_safe() -> None:
    import threading

    counter = rpc.RpcCounter()

    def work() -> None:
        for _ in range(1000):
            counter.add("a/B")

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert counter.snapshot() == {"a/B": 8000}
    assert counter.total() == 8000
    counter.reset()
    assert counter.snapshot() == {}


def test_google_channels_bound_the_reconnect_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every Google API channel takes RECONNECT_OPTIONS (gRPC's default backoff grows to 120 s)
    besides the options the client library sets itself."""
    import google.auth
    from google.api_core import grpc_helpers
    from google.auth.credentials import AnonymousCredentials

    monkeypatch.setattr(google.auth, "default", lambda **_: (AnonymousCredentials(), None))
    made: list[dict[str, object]] = []
    create = grpc_helpers.create_channel

    def recording(*args: object, **kwargs: object) -> object:
        made.append(dict(kwargs.get("options") or ()))  # type: ignore[call-overload]
        return create(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(grpc_helpers, "create_channel", recording)
    got = clients.for_google()
    try:
        assert len(made) == 5  # monitoring, logging, services, revisions, catalog
        for options in made:
            assert options["grpc.max_reconnect_backoff_ms"] == clients.RECONNECT_MAX_MS
            assert options["grpc.max_receive_message_length"] == -1  # the library's own
        assert got.monitoring.transport._host == "monitoring.googleapis.com:443"
        assert got.services.transport._host == "run.googleapis.com:443"
        assert got.catalog.transport._host == "cloudbilling.googleapis.com:443"
    finally:
        got.close()
