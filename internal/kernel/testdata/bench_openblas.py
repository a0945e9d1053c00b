#!/usr/bin/env python3
"""Times numpy float32 matmul (OpenBLAS sgemm) on the shapes of BenchmarkMatMul.

Usage (from the repository root):

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 internal/kernel/testdata/bench_openblas.py

It runs each shape with 1 and 2 OpenBLAS threads (through threadpoolctl when
it is installed, else by re-running itself with OPENBLAS_NUM_THREADS) and
prints GFLOP/s, best of several repeats, in the same naming as the Go
benchmark.

    bench_openblas.py --threads 1 --shapes 512x512x512,512TN

runs only the named shapes with the given thread count (bench/gemm_ab.sh
interleaves such short runs with the Go benchmark).
"""
import os
import subprocess
import sys
import time

import numpy as np

# name, m, k, n, transA, transB
SHAPES = [
    ("128x128x128", 128, 128, 128, False, False),
    ("256x256x256", 256, 256, 256, False, False),
    ("512x512x512", 512, 512, 512, False, False),
    ("1024x1024x1024", 1024, 1024, 1024, False, False),
    ("64x784x128", 64, 784, 128, False, False),
    ("64x128x10", 64, 128, 10, False, False),
    ("784x64x128", 784, 64, 128, True, False),
    ("64x128x784", 64, 128, 784, False, True),
    ("1x784x128", 1, 784, 128, False, False),
    ("1x128x784T", 1, 128, 784, False, True),
    ("64x784x128T", 64, 784, 128, False, True),
    ("128x64x784TA", 128, 64, 784, True, False),
    ("64x128x10T", 64, 128, 10, False, True),
    ("10x64x128TA", 10, 64, 128, True, False),
    ("64x10x128", 64, 10, 128, False, False),
    ("128x64x10TA", 128, 64, 10, True, False),
    ("64x10x128T", 64, 10, 128, False, True),
    ("512TN", 512, 512, 512, True, False),
    ("512NT", 512, 512, 512, False, True),
    ("512TT", 512, 512, 512, True, True),
    ("1024TN", 1024, 1024, 1024, True, False),
    ("1024NT", 1024, 1024, 1024, False, True),
    ("1024TT", 1024, 1024, 1024, True, True),
]


def bench(m, k, n, ta, tb, rng):
    a = rng.standard_normal((k, m) if ta else (m, k)).astype(np.float32)
    b = rng.standard_normal((n, k) if tb else (k, n)).astype(np.float32)
    opa = a.T if ta else a
    opb = b.T if tb else b
    out = np.empty((m, n), dtype=np.float32)
    flops = 2.0 * m * n * k
    reps = max(1, int(2e8 / flops))
    best = best_cpu = 0.0
    for _ in range(5):
        t0, c0 = time.perf_counter(), time.thread_time()
        for _ in range(reps):
            np.matmul(opa, opb, out=out)
        dt, dc = time.perf_counter() - t0, time.thread_time() - c0
        best = max(best, flops * reps / dt / 1e9)
        if dc > 0:
            best_cpu = max(best_cpu, flops * reps / dc / 1e9)
    return best, best_cpu


def run(threads, only=None):
    # With one thread OpenBLAS computes on this thread, so its CPU time is
    # the work's: "cpu" GFLOP/s stay steady on a shared machine.
    rng = np.random.default_rng(1)
    for name, m, k, n, ta, tb in SHAPES:
        if only is not None and name not in only:
            continue
        g, gc = bench(m, k, n, ta, tb, rng)
        line = f"openblas threads={threads} {name:16s} {g:8.2f} GFLOP/s"
        if threads == 1:
            line += f" {gc:8.2f} cpuGFLOP/s"
        print(line, flush=True)


def main():
    args = sys.argv[1:]
    if args and args[0] == "--child":
        only = set(args[1].split(",")) if len(args) > 1 and args[1] else None
        run(int(os.environ.get("OPENBLAS_NUM_THREADS", "1")), only)
        return
    threads, only = (1, 2), None
    while args:
        if args[0] == "--threads" and len(args) > 1:
            threads = (int(args[1]),)
        elif args[0] == "--shapes" and len(args) > 1:
            only = set(args[1].split(","))
            unknown = only - {s[0] for s in SHAPES}
            if unknown:
                sys.exit("bench_openblas.py: unknown shapes %s" % ",".join(sorted(unknown)))
        else:
            sys.exit("usage: bench_openblas.py [--threads N] [--shapes a,b,...]")
        args = args[2:]
    try:
        from threadpoolctl import threadpool_info, threadpool_limits
    except ImportError:
        threadpool_limits = None
    if threadpool_limits is None:
        for t in threads:
            env = dict(os.environ, OPENBLAS_NUM_THREADS=str(t))
            subprocess.run([sys.executable, __file__, "--child", ",".join(sorted(only or ()))], env=env, check=True)
        return
    for info in threadpool_info():
        print("# %s %s: %s, coretype %s" % (info.get("internal_api"), info.get("version"),
              info.get("filepath"), info.get("architecture")), flush=True)
    for t in threads:
        with threadpool_limits(limits=t, user_api="blas"):
            run(t, only)


if __name__ == "__main__":
    main()
