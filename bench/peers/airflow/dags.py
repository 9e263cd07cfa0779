"""Airflow peer for S1 (chain of no-op tasks) and S2 (fan-out + fan-in).

Usage: dags.py <s1_nodes> <s2_width>; prints one JSON line. Runs each DAG with dag.test(): Airflow's local,
in-process execution (no scheduler, no executor; task instances still go through the metadata DB, SQLite here).
"""
import json
import resource
import sys
import time
from datetime import datetime

from airflow import DAG
from airflow.operators.empty import EmptyOperator
from airflow.operators.python import PythonOperator
from airflow.utils.session import create_session


def noop():
    return None


def make_dag(dag_id):
    return DAG(dag_id, start_date=datetime(2024, 1, 1), schedule=None, catchup=False)


def chain_dag(n):
    with make_dag(f"bench_chain_{n}_{int(time.time())}") as dag:
        prev = None
        for i in range(n):
            t = PythonOperator(task_id=f"n{i}", python_callable=noop)
            if prev is not None:
                prev >> t
            prev = t
    return dag


def fan_dag(width):
    with make_dag(f"bench_fan_{width}_{int(time.time())}") as dag:
        root = PythonOperator(task_id="root", python_callable=noop)
        sink = PythonOperator(task_id="sink", python_callable=noop)
        for i in range(width):
            root >> PythonOperator(task_id=f"w{i}", python_callable=noop) >> sink
    return dag


def end_times(dag_run):
    with create_session() as session:
        tis = dag_run.get_task_instances(session=session)
        return sorted(ti.end_date.timestamp() * 1000 for ti in tis if ti.end_date), [ti.state for ti in tis]


def percentile(values, p):
    s = sorted(values)
    rank = max(0, min(len(s) - 1, -(-p * len(s) // 100) - 1))
    return s[int(rank)]


def main():
    n, width = int(sys.argv[1]), int(sys.argv[2])
    t0 = time.perf_counter()
    dr = chain_dag(n).test()
    s1_ms = (time.perf_counter() - t0) * 1000
    ends, states = end_times(dr)
    steps = [b - a for a, b in zip(ends, ends[1:])]
    ok1 = states.count("success")

    t0 = time.perf_counter()
    dr = fan_dag(width).test()
    s2_ms = (time.perf_counter() - t0) * 1000
    _, states2 = end_times(dr)
    ok2 = states2.count("success")

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({
        "s1": {"nodes": n, "makespanMs": s1_ms, "perNodeP50Ms": percentile(steps, 50), "perNodeP95Ms": percentile(steps, 95),
               "perNodeMeanMs": s1_ms / n, "peakRssBytes": peak},
        "s2": {"width": width, "makespanMs": s2_ms, "tasksPerSec": (width + 2) * 1000 / s2_ms, "perNodeMeanMs": s2_ms / (width + 2),
               "peakRssBytes": peak},
        "notes": [
            f"dag.test(): local in-process execution, one task at a time, SQLite metadata DB; not the scheduler of `airflow standalone`; "
            f"succeeded {ok1}/{n} chain tasks and {ok2}/{width + 2} fan-out tasks; step = gap between consecutive task end_date"
        ],
    }))


if __name__ == "__main__":
    main()
