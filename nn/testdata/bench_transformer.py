#!/usr/bin/env python3
"""PyTorch reference for BenchmarkTransformerEncoderLayer (nn/seq_bench_test.go).

One training step (forward and backward, causal mask, no dropout) of a
pre-norm nn.TransformerEncoderLayer, d=128, 4 heads, feed-forward 512,
batch 32, 128 tokens, float32, on as many threads as Go uses:

    python3 nn/testdata/bench_transformer.py [threads]
"""
import sys
import time

import torch
import torch.nn as nn

threads = int(sys.argv[1]) if len(sys.argv) > 1 else torch.get_num_threads()
torch.set_num_threads(threads)
torch.manual_seed(1)
B, T, D = 32, 128, 128
layer = nn.TransformerEncoderLayer(D, 4, dim_feedforward=4 * D, dropout=0.0, batch_first=True, norm_first=True)
x = torch.randn(B, T, D)
proj = torch.randn(B, T, D)
mask = torch.ones(T, T, dtype=torch.bool).triu(1)


def step():
    y = layer(x, src_mask=mask)
    (y * proj).sum().backward()
    layer.zero_grad(set_to_none=False)


for _ in range(2):
    step()
n = 10
t0 = time.perf_counter()
for _ in range(n):
    step()
dt = (time.perf_counter() - t0) / n
print(f"torch {torch.__version__} threads={threads}: {dt * 1e9:.0f} ns/op ({dt * 1e3:.1f} ms/step)")
