"""Reference timing: one training epoch of the flagship MLP and of the
LeNet-style CNN in PyTorch, on the same shapes as train's BenchmarkEpochMLP
and BenchmarkEpochCNN (48,000 random 1x28x28 images, batch 64, Adam 1e-3).

Run with Debian's python3-torch:
    /usr/bin/python3 train/testdata/torch_epoch.py [mlp|cnn|both] [threads]
threads defaults to 2. Besides wall time it prints the process CPU time
per epoch, which with one thread stays steady on a shared machine.
Reference figures only; the project never depends on Python.
"""
import sys
import time

import torch
from torch import nn

torch.manual_seed(1)
torch.set_num_threads(int(sys.argv[2]) if len(sys.argv) > 2 else 2)
N, B = 48000, 64
x = torch.rand(N, 1, 28, 28)
y = torch.randint(0, 10, (N,))


def mlp():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))


def cnn():
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Dropout(0.25), nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10))


def epoch(model, opt, loss_fn):
    perm = torch.randperm(N)
    model.train()
    for i in range(0, N, B):
        idx = perm[i:i + B]
        opt.zero_grad()
        loss = loss_fn(model(x[idx]), y[idx])
        loss.backward()
        opt.step()


def run(name, make, epochs):
    model = make()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    epoch(model, opt, loss_fn)  # warm-up
    best = best_cpu = float("inf")
    for _ in range(epochs):
        t, c = time.perf_counter(), time.process_time()
        epoch(model, opt, loss_fn)
        best = min(best, time.perf_counter() - t)
        best_cpu = min(best_cpu, time.process_time() - c)
    print(f"torch {torch.__version__} {name}: {best:.3f} s/epoch ({best / (N / B) * 1e6:.0f} us/step), threads={torch.get_num_threads()}, cpu {best_cpu:.3f} s/epoch")


which = sys.argv[1] if len(sys.argv) > 1 else "both"
if which in ("mlp", "both"):
    run("mlp", mlp, 3)
if which in ("cnn", "both"):
    run("cnn", cnn, 1)
