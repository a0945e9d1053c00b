"""Reference timing for nn's BenchmarkLSTMTrainStep and
BenchmarkLSTMInference: a two-layer torch.nn.LSTM (input 64, hidden 256)
over T=128 steps of a batch of 32, float32, forward and backward of
sum(out * w) (and the forward alone under no_grad), on 2 threads.

Run with Debian's python3-torch:
    /usr/bin/python3 nn/testdata/bench_lstm_torch.py
Reference figures only; the project never depends on Python.
"""
import time

import torch

torch.manual_seed(1)
torch.set_num_threads(2)
T, B, I, H = 128, 32, 64, 256
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


for name, f in (("train step", train_step), ("inference", infer)):
    for _ in range(1):
        f()
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < 3:
        f()
        n += 1
    dt = (time.perf_counter() - t0) / n
    print(f"torch {torch.__version__} LSTM {name}: {dt * 1e3:.1f} ms/op, {T * B / dt:,.0f} tokens/s ({n} runs)")
