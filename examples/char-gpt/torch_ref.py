"""PyTorch reference for examples/char-gpt and examples/char-lstm.

Builds the same models (nanoGPT-style GPT: 4 pre-norm blocks, 4 heads,
d=128, context 128, untied head; LSTM LM: embedding 64, 2 layers of 256)
and reports training throughput in tokens/s for batches of 32 windows of
128 characters (forward, cross-entropy, backward, clipping at 1, AdamW),
and, with --steps N, the validation loss in nats and bits per character
after N steps of the examples' recipe on Newton's Opticks (the last 10%
held out, the first --val windows of 128 of it scored).

    python3 examples/char-gpt/torch_ref.py --threads 2 --bench 5
    python3 examples/char-gpt/torch_ref.py --threads 2 --steps 300 --model gpt

Needs torch (1.13 tested). Not run by the Go tests.
"""
import argparse
import math
import os
import subprocess
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.ln_1 = nn.LayerNorm(d)
        self.c_attn = nn.Linear(d, 3 * d)
        self.c_proj = nn.Linear(d, d)
        self.ln_2 = nn.LayerNorm(d)
        self.c_fc = nn.Linear(d, 4 * d)
        self.mlp_proj = nn.Linear(4 * d, d)
        self.heads = heads

    def forward(self, x):
        b, t, d = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(d, dim=2)
        q, k, v = (z.view(b, t, self.heads, d // self.heads).transpose(1, 2) for z in (q, k, v))
        att = (q @ k.transpose(-2, -1)) / math.sqrt(d // self.heads)
        mask = torch.ones(t, t, dtype=torch.bool).tril()
        att = att.masked_fill(~mask, float("-inf")).softmax(-1)
        y = (att @ v).transpose(1, 2).reshape(b, t, d)
        x = x + self.c_proj(y)
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x))))


class GPT(nn.Module):
    def __init__(self, vocab, context=128, layers=4, d=128, heads=4):
        super().__init__()
        self.wte = nn.Embedding(vocab, d)
        self.wpe = nn.Embedding(context, d)
        self.h = nn.ModuleList(Block(d, heads) for _ in range(layers))
        self.ln_f = nn.LayerNorm(d)
        self.lm_head = nn.Linear(d, vocab, bias=False)
        for name, p in self.named_parameters():
            if p.dim() == 2:
                std = 0.02 / math.sqrt(2 * layers) if name.endswith(("c_proj.weight", "mlp_proj.weight")) else 0.02
                nn.init.normal_(p, 0, std)
            elif name.endswith(".bias") and "ln" not in name:
                nn.init.zeros_(p)

    def forward(self, idx):
        t = idx.shape[1]
        x = self.wte(idx) + self.wpe(torch.arange(t))
        for b in self.h:
            x = b(x)
        return self.lm_head(self.ln_f(x))


class LSTMLM(nn.Module):
    def __init__(self, vocab, embed=64, hidden=256, layers=2):
        super().__init__()
        self.embed = nn.Embedding(vocab, embed)
        self.rnn = nn.LSTM(embed, hidden, layers, batch_first=True)
        self.head = nn.Linear(hidden, vocab)

    def forward(self, idx):
        return self.head(self.rnn(self.embed(idx))[0])


def corpus():
    root = subprocess.run(["go", "env", "GOROOT"], capture_output=True, text=True).stdout.strip()
    text = open(os.path.join(root, "src", "testdata", "Isaac.Newton-Opticks.txt"), encoding="utf-8").read()
    chars = sorted(set(text))
    lut = {c: i for i, c in enumerate(chars)}
    ids = torch.tensor([lut[c] for c in text])
    return ids, len(chars) + 1  # + the unknown id, as text.Chars


def make(kind, vocab):
    return GPT(vocab) if kind == "gpt" else LSTMLM(vocab)


def step(model, opt, x, y):
    logits = model(x)
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    return loss.item()


def bench(kind, n, vocab=92, b=32, t=128):
    torch.manual_seed(1)
    model = make(kind, vocab)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    x = torch.randint(vocab, (b, t))
    y = torch.randint(vocab, (b, t))
    step(model, opt, x, y)  # warm up
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(n):
        step(model, opt, x, y)
    dt = (time.perf_counter() - t0) / n
    dc = (time.process_time() - c0) / n
    # cpu-tokens/s counts the process's CPU time, all threads together,
    # like the Go benchmarks' metric of that name: steadier than wall time
    # on a shared machine (OpenMP's spinning threads count as CPU time).
    print(f"{kind}: {dt*1000:.0f} ms/step, {b*t/dt:.0f} tokens/s, {b*t/dc:.0f} cpu-tokens/s "
          f"(B={b}, T={t}, {torch.get_num_threads()} threads)")


def train(kind, steps, lr, warmup, val_windows, b=32, t=128):
    ids, vocab = corpus()
    cut = len(ids) - int(len(ids) * 0.1)
    tr, va = ids[:cut], ids[cut:]
    torch.manual_seed(1)
    model = make(kind, vocab)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, betas=(0.9, 0.99), weight_decay=0.1)
    g = torch.Generator().manual_seed(1)
    t0 = time.perf_counter()
    for s in range(steps):
        w = min(warmup, steps - 1)
        f = s / w if s < w else 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * (s - w) / (steps - w)))
        for group in opt.param_groups:
            group["lr"] = lr * f
        starts = torch.randint(len(tr) - t - 1, (b,), generator=g)
        x = torch.stack([tr[i:i + t] for i in starts])
        y = torch.stack([tr[i + 1:i + t + 1] for i in starts])
        loss = step(model, opt, x, y)
        if (s + 1) % 25 == 0:
            print(f"step {s+1}: loss {loss:.4f}")
    n = (len(va) - 1) // t
    idx = [i * n // val_windows for i in range(val_windows)] if val_windows and val_windows < n else range(n)
    x = torch.stack([va[i * t:(i + 1) * t] for i in idx])
    y = torch.stack([va[i * t + 1:(i + 1) * t + 1] for i in idx])
    with torch.no_grad():
        logits = model(x)
        vl = F.cross_entropy(logits.reshape(-1, vocab), y.reshape(-1)).item()
    print(f"{kind}: {steps} steps in {time.perf_counter()-t0:.0f}s; validation {vl:.4f} nats/char, {vl/math.log(2):.4f} bits/char")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--bench", type=int, default=5, help="timed steps per model (0: skip)")
    ap.add_argument("--steps", type=int, default=0, help="train this many steps on the Opticks and report the validation loss")
    ap.add_argument("--model", default="gpt", choices=["gpt", "lstm"])
    ap.add_argument("--val", type=int, default=128)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    if a.bench:
        for kind in ("gpt", "lstm"):
            bench(kind, a.bench)
    if a.steps:
        lr = 2e-3 if a.model == "gpt" else 3e-3
        train(a.model, a.steps, lr, 30, a.val)
