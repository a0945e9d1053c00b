"""Reference timing for nn's BenchmarkLSTMTrainStep and
BenchmarkLSTMInference: a two-layer torch.nn.LSTM (input 64, hidden 256)
over T=128 steps of a batch of 32, float32, forward and backward of
sum(out * w) (and the forward alone under no_grad).

Run with Debian's python3-torch, giving the thread counts to time
(default 1 and 2; compare with the Go benchmark's -cpu 1,2):
    /usr/bin/python3 nn/testdata/bench_lstm_torch.py [1,2]
On a machine shared with other work, OpenMP's waiting threads make
PyTorch's multi-threaded figure far worse than its single-threaded one.
Reference figures only; the project never depends on Python.
"""
import sys
import time

import torch

T, B, I, H = 128, 32, 64, 256


def main():
    threads = [int(t) for t in (sys.argv[1] if len(sys.argv) > 1 else "1,2").split(",")]
    torch.manual_seed(1)
    m = torch.nn.LSTM(I, H, num_layers=2)
    x = torch.randn(T, B, I)
    w = torch.randn(T, B, H)

    def train_step():
        m.zero_grad()
        out, _ = m(x)
        (out * w).sum().backward()

    def infer():
        with torch.no_grad():
            m(x)

    for n_threads in threads:
        torch.set_num_threads(n_threads)
        for name, f in (("train step", train_step), ("inference", infer)):
            f()  # warm-up
            n, t0 = 0, time.perf_counter()
            while n < 2 or time.perf_counter() - t0 < 3:
                f()
                n += 1
            dt = (time.perf_counter() - t0) / n
            print(f"torch {torch.__version__} threads={n_threads} LSTM {name}: "
                  f"{dt * 1e3:.1f} ms/op, {T * B / dt:,.0f} tokens/s ({n} runs)")


main()
