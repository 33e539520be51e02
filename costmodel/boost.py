"""Startup CPU boost: what turning it on or off does to a start, as the cost model assumes it.

Google's CPU page says the boost gives an instance extra CPU "during instance startup time and
for 10 seconds after the instance has started"; how much faster a start gets and whether the
extra CPU is billed are not published (docs/facts.md, Autoscaling). The cost model assumes, as
the emulator does, that starts take ``STARTUP_FACTOR`` of their unboosted time and that the
extra vCPU (``boosted_vcpu(cpu) - cpu``) is billed from the start until ``AFTER_READY_S`` after
the instance is ready, at the active vCPU rate. Both are UNCONFIRMED: the what-if lists them.
"""

from __future__ import annotations

import numpy as np

# UNCONFIRMED: a boosted start takes this share of an unboosted one (the default of the
# setting RUNWATCH_BOOST_STARTUP_PERCENT, which the callers pass as ``factor``)
STARTUP_FACTOR = 0.6
AFTER_READY_S = 10.0  # the boost lasts this long after the instance is ready (Google's page)
UNCONFIRMED = (
    f"the startup CPU boost's extra vCPU, billed during starts and {AFTER_READY_S:g} s after"
)


def boosted_vcpu(cpu: np.ndarray | float) -> np.ndarray:
    """vCPU an instance of ``cpu`` gets while boosted (UNCONFIRMED: twice the limit, at least
    1 and at most 8)."""
    return np.minimum(8.0, np.maximum(2.0 * np.asarray(cpu, dtype=float), 1.0))


def extra_vcpu_s(starts: np.ndarray, cpu: np.ndarray, startup_s: float) -> np.ndarray:
    """The boost's billed extra vCPU-seconds for ``starts`` starts of instances of ``cpu``."""
    c = np.asarray(cpu, dtype=float)
    return np.asarray(
        np.asarray(starts, dtype=float) * (boosted_vcpu(c) - c) * (startup_s + AFTER_READY_S)
    )


def startup_under(
    startup_s: float, observed_boost: bool, boost: bool, factor: float = STARTUP_FACTOR
) -> float:
    """The mean startup time with ``boost``, from one observed with ``observed_boost``
    (``factor``: a boosted start's share of an unboosted one)."""
    if observed_boost == boost:
        return startup_s
    return startup_s * factor if boost else startup_s / factor
