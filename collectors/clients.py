"""The only place Google API clients are built.

``Clients`` holds the five GAPIC clients the collectors use, the call policy (timeouts and
retries, see collectors.rpc) and a per-Clients RPC counter. Two constructors give the same
object shape, so every collector runs unchanged against Google or the emulator:

- ``for_google(quota_project)``: Application Default Credentials, gRPC transports to
  monitoring/logging/run/cloudbilling.googleapis.com.
- ``for_emulator(address)``: one insecure loopback channel shared by every client (the emulator
  serves all APIs on one port); credentials are ignored by a transport built on a channel.

Logging uses the GAPIC ``LoggingServiceV2Client``, not the high-level ``logging.Client`` (which
silently adds a 24 h bound to filters without ``timestamp``). ``google.cloud.location.Locations/
ListLocations`` has no method on the run_v2 clients: ``Clients.list_locations`` calls it over the
Run API's own (authorised, in Google mode) channel with the ``locations_pb2`` messages.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import grpc
from google.api_core import exceptions as gexc
from google.cloud import billing_v1, monitoring_v3, run_v2
from google.cloud.billing_v1.services.cloud_catalog.transports import CloudCatalogGrpcTransport
from google.cloud.location import locations_pb2
from google.cloud.logging_v2.services.logging_service_v2 import LoggingServiceV2Client
from google.cloud.logging_v2.services.logging_service_v2.transports import (
    LoggingServiceV2GrpcTransport,
)
from google.cloud.monitoring_v3.services.metric_service.transports import (
    MetricServiceGrpcTransport,
)
from google.cloud.run_v2.services.revisions.transports import RevisionsGrpcTransport
from google.cloud.run_v2.services.services.transports import ServicesGrpcTransport

from collectors.errors import RunwatchError
from collectors.rpc import CallPolicy, Method, Paged, RpcCounter, call, fetch_pages

if TYPE_CHECKING:
    from collections.abc import Callable

    from config import Settings

SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)
_LOCATIONS_METHOD = "/google.cloud.location.Locations/ListLocations"
# A channel whose backend was down retries its connection with exponential backoff, which by
# gRPC's default may grow to 120 s between attempts (each call failing at once meanwhile).
# These bound the wait between connection attempts to RECONNECT_MAX_MS (docs/reliability.md).
RECONNECT_MAX_MS = 2_000
RECONNECT_OPTIONS: tuple[tuple[str, int], ...] = (
    ("grpc.initial_reconnect_backoff_ms", 250),
    ("grpc.min_reconnect_backoff_ms", 250),
    ("grpc.max_reconnect_backoff_ms", RECONNECT_MAX_MS),
)
# Unlimited message sizes, as the GAPIC transports set for Google: a Monitoring page may hold
# up to 100,000 points, well over gRPC's 4 MB default.
_CHANNEL_OPTIONS = (
    ("grpc.max_send_message_length", -1),
    ("grpc.max_receive_message_length", -1),
    *RECONNECT_OPTIONS,
)


def _reconnecting(create: Callable[..., grpc.Channel]) -> Callable[..., grpc.Channel]:
    """A transport's create_channel with RECONNECT_OPTIONS added to the options it passes."""

    def make(*args: Any, options: Sequence[tuple[str, Any]] = (), **kwargs: Any) -> grpc.Channel:
        return create(*args, options=[*options, *RECONNECT_OPTIONS], **kwargs)

    return make


@dataclass(frozen=True)
class Clients:
    """The API clients, call policy and RPC counter every collector receives."""

    monitoring: monitoring_v3.MetricServiceClient
    logging: LoggingServiceV2Client
    services: run_v2.ServicesClient
    revisions: run_v2.RevisionsClient
    catalog: billing_v1.CloudCatalogClient
    channel: grpc.Channel  # the Run API's channel (Locations mixin)
    mode: str  # "google" | "emulator"
    policy: CallPolicy = field(default_factory=CallPolicy)
    counter: RpcCounter = field(default_factory=RpcCounter)

    def list_locations(
        self,
        request: locations_pb2.ListLocationsRequest,
        *,
        retry: object = None,
        timeout: float | None = None,
        metadata: Sequence[tuple[str, str]] = (),
    ) -> locations_pb2.ListLocationsResponse:
        """google.cloud.location.Locations/ListLocations over the Run API channel.

        Same calling convention as a GAPIC method (``retry`` is accepted and ignored: retries
        are collectors.rpc's job); gRPC errors become google.api_core exceptions.
        """
        del retry
        stub = self.channel.unary_unary(
            _LOCATIONS_METHOD,
            request_serializer=locations_pb2.ListLocationsRequest.SerializeToString,
            response_deserializer=locations_pb2.ListLocationsResponse.FromString,
        )
        try:
            response: locations_pb2.ListLocationsResponse = stub(
                request, timeout=timeout, metadata=tuple(metadata) or None
            )
        except grpc.RpcError as exc:
            raise gexc.from_grpc_error(exc) from None
        return response

    def call(self, method: Method, fn: Callable[..., Any], request: Any, *, what: str = "") -> Any:
        """One RPC under this Clients' policy, counted."""
        return call(fn, request, method=method, policy=self.policy, counter=self.counter, what=what)

    def pages(
        self,
        method: Method,
        fn: Callable[..., Any],
        request: Any,
        *,
        what: str = "",
        max_pages: int | None = None,
        before_call: Callable[[], None] | None = None,
    ) -> Paged[Any]:
        """Every page of a list call under this Clients' policy (see rpc.fetch_pages)."""
        return fetch_pages(
            fn,
            request,
            method=method,
            policy=self.policy,
            counter=self.counter,
            what=what,
            max_pages=max_pages,
            before_call=before_call,
        )

    def close(self) -> None:
        """Close the transports' channels (safe to call more than once)."""
        for client in (self.monitoring, self.logging, self.services, self.revisions, self.catalog):
            client.transport.close()
        self.channel.close()


