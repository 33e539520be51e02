"""The cost model's one user-facing refusal, and the refusals it makes in several places."""

from __future__ import annotations


class CannotEstimate(ValueError):
    """The cost model refuses to give a figure; the message says why in plain words.

    The UI and the CLI show it as "cannot estimate because <message>"; it is never a crash and
    never a silent $0.
    """


def refuse_gpus(gpus: int, subject: str) -> None:
    """Refuse to price ``subject`` (e.g. "the service", "revision api-001") when it has GPUs:
    GPU pricing is instance-based only, and the cost model does not model it."""
    if gpus:
        raise CannotEstimate(f"{subject} uses GPUs, which the cost model does not price")
