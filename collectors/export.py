"""Writing a collected Bundle to files and summarising it (used by ``python -m collectors``).

Files: one per frame, ``<frame>.parquet`` (pyarrow) or ``<frame>.csv``; timestamps stay UTC.
The summary is a plain dict that serialises to the ``--json`` object:

    {"source", "projects", "window": {"start", "end", "alignment_s"},
     "frames": {frame: rows}, "quality": {frame: {"status", "reasons"}},
     "rpc_calls": {method: calls}, "cold_starts": {"from_logs", "from_metric", "ratio", ...},
     "platform_failures": {event: count} (collectors.logparse.failure_counts; null when the
     instance events could not be read),
     "log_pages": {project: pages}, "files": [...], "errors": [...]}
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from collectors.logparse import failure_counts

if TYPE_CHECKING:
    from collectors.collect import Bundle
    from foundation.window import TimeWindow


def write_frames(bundle: Bundle, out_dir: Path, *, csv: bool = False) -> list[Path]:
    """Write every frame; returns the paths written (the directory is created)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, result in bundle.frames.items():
        if csv:
            path = out_dir / f"{name}.csv"
            result.frame.to_csv(path, index=False)
        else:
            path = out_dir / f"{name}.parquet"
            result.frame.to_parquet(path, index=False, engine="pyarrow")
        written.append(path)
    return written


def _finite(x: Any) -> Any:
    return None if isinstance(x, float) and not math.isfinite(x) else x


def summary(
    bundle: Bundle,
    *,
    source: str,
    projects: list[str],
    window: TimeWindow,
    files: list[Path],
) -> dict[str, Any]:
    """The export summary as a JSON-ready dict (NaN becomes null)."""
    cold = {k: _finite(v) for k, v in bundle.cold_starts.items() if k != "by_revision"}
    events = bundle.frames["instance_events"]
    unread = events.frame.empty and events.quality.status == "partial"
    return {
        "source": source,
        "projects": projects,
        "window": {
            "start": window.start.isoformat(),
            "end": window.end.isoformat(),
            "alignment_s": window.alignment_s,
        },
        "frames": {name: len(r.frame) for name, r in bundle.frames.items()},
        "quality": {
            name: {"status": r.quality.status, "reasons": list(r.quality.reasons)}
            for name, r in bundle.frames.items()
        },
        "rpc_calls": dict(bundle.rpc_calls),
        "cold_starts": cold,
        "platform_failures": None if unread else failure_counts(events.frame),
        "log_pages": {s.project: s.pages for s in bundle.log_stats},
        "files": [str(p) for p in files],
        "errors": list(bundle.errors),
    }


def text_summary(data: dict[str, Any]) -> str:
    """A short human-readable version of ``summary``."""
    w = data["window"]
    lines = [
        f"runwatch export: {data['source']} {', '.join(data['projects'])}, "
        f"{w['start']} .. {w['end']} ({w['alignment_s']} s alignment)",
        "",
        f"{'frame':<18}{'rows':>10}  quality",
    ]
    for name, rows in data["frames"].items():
        q = data["quality"][name]
        why = f" ({'; '.join(q['reasons'])})" if q["reasons"] else ""
        lines.append(f"{name:<18}{rows:>10}  {q['status']}{why}")
    cold = data["cold_starts"]
    ratio = cold.get("ratio")
    shown = f"{ratio:.3f}" if isinstance(ratio, float) else "n/a"
    lines += [
        "",
        f"cold starts: {cold['from_logs']} from logs, {cold['from_metric']} from the "
        f"startup_latencies metric (ratio {shown})",
        "platform failures: " + _failures_text(data["platform_failures"]),
        "API calls: "
        + (
            ", ".join(f"{m.rsplit('/', 1)[-1]} {n}" for m, n in data["rpc_calls"].items()) or "none"
        ),
    ]
    if data["files"]:
        lines.append(f"wrote {len(data['files'])} files to {Path(data['files'][0]).parent}")
    return "\n".join(lines)


def _failures_text(counts: dict[str, int] | None) -> str:
    if counts is None:
        return "unknown (the instance events could not be read)"
    seen = [f"{event} {n}" for event, n in counts.items() if n]
    return ", ".join(seen) or "none"
