"""Google's Monitoring, Logging and Cloud Run Admin APIs over loopback gRPC, answering from a
FleetData (emulator.sim) the way the real services answer.

- servers.py: the gRPC server, ``start`` and the call counter
- timeseries.py: Monitoring's ListTimeSeries; series_index.py stacks a
  FleetData's series per metric type; aggregate.py and alignrules.py are Monitoring's aligners
  and reducers; outseries.py holds a response's series, encoded once and sliced per page;
  wire.py encodes many points at once
- logservice.py: Logging's ListLogEntries; logentries.py turns FleetData events into entries
- admin.py: Cloud Run Admin (Run v2): list and get services and revisions, list locations
- monitoring_filter.py, logging_filter.py: the two filter languages, on filter_tokens.py
- paging.py, errors.py, faults.py: page tokens, Google-shaped errors, injected faults
"""
