"""Reference timing for train's BenchmarkInfer: PyTorch inference (eval
mode, torch.no_grad) of the same models at the same batch sizes, one
batch per call, best of several timed loops after a warm-up. Prints one
line per row, microseconds per batch:

    torch 1.13.1 infer mlp/b=1: 83.1 us/batch, threads=1 cpu 82.9 us/batch

(the thread's CPU time is printed for one thread only).

    /usr/bin/python3 bench/torch_infer.py [threads] [filter]

The models: the MNIST MLP (784-128-10, ReLU), the Keras simple MNIST
convnet, and a nanoGPT-style character model shaped like examples/char-gpt
(4 blocks, width 128, 4 heads, 128 positions, 92 tokens) run over full
windows. Reference figures only; the project never depends on Python.
"""
import math
import re
import sys
import time

import torch
from torch import nn
from torch.nn import functional as F

threads = int(sys.argv[1]) if len(sys.argv) > 1 else 1
only = re.compile(sys.argv[2]) if len(sys.argv) > 2 else None
torch.set_num_threads(threads)
torch.manual_seed(1)


class Block(nn.Module):
    def __init__(self, e, heads):
        super().__init__()
        self.heads = heads
        self.ln_1, self.ln_2 = nn.LayerNorm(e), nn.LayerNorm(e)
        self.c_attn, self.c_proj = nn.Linear(e, 3 * e), nn.Linear(e, e)
        self.c_fc, self.mlp_proj = nn.Linear(e, 4 * e), nn.Linear(4 * e, e)

    def attn(self, x):
        b, t, e = x.shape
        q, k, v = self.c_attn(x).split(e, dim=2)
        q = q.view(b, t, self.heads, e // self.heads).transpose(1, 2)  # (B, nh, T, hs)
        k = k.view(b, t, self.heads, e // self.heads).transpose(1, 2)
        v = v.view(b, t, self.heads, e // self.heads).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) / math.sqrt(k.size(-1))  # (B, nh, T, T)
        mask = torch.ones(t, t, dtype=torch.bool).triu(1)
        att = F.softmax(att.masked_fill(mask, float("-inf")), dim=-1)
        y = (att @ v).transpose(1, 2).contiguous().view(b, t, e)  # (B, T, E)
        return self.c_proj(y)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x))))


class GPT(nn.Module):
    def __init__(self, vocab=92, block=128, layers=4, e=128, heads=4):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(vocab, e), nn.Embedding(block, e)
        self.h = nn.ModuleList(Block(e, heads) for _ in range(layers))
        self.ln_f = nn.LayerNorm(e)
        self.lm_head = nn.Linear(e, vocab, bias=False)

    def forward(self, idx):
        x = self.wte(idx) + self.wpe(torch.arange(idx.shape[1]))
        for b in self.h:
            x = b(x)
        return self.lm_head(self.ln_f(x))


rows = [
    ("mlp", nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10)),
     (1, 64), lambda n: torch.rand(n, 1, 28, 28)),
    ("convnet", nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Dropout(0.5), nn.Linear(64 * 5 * 5, 10)),
     (1, 64), lambda n: torch.rand(n, 1, 28, 28)),
    ("chargpt", GPT(), (1, 32), lambda n: torch.randint(0, 92, (n, 128))),
]

for name, model, batches, draw in rows:
    model.eval()
    for n in batches:
        row = f"{name}/b={n}"
        if only and not only.search(row):
            continue
        x = draw(n)
        with torch.no_grad():
            t0 = time.perf_counter()
            model(x)
            once = time.perf_counter() - t0
            reps = max(1, min(2000, int(0.1 / max(once, 1e-6))))
            for _ in range(reps):
                model(x)
            best, best_cpu = float("inf"), float("inf")
            for _ in range(5):
                t0, c0 = time.perf_counter(), time.thread_time()
                for _ in range(reps):
                    model(x)
                best = min(best, (time.perf_counter() - t0) / reps)
                best_cpu = min(best_cpu, (time.thread_time() - c0) / reps)
        # With one thread the work runs on this thread: its CPU time is
        # steady on a shared machine, where wall time is not.
        cpu = f" cpu {best_cpu * 1e6:.1f} us/batch" if threads == 1 else ""
        print(f"torch {torch.__version__} infer {row}: {best * 1e6:.1f} us/batch, threads={torch.get_num_threads()}{cpu}", flush=True)
