"""Simulating shares of a big fleet in child processes (``python -m emulator.sim.child_processes``).

A child is a fresh interpreter (not a fork: the parent may run gRPC and other threads; not
multiprocessing's spawn either, which imports the parent's main script again) that
reads ``(FleetSpec, [(position, ServiceSpec), ...])`` pickled on its standard input and writes
each simulated part (emulator.sim.fleet's ``_Part``) pickled on its standard output as soon as it
is done, then None; the parent unpickles them as they stream in, while it simulates its own
share.
"""

from __future__ import annotations

import pickle
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from emulator.sim.fleet import _Part
    from emulator.sim.model import FleetSpec, ServiceSpec

PACKAGE_ROOT = str(Path(__file__).resolve().parent.parent)
# the child finds this package where the parent did, whatever its working directory
CHILD = (
    f"import sys; sys.path.insert(0, {PACKAGE_ROOT!r}); "
    "from emulator.sim.child_processes import main; raise SystemExit(main())"
)


def run_children(
    spec: FleetSpec,
    shares: list[list[tuple[int, ServiceSpec]]],
    own: Callable[[], list[_Part]],
) -> list[_Part]:
    """Parts of ``own()`` (run here) and of every share (one child process each)."""
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in shares
    ]
    results: list[Any] = [None] * len(children)
    errors: list[bytes] = [b""] * len(children)

    def drain(k: int, child: subprocess.Popen[bytes]) -> None:
        assert child.stderr is not None
        errors[k] = child.stderr.read()

    def read(k: int, child: subprocess.Popen[bytes]) -> None:
        assert child.stdin is not None
        assert child.stdout is not None
        err = threading.Thread(target=drain, args=(k, child))
        err.start()
        try:
            pickle.dump((spec, shares[k]), child.stdin, protocol=pickle.HIGHEST_PROTOCOL)
            child.stdin.close()
            got = []
            while (part := pickle.load(child.stdout)) is not None:
                got.append(part)
            results[k] = got
        except (EOFError, BrokenPipeError, pickle.UnpicklingError):
            results[k] = None
        finally:
            child.stdout.close()
            if not child.stdin.closed:
                child.stdin.close()
        child.wait()
        err.join()
        assert child.stderr is not None
        child.stderr.close()

    readers = [threading.Thread(target=read, args=kc) for kc in enumerate(children)]
    for t in readers:
        t.start()
    try:
        parts = own()
    finally:
        for t in readers:
            t.join()
    for k, child in enumerate(children):
        if child.returncode != 0 or results[k] is None:
            tail = errors[k].decode(errors="replace").strip().splitlines()[-5:]
            raise RuntimeError(f"fleet simulation child failed ({child.returncode}): {tail}")
        parts += results[k]
    return parts


def main() -> int:
    import gc

    from emulator.sim.fleet import _service_part

    gc.disable()  # a short-lived process of acyclic data (see util.no_gc)
    spec, items = pickle.load(sys.stdin.buffer)
    out = sys.stdout.buffer
    for item in items:
        pickle.dump(_service_part(spec, item), out, protocol=pickle.HIGHEST_PROTOCOL)
    pickle.dump(None, out)
    out.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
