"""The ``gcloud run services update-traffic`` commands a canary verdict leads to: roll back to
the stable revision, take the next canary step, or promote the candidate (docs/facts.md, Admin
API: traffic).

Every command names each revision that keeps traffic, with percentages that add up to 100,
so nothing is left to how gcloud would spread an unnamed remainder.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from actions.shell import where
from foundation import names

STEPS = (5, 10, 25, 50, 100)  # the candidate's share, canary step by canary step
FLAGS = ("--project", "--region", "--to-revisions")  # every flag the commands use


@dataclass(frozen=True)
class TrafficCommand:
    action: str  # rollback | next_step | promote
    label: str  # what it does, in words
    command: str
    recommended: bool  # what the verdict suggests


def next_share(candidate_pct: float) -> int:
    """The candidate's share after the next canary step."""
    return next((s for s in STEPS if s > candidate_pct + 1e-9), 100)


def _split(shares: Mapping[str, float], candidate: str, stable: str, pct: int) -> dict[str, int]:
    """The split with ``pct`` % on the candidate: the other revisions keep theirs, the stable
    revision takes the rest (the others give way when it would go below 0)."""
    others = {r: round(p) for r, p in shares.items() if r not in (candidate, stable) and p > 0}
    room = 100 - pct
    kept: dict[str, int] = {}
    for rev, p in sorted(others.items(), key=lambda kv: -kv[1]):
        take = min(p, room)
        if take > 0:
            kept[rev] = take
            room -= take
    split = {candidate: pct, **kept}
    if room > 0:
        split[stable] = room
    return split


def _command(service: str, project: str, region: str, split: Mapping[str, int]) -> str:
    to = ",".join(f"{names.revision(r)}={p}" for r, p in split.items() if p > 0)
    return (
        f"gcloud run services update-traffic {names.service(service)} {where(project, region)} "
        f"--to-revisions={to}"
    )


def canary_commands(
    *,
    service: str,
    project: str,
    region: str,
    stable: str,
    candidate: str,
    shares: Mapping[str, float],
    status: str,
) -> list[TrafficCommand]:
    """Rollback, next step and promotion of ``candidate`` against ``stable`` (``shares``: each
    revision's configured traffic percent now; ``status``: the verdict's), the one the verdict
    suggests marked: a regression rolls back; an improvement or no difference takes the next
    step; too little data suggests nothing (wait)."""
    if candidate == stable:
        raise ValueError("the candidate and the stable revision are the same")
    now = float(shares.get(candidate, 0.0))
    step = next_share(now)
    out = [
        TrafficCommand(
            "rollback",
            f"Roll back: all traffic to {stable}",
            _command(service, project, region, {stable: 100}),
            status == "regression",
        )
    ]
    if step < 100:
        out.append(
            TrafficCommand(
                "next_step",
                f"Next canary step: {candidate} {now:g} % → {step} %",
                _command(service, project, region, _split(shares, candidate, stable, step)),
                status in ("improvement", "no_difference"),
            )
        )
    out.append(
        TrafficCommand(
            "promote",
            f"Promote: all traffic to {candidate}",
            _command(service, project, region, {candidate: 100}),
            step == 100 and status in ("improvement", "no_difference"),
        )
    )
    return out
