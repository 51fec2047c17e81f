#!/usr/bin/env python3
"""verify_callback calls per second through the component (warm; median of 5 runs).

    .venv/bin/python bench.py [--calls 20000] [--runs 5]

``.venv`` is the one test.sh makes, with the built wheel installed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import usdt_recharge as ur

SECRET = "bench-secret"


def bench(rc: ur.Recharge, body: str, now: int, calls: int, runs: int) -> float:
    for _ in range(min(calls, 2000)):  # warm-up
        rc.verify_callback(body, SECRET, now=now)
    rates = []
    for _ in range(runs):
        start = time.perf_counter()
        for _ in range(calls):
            rc.verify_callback(body, SECRET, now=now)
        rates.append(calls / (time.perf_counter() - start))
    return statistics.median(rates)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--calls", type=int, default=20_000)
    p.add_argument("--runs", type=int, default=5)
    args = p.parse_args()
    now = int(time.time())
    body = ur.build_callback_body(orderid="shop-20250905-bench1", localusermark="uid-42",
                                  amount=1_005_000, t=now, secret=SECRET)
    from importlib.metadata import version
    print(f"python {sys.version.split()[0]}, wasmtime {version('wasmtime')}, body {len(body)} bytes")
    t0 = time.perf_counter()
    rc = ur.Recharge()
    print(f"compile + instantiate: {time.perf_counter() - t0:.3f} s")
    rate = bench(rc, body, now, args.calls, args.runs)
    print(f"verify_callback (public Func.__call__): {rate:,.0f} calls/s "
          f"(median of {args.runs} x {args.calls})")

if __name__ == "__main__":
    main()
