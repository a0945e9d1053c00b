"""Reference timing for train's BenchmarkCNNStep: the Keras simple MNIST
convnet (conv 32 3x3 ReLU, max-pool 2, conv 64 3x3 ReLU, max-pool 2,
dropout 0.5, dense 1600->10) trained with Adam 1e-3 on random 1x28x28
images, batch 128, 20 steps per epoch, best of several epochs after a
warm-up. Prints microseconds per step, wall and process CPU time.

    /usr/bin/python3 bench/torch_cnnstep.py [threads]
Reference figures only; the project never depends on Python.
"""
import sys
import time

import torch
from torch import nn

torch.manual_seed(1)
torch.set_num_threads(int(sys.argv[1]) if len(sys.argv) > 1 else 2)
STEPS, B = 20, 128
x = torch.rand(STEPS * B, 1, 28, 28)
y = torch.randint(0, 10, (STEPS * B,))
model = nn.Sequential(
    nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
    nn.Flatten(), nn.Dropout(0.5), nn.Linear(64 * 5 * 5, 10))
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
loss_fn = nn.CrossEntropyLoss()


def epoch():
    perm = torch.randperm(STEPS * B)
    model.train()
    for i in range(0, STEPS * B, B):
        idx = perm[i:i + B]
        opt.zero_grad()
        loss = loss_fn(model(x[idx]), y[idx])
        loss.backward()
        opt.step()


epoch()
best = best_cpu = float("inf")
for _ in range(3):
    t, c = time.perf_counter(), time.process_time()
    epoch()
    best = min(best, time.perf_counter() - t)
    best_cpu = min(best_cpu, time.process_time() - c)
# The process's CPU time per step is steady on a shared machine with one
# thread (with more, it includes the threads' spinning).
print(f"torch {torch.__version__} cnnstep: {best / STEPS * 1e6:.0f} us/step, threads={torch.get_num_threads()} cpu {best_cpu / STEPS * 1e6:.0f} us/step")
