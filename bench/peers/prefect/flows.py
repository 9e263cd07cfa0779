"""Prefect peer for S1 (chain of no-op tasks) and S2 (fan-out + fan-in), in Prefect's default local mode.

Usage: flows.py <s1_nodes> <s2_width>; prints one JSON line. With no PREFECT_API_URL, Prefect 3 starts a
temporary local API server (SQLite) in a subprocess on first use; a one-task warm-up flow absorbs that start.
"""
import json
import resource
import sys
import time

from prefect import flow, task


@task
def noop(i):
    return time.perf_counter()


@flow
def chain(n):
    return [noop(i) for i in range(n)]


@flow
def fan_out_in(width):
    noop("root")
    futures = [noop.submit(i) for i in range(width)]
    for f in futures:
        f.result()
    return noop("sink")


def percentile(values, p):
    s = sorted(values)
    rank = max(0, min(len(s) - 1, -(-p * len(s) // 100) - 1))
    return s[int(rank)]


def main():
    n, width = int(sys.argv[1]), int(sys.argv[2])
    t0 = time.perf_counter()
    chain(1)
    warmup_ms = (time.perf_counter() - t0) * 1000

    t0 = time.perf_counter()
    ends = chain(n)
    s1_ms = (time.perf_counter() - t0) * 1000
    steps = [(b - a) * 1000 for a, b in zip(ends, ends[1:])]

    t0 = time.perf_counter()
    fan_out_in(width)
    s2_ms = (time.perf_counter() - t0) * 1000

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({
        "s1": {"nodes": n, "makespanMs": s1_ms, "perNodeP50Ms": percentile(steps, 50), "perNodeP95Ms": percentile(steps, 95),
               "perNodeMeanMs": s1_ms / n, "peakRssBytes": peak},
        "s2": {"width": width, "makespanMs": s2_ms, "tasksPerSec": (width + 2) * 1000 / s2_ms, "perNodeMeanMs": s2_ms / (width + 2),
               "peakRssBytes": peak},
        "notes": [
            f"default local mode: flows run in-process against a temporary local API server (SQLite) that Prefect starts itself; "
            f"first flow incl. server start {warmup_ms:.0f} ms (excluded); makespan = flow call wall time; step = gap between consecutive task returns; "
            f"RSS = the flow process only (not the API server subprocess)"
        ],
    }))


if __name__ == "__main__":
    main()