def for_emulator(
    address: str, *, policy: CallPolicy | None = None, counter: RpcCounter | None = None
) -> Clients:
    """Clients talking to a runwatch emulator at ``host:port`` over one insecure channel."""
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ValueError(f"emulator address {address!r} is not host:port")
    channel = grpc.insecure_channel(address, options=_CHANNEL_OPTIONS)
    return Clients(
        monitoring=monitoring_v3.MetricServiceClient(
            transport=MetricServiceGrpcTransport(channel=channel)
        ),
        logging=LoggingServiceV2Client(transport=LoggingServiceV2GrpcTransport(channel=channel)),
        services=run_v2.ServicesClient(transport=ServicesGrpcTransport(channel=channel)),
        revisions=run_v2.RevisionsClient(transport=RevisionsGrpcTransport(channel=channel)),
        catalog=billing_v1.CloudCatalogClient(transport=CloudCatalogGrpcTransport(channel=channel)),
        channel=channel,
        mode="emulator",
        policy=policy or CallPolicy(),
        counter=counter or RpcCounter(),
    )


def for_google(
    quota_project: str | None = None,
    *,
    policy: CallPolicy | None = None,
    counter: RpcCounter | None = None,
) -> Clients:
    """Clients for Google Cloud with Application Default Credentials.

    Raises RunwatchError (with what to do) when no credentials are found.
    """
    import google.auth
    from google.auth import exceptions as auth_exceptions

    try:
        credentials, _ = google.auth.default(scopes=SCOPES, quota_project_id=quota_project)
    except auth_exceptions.DefaultCredentialsError:
        raise RunwatchError(
            "No Google credentials found. On a workstation run "
            "`gcloud auth application-default login`; on Cloud Run attach a service account "
            "with roles/monitoring.viewer, roles/logging.viewer and roles/run.viewer. "
            "To try runwatch without Google, unset RUNWATCH_PROJECTS (demo mode)."
        ) from None

    def transport(kind: Any) -> Any:  # the client's default gRPC transport, reconnecting
        return kind(
            credentials=credentials,
            quota_project_id=quota_project,
            channel=_reconnecting(kind.create_channel),
        )

    services = run_v2.ServicesClient(transport=transport(ServicesGrpcTransport))
    run_transport = services.transport
    assert isinstance(run_transport, ServicesGrpcTransport)
    return Clients(
        monitoring=monitoring_v3.MetricServiceClient(
            transport=transport(MetricServiceGrpcTransport)
        ),
        logging=LoggingServiceV2Client(transport=transport(LoggingServiceV2GrpcTransport)),
        services=services,
        revisions=run_v2.RevisionsClient(transport=transport(RevisionsGrpcTransport)),
        catalog=billing_v1.CloudCatalogClient(transport=transport(CloudCatalogGrpcTransport)),
        channel=run_transport.grpc_channel,  # authorised channel to run.googleapis.com
        mode="google",
        policy=policy or CallPolicy(),
        counter=counter or RpcCounter(),
    )


def policy_from_settings(settings: Settings) -> CallPolicy:
    """Per-attempt timeout from RUNWATCH_RPC_TIMEOUT_S; a call's retries fit in twice that."""
    timeout = settings.rpc_timeout_s
    return CallPolicy(timeout_s=timeout, deadline_s=2.0 * timeout)


def from_settings(settings: Settings, emulator_address: str = "") -> Clients:
    """Clients for the configured source. Demo mode needs the (started) emulator's address."""
    policy = policy_from_settings(settings)
    if settings.is_demo:
        address = emulator_address or settings.emulator_address
        if not address:
            raise ValueError("demo mode needs the emulator's address (start the emulator first)")
        return for_emulator(address, policy=policy)
    return for_google(policy=policy)
