"""Routing requests to instances with a free slot (max concurrency per instance respected).

Policy (documented, deliberate): a request goes to a ready instance with a free slot, chosen
uniformly at random among them; with none, it waits for the starting instance that is ready
soonest and has room (it meets a cold start); with none either (all instances full, e.g. at
max instances), it queues for the first slot that frees up. Cloud Run never puts more than
``concurrency`` requests on an instance at once, and neither does this router.

Doing that request by request in Python would be slow for millions of requests, so the work
is split exactly:

- In-flight requests are counted at every arrival (``in_flight_after``). Where the count after
  an arrival is at most ``concurrency`` no instance can be over its limit whatever the choice,
  so those requests are routed vectorised: uniformly over the ready instances, waiting only
  when no instance is ready.
- "Hot" stretches (maximal runs of requests with something in flight, holding at least one
  arrival that finds more than ``concurrency`` requests in flight) are routed one request at a
  time by :func:`route_hot`, with each instance's occupancy tracked exactly.

Approximation: the in-flight counts that split the work (and drive the autoscaler's
request-driven need, see instances.py) use service intervals without the cold-start wait;
the router itself accounts for the waits.
"""

from __future__ import annotations

import heapq

import numpy as np

from emulator.sim.instances import Lifetimes


def in_flight_after(times: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Requests in flight just after each (sorted) arrival, itself included."""
    n = len(times)
    done = np.searchsorted(np.sort(ends, kind="stable"), times, side="right")
    return np.arange(1, n + 1, dtype=np.int64) - done


def in_flight_bound(times: np.ndarray, ends: np.ndarray, n_seconds: int) -> np.ndarray:
    """Per second: requests in flight at its start + arrivals in it (>= the most in flight at
    once in that second; exact counts from two bincounts, no sort)."""
    sec = np.minimum(times.astype(np.int64), n_seconds - 1)
    arrivals = np.bincount(sec, minlength=n_seconds)[:n_seconds]
    e_sec = np.clip(np.ceil(ends), 0, n_seconds).astype(np.int64)
    cum_e = np.cumsum(np.bincount(e_sec, minlength=n_seconds + 1)[:n_seconds])
    cum_a = np.cumsum(arrivals)
    at_start = np.zeros(n_seconds, dtype=np.int64)  # in flight at the start of second s
    at_start[1:] = cum_a[:-1] - cum_e[1:]
    return np.maximum(at_start, 0) + arrivals


def peak_per_second(times: np.ndarray, flight: np.ndarray | None, bound: np.ndarray) -> np.ndarray:
    """Most requests in flight at once in each second: exact when ``flight`` is given, else
    1 where anything is in flight (callers pass None only when ``bound`` <= concurrency, where
    only that matters to the autoscaler)."""
    if flight is None:
        return np.asarray(bound > 0, dtype=np.int64)
    n_seconds = len(bound)
    sec = np.minimum(times.astype(np.int64), n_seconds - 1)
    at_start = bound - np.bincount(sec, minlength=n_seconds)[:n_seconds]
    first = np.flatnonzero(np.diff(sec, prepend=-1))  # times are sorted: one run per second
    peak = at_start.copy()
    peak[sec[first]] = np.maximum(at_start[sec[first]], np.maximum.reduceat(flight, first))
    return peak


def hot_requests(flight: np.ndarray, concurrency: int) -> np.ndarray:
    """Indices of the requests in hot stretches (see the module docstring)."""
    n = len(flight)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    new = np.empty(n, dtype=bool)
    new[0] = True
    new[1:] = flight[1:] == 1  # nothing else in flight: a stretch starts here
    sid = np.cumsum(new) - 1
    hot = np.zeros(int(sid[-1]) + 1, dtype=bool)
    hot[sid[flight > concurrency]] = True
    return np.flatnonzero(hot[sid])


def ready_at(lt: Lifetimes, t: np.ndarray) -> np.ndarray:
    """Instances ready (and not yet ended) at each time ``t``."""
    r = np.searchsorted(np.sort(lt.ready), t, side="right")
    e = np.searchsorted(np.sort(lt.end), t, side="right")
    return np.asarray(r - np.minimum(e, r), dtype=np.int64)


class _Slots:
    """The routing state of each instance: requests on it, alive/starting/ready, and the list
    of ready instances with a free slot (swap-removal, positions in ``fpos``)."""

    def __init__(self, n_inst: int, concurrency: int) -> None:
        self.cap = concurrency
        self.occ = [0] * n_inst
        self.state = [0] * n_inst  # 0 not alive, 1 starting, 2 ready
        self.free: list[int] = []  # ready instances with a free slot
        self.fpos = [-1] * n_inst
        self.starting: list[int] = []

    def add_free(self, j: int) -> None:
        self.fpos[j] = len(self.free)
        self.free.append(j)

    def drop_free(self, j: int) -> None:
        free, fpos = self.free, self.fpos
        p = fpos[j]
        last = free.pop()
        if last != j:
            free[p] = last
            fpos[last] = p
        fpos[j] = -1

    def instance_event(self, j: int, kind: int) -> None:
        """Instance ``j`` became alive (``kind`` 0, starting), ready (1) or ended (2)."""
        state = self.state
        if kind == 0:
            state[j] = 1
            self.starting.append(j)
        elif kind == 1:
            if state[j] == 1:
                self.starting.remove(j)
                state[j] = 2
                if self.occ[j] < self.cap:
                    self.add_free(j)
        else:
            if state[j] == 1:
                self.starting.remove(j)
            elif self.fpos[j] >= 0:
                self.drop_free(j)
            state[j] = 0


def _instance_events(lt: Lifetimes) -> tuple[list[float], list[int], list[int]]:
    """(time, kind, instance) of every instance event in time order (kind 0 = alive and
    starting, 1 = ready, 2 = ended; at one time in that order), then an infinite sentinel
    time."""
    n_inst = len(lt)
    ev_t = np.concatenate([lt.start, lt.ready, lt.end])
    ev_kind = np.repeat(np.arange(3), n_inst)
    order = np.lexsort((ev_kind, ev_t))
    ev_time: list[float] = ev_t[order].tolist()
    ev_time.append(float("inf"))
    return ev_time, ev_kind[order].tolist(), np.tile(np.arange(n_inst), 3)[order].tolist()


def route_hot(
    idx: np.ndarray,
    times: np.ndarray,
    svc: np.ndarray,
    u: np.ndarray,
    lt: Lifetimes,
    concurrency: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(wait, slot, cold) of the requests ``idx`` (in arrival order), routed one by one.

    ``cold``: the request waited for a starting instance (it met a cold start); a request that
    queued for a busy instance's free slot waited too but met no cold start. ``slot`` is the
    instance's level - 1 (its place in the autoscaler's stack). State (``_Slots``): each
    instance's occupancy, the list of ready instances with a free slot (kept up to date as
    instances start, become ready and end and as requests finish), and a heap of the
    requests' end times.
    """
    k = len(idx)
    if k == 0 or len(lt) == 0:
        return np.zeros(k), np.zeros(k, dtype=np.int16), np.zeros(k, dtype=bool)
    ev_time, ev_k, ev_j = _instance_events(lt)
    readys = lt.ready.tolist()
    levels = (lt.level - 1).tolist()
    cap = concurrency
    slots = _Slots(len(lt), cap)
    occ, state, free, fpos, starting = (
        slots.occ,
        slots.state,
        slots.free,
        slots.fpos,
        slots.starting,
    )
    heap: list[tuple[float, int]] = []
    push, pop = heapq.heappush, heapq.heappop
    t_l, s_l, u_l = times[idx].tolist(), svc[idx].tolist(), u[idx].tolist()
    w_out, s_out, c_out = [0.0] * k, [0] * k, [False] * k
    inf = float("inf")
    pe = 0
    te = ev_time[0]
    for m in range(k):
        t = t_l[m]
        # finished requests and instance events up to t, in time order
        while True:
            th = heap[0][0] if heap else inf
            if te <= th:
                if te > t:
                    break
                slots.instance_event(ev_j[pe], ev_k[pe])
                pe += 1
                te = ev_time[pe]
            else:
                if th > t:
                    break
                j = pop(heap)[1]
                occ[j] -= 1
                if state[j] == 2 and occ[j] == cap - 1:
                    slots.add_free(j)
        w = 0.0
        if free:
            j = free[int(u_l[m] * len(free))]
        else:
            room = [i for i in starting if occ[i] < cap]
            if room:
                j = min(room, key=readys.__getitem__)
                w = readys[j] - t
                c_out[m] = True
            elif heap:  # all full: queue for the first slot that frees up
                e0, j = pop(heap)
                occ[j] -= 1
                w = e0 - t
            else:  # no instance at all (cannot happen with desired >= 1): serve as is
                w_out[m] = 0.0
                continue
        push(heap, (t + w + s_l[m], j))
        occ[j] += 1
        if occ[j] == cap and fpos[j] >= 0:
            slots.drop_free(j)
        s_out[m] = levels[j]
        w_out[m] = w
    return np.array(w_out), np.array(s_out, dtype=np.int16), np.array(c_out, dtype=bool)


def route_cold(
    times: np.ndarray, lt: Lifetimes, next_ready_s: np.ndarray, starting_s: np.ndarray
) -> np.ndarray:
    """Waits of requests outside hot stretches: a request waits only when no instance is
    ready at its arrival, for the soonest starting one."""
    wait = np.zeros(len(times))
    n = len(starting_s)
    sec = np.minimum(times.astype(np.int64), n - 1)
    cand = np.flatnonzero(starting_s[sec])
    if len(cand) == 0:
        return wait
    tc = times[cand]
    nxt = next_ready_s[sec[cand]]
    meet = (ready_at(lt, tc) == 0) & np.isfinite(nxt) & (nxt > tc)
    wait[cand[meet]] = nxt[meet] - tc[meet]
    return wait
