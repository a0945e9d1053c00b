#!/usr/bin/env python3
"""PyTorch's own batch-1 inference time for the two convnets the onnx
package runs, to set beside

    go test ./onnx -run '^$' -bench ConvnetBatch1 -benchtime 2000x
    go run ./examples/onnx

Usage: python3 onnx/testdata/bench_torch.py [threads, default 1]
(Wall time and process CPU time, the figure to compare on a loaded machine.)
(Debian's python3-torch 1.13; eval mode, no_grad, one image at a time.)
"""
import os
import sys
import time

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen import KerasCNN  # noqa: E402

threads = int(sys.argv[1]) if len(sys.argv) > 1 else 1
torch.set_num_threads(threads)
torch.manual_seed(0)
models = {
    "keras convnet (testdata/convnet.onnx)": KerasCNN(),
    "examples/onnx MNIST CNN": nn.Sequential(
        nn.Conv2d(1, 8, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(400, 10)),
}
x = torch.randn(1, 1, 28, 28)
for name, m in models.items():
    m.eval()
    with torch.no_grad():
        for _ in range(200):
            m(x)
        best = cpu = float("inf")
        for _ in range(5):
            t0, c0 = time.perf_counter(), time.process_time()
            for _ in range(1000):
                m(x)
            best = min(best, (time.perf_counter() - t0) / 1000)
            cpu = min(cpu, (time.process_time() - c0) / 1000)
    print(f"{name}: {best * 1e6:.1f} µs per image, {cpu * 1e6:.1f} µs of process CPU time "
          f"({threads} thread(s), best of 5×1000)")
