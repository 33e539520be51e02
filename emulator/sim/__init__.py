"""The simulated fleet: a FleetSpec becomes a FleetData (raw per-minute series and log events)
and its ground truth, seeded and deterministic. Nothing here imports grpc, google.* or
emulator.api; the servers in emulator.api only read what this room produced.

- model.py: the specs and FleetData, the contract with emulator.api
- scenarios.py, fleetgen.py: the demo fleet and generated fleets of any size
- fleet.py: FleetSpec -> FleetData (threads; child_processes.py for big fleets)
- arrivals.py, instances.py, routing.py, revision.py, service.py: the request-by-request model
- fluid.py: the per-minute model of ``background`` services (its random draws: minute_draws.py)
- series.py, events.py: Monitoring series and log events of a simulated revision
- truth.py: what a service would bill and suffer under other settings (``python -m
  emulator.sim.truth``)
- util.py: seeded random streams and vectorised helpers
"""
