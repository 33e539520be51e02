"""Local emulator of Google's Monitoring, Logging and Cloud Run Admin APIs over loopback gRPC,
serving a simulated Cloud Run fleet. ``start()`` runs one in-process; ``python -m emulator`` runs
one standalone."""

from emulator.faults import FaultConfig, Faults, MethodFault, parse_spec
from emulator.servers import CallCounter, Emulator, start

__all__ = ["CallCounter", "Emulator", "FaultConfig", "Faults", "MethodFault", "parse_spec", "start"]
