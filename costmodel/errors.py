"""The cost model's one user-facing refusal."""

from __future__ import annotations


class CannotEstimate(ValueError):
    """The cost model refuses to give a figure; the message says why in plain words.

    The UI and the CLI show it as "cannot estimate because <message>"; it is never a crash and
    never a silent $0.
    """
