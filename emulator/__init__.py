"""Local emulator of Google's Monitoring, Logging and Cloud Run Admin APIs over loopback gRPC,
serving a simulated Cloud Run fleet. ``start()`` runs one in-process; ``python -m emulator`` runs
one standalone.

Two rooms: ``emulator.sim`` simulates a fleet (FleetSpec -> FleetData and its ground truth; no
gRPC, no Google libraries) and ``emulator.api`` speaks Google's APIs over gRPC from a FleetData
(the servers, the filter languages, Monitoring's aligners and reducers, paging, faults).

Fleet options (keyword arguments of ``start``; the same as ``python -m emulator`` flags):

- ``services=N`` (``--services N``): the demo's seven services, then ``N - 7`` generated
  variations of their stories (emulator.sim.fleetgen: steady APIs, hundreds of requests a
  second, near-zero traffic, bursts, canaries with and without a regression, idle min
  instances, 429s at max instances, instance-based workers, fractional vCPU), seeded by
  ``seed``: the same arguments give the same fleet. ``N < 7`` keeps the first N demo services.
- ``projects=("P1", "P2", ...)`` (``--projects P1,P2``): the projects the fleet lives in; the
  demo's services in the first, the generated ones round-robin over all. Every API answers per
  project: ListTimeSeries on ``projects/P``, ListLogEntries with ``resource_names`` ``projects/P``,
  Run v2 under ``projects/P/locations/REGION`` (``-`` as the location is refused, as Run v2
  does); a project's number works like its id.
- ``scoping_project="P0"`` (``--scoping-project P0``): a metrics scope. ListTimeSeries on P0
  (one of the projects or another id) reads the series of every project, told apart by the
  ``project_id`` resource label; a reduced series keeps ``project_id`` when its members share
  one. Logging and Run v2 are not scoped (as in Google's APIs).

Without ``services`` and ``projects`` the fleet is exactly the demo (``runwatch-demo``, 7
services, 16 revisions), series for series. The generated services are ``background``:
simulated per minute (emulator.sim.fluid), not request by request, with the same series and
log lines (their request log holds only 429 rejections); their series are stored packed
(emulator.sim.model.PackedDistributionSeries). ``emulator.sim.truth.ground_truth``
re-simulates a demo service request by request and a background one with the per-minute model.
"""

from emulator.api.faults import FaultConfig, Faults, MethodFault, parse_spec
from emulator.api.servers import CallCounter, Emulator, start

__all__ = ["CallCounter", "Emulator", "FaultConfig", "Faults", "MethodFault", "parse_spec", "start"]
