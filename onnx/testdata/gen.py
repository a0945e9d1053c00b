#!/usr/bin/env python3
"""Writes the ONNX fixtures the onnx package's tests read.

Run from the repository root with torch 1.13 and onnx installed:

    python3 onnx/testdata/gen.py            # test fixtures
    python3 onnx/testdata/gen.py mnist      # retrain examples/onnx/mnist_cnn.onnx

Each model NAME is exported with torch.onnx.export (dynamic batch axis) to
NAME.onnx beside this script, with NAME.json holding cases: inputs and the
outputs PyTorch computed for them, at the export batch size and at another.
Floats are written with Python's repr of the float32 value, so they parse
back exactly.
"""
import gzip
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
torch.set_num_threads(1)


def arr(t):
    t = t.detach()
    if t.dtype in (torch.int64, torch.int32):
        return {"shape": list(t.shape), "dtype": "int64", "data": [int(v) for v in t.reshape(-1).tolist()]}
    a = t.float().numpy().reshape(-1)
    return {"shape": list(t.shape), "dtype": "float32", "data": [float(np.float32(v)) for v in a]}


def export(name, model, inputs, opset, batches, in_names=None, out_names=None, make=None):
    """Exports model on inputs (batch 0 dynamic) and records its outputs at each batch size."""
    model.eval()
    in_names = in_names or ["x"]
    out_names = out_names or ["y"]
    dyn = {n: {0: "batch"} for n in in_names + out_names}
    torch.onnx.export(model, tuple(inputs), os.path.join(HERE, name + ".onnx"), opset_version=opset,
                      input_names=in_names, output_names=out_names, dynamic_axes=dyn)
    cases = []
    g = torch.Generator().manual_seed(len(name))
    for b in batches:
        xs = make(b, g)
        with torch.no_grad():
            ys = model(*xs)
        if not isinstance(ys, tuple):
            ys = (ys,)
        cases.append({"inputs": {n: arr(x) for n, x in zip(in_names, xs)},
                      "outputs": {n: arr(y) for n, y in zip(out_names, ys)}})
    with open(os.path.join(HERE, name + ".json"), "w") as f:
        json.dump({"opset": opset, "cases": cases}, f, separators=(",", ":"))
    print(name, "written")


def randn(*shape):
    return lambda b, g: (torch.randn(b, *shape, generator=g),)


class Ops(nn.Module):
    """Elementwise, shape and reduction ops, with two outputs."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.randn(12, 6))
        self.lin = nn.Linear(6, 4)

    def forward(self, x):  # x: [N, 3, 4]
        h = x.view(x.size(0), -1)  # Shape Gather Unsqueeze Concat Reshape
        a = torch.sigmoid(h) * 2 - h / 3 + 0.5
        b = F.leaky_relu(h, 0.1)
        m = a @ self.w + b[:, 2:8]  # MatMul Slice
        t = x.transpose(1, 2)  # Transpose [N, 4, 3]
        u = torch.tanh(t).sum(dim=2) if False else torch.tanh(t)
        s = torch.softmax(self.lin(m), dim=-1)
        return s, torch.log_softmax(u, dim=1)


class KerasCNN(nn.Module):
    """The Keras "simple MNIST convnet"."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Dropout(0.5), nn.Linear(1600, 10))

    def forward(self, x):
        return self.features(x)


class BNCNN(nn.Module):
    """Convolutions with batch normalization (eval), average pooling, padding and stride."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.BatchNorm2d(8), nn.AvgPool2d(2),
            nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.Sigmoid(), nn.BatchNorm2d(16),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 5))
        for m in self.net:
            if isinstance(m, nn.BatchNorm2d):
                with torch.no_grad():
                    m.running_mean.uniform_(-0.5, 0.5)
                    m.running_var.uniform_(0.5, 2)
                    m.weight.uniform_(0.5, 1.5)
                    m.bias.uniform_(-0.5, 0.5)

    def forward(self, x):
        return self.net(x)


class TinyGPT(nn.Module):
    """A one-block GPT over int64 token ids [N, T], with dynamic N and T."""

    def __init__(self, vocab=16, d=8, heads=2, maxlen=16):
        super().__init__()
        self.d, self.heads = d, heads
        self.tok = nn.Embedding(vocab, d)
        self.pos = nn.Embedding(maxlen, d)
        self.ln1 = nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.ln2 = nn.LayerNorm(d)
        self.fc = nn.Linear(d, 4 * d)
        self.out = nn.Linear(4 * d, d)
        self.lnf = nn.LayerNorm(d)
        self.head = nn.Linear(d, vocab, bias=False)

    def forward(self, idx):
        B, T = idx.shape
        hs = self.d // self.heads
        x = self.tok(idx) + self.pos(torch.arange(T))  # Gather, Range
        q, k, v = self.qkv(self.ln1(x)).split(self.d, dim=2)  # LayerNormalization, Split
        q = q.view(B, T, self.heads, hs).transpose(1, 2)  # (B, nh, T, hs)
        k = k.view(B, T, self.heads, hs).transpose(1, 2)
        v = v.view(B, T, self.heads, hs).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) / math.sqrt(hs)  # (B, nh, T, T)
        mask = torch.tril(torch.ones(T, T))  # ConstantOfShape, Trilu
        att = att.masked_fill(mask == 0, float("-inf")).softmax(dim=-1)  # Equal, Where
        y = (att @ v).transpose(1, 2).reshape(B, T, self.d)
        x = x + self.proj(y)
        x = x + self.out(F.gelu(self.fc(self.ln2(x))))  # Erf
        x = x + x.pow(2).mean(dim=-1, keepdim=True).sqrt()  # Pow, ReduceMean, Sqrt
        return self.head(self.lnf(x))


class SeqNet(nn.Module):
    """Embedding → bidirectional LSTM → GRU → Linear on the last step, over int64 ids [N, T]."""

    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(20, 8)
        self.lstm = nn.LSTM(8, 12, batch_first=True, bidirectional=True)
        self.gru = nn.GRU(24, 6, batch_first=True)
        self.fc = nn.Linear(6, 3)

    def forward(self, idx):
        x, _ = self.lstm(self.emb(idx))
        y, h = self.gru(x)
        return self.fc(y[:, -1] + h[0])


def tokens(t):
    return lambda b, g: (torch.randint(0, 16, (b, t), generator=g),)


def fixtures():
    torch.manual_seed(0)
    mlp = nn.Sequential(nn.Linear(20, 32), nn.ReLU(), nn.Linear(32, 16), nn.Tanh(), nn.Linear(16, 10), nn.Softmax(dim=1))
    export("mlp", mlp, (torch.randn(2, 20),), 13, [2, 5], make=randn(20))
    torch.manual_seed(1)
    export("ops", Ops(), (torch.randn(2, 3, 4),), 13, [2, 3], out_names=["s", "l"], make=randn(3, 4))
    torch.manual_seed(2)
    export("convnet", KerasCNN(), (torch.randn(2, 1, 28, 28),), 13, [2, 3], make=randn(1, 28, 28))
    torch.manual_seed(3)
    export("bncnn", BNCNN(), (torch.randn(2, 3, 16, 16),), 15, [2, 1], make=randn(3, 16, 16))
    torch.manual_seed(4)
    gpt = TinyGPT()
    name = "gpt"
    gpt.eval()
    torch.onnx.export(gpt, (torch.randint(0, 16, (2, 5)),), os.path.join(HERE, name + ".onnx"), opset_version=17,
                      input_names=["idx"], output_names=["logits"],
                      dynamic_axes={"idx": {0: "batch", 1: "time"}, "logits": {0: "batch", 1: "time"}})
    token_cases(name, gpt, 17, "logits")
    torch.manual_seed(5)
    seq = SeqNet()
    seq.eval()
    torch.onnx.export(seq, (torch.randint(0, 20, (2, 5)),), os.path.join(HERE, "seq.onnx"), opset_version=14,
                      input_names=["idx"], output_names=["y"],
                      dynamic_axes={"idx": {0: "batch", 1: "time"}, "y": {0: "batch"}})
    token_cases("seq", seq, 14, "y")


def token_cases(name, model, opset, out):
    cases = []
    g = torch.Generator().manual_seed(4)
    for b, t in [(2, 5), (3, 7), (1, 1)]:
        idx = torch.randint(0, 16, (b, t), generator=g)
        with torch.no_grad():
            y = model(idx)
        cases.append({"inputs": {"idx": arr(idx)}, "outputs": {out: arr(y)}})
    with open(os.path.join(HERE, name + ".json"), "w") as f:
        json.dump({"opset": opset, "cases": cases}, f, separators=(",", ":"))
    print(name, "written")


def read_idx(path):
    with gzip.open(path, "rb") as f:
        b = f.read()
    nd = b[3]
    dims = [int.from_bytes(b[4 + 4 * i:8 + 4 * i], "big") for i in range(nd)]
    return np.frombuffer(b, dtype=np.uint8, offset=4 + 4 * nd).reshape(dims)


def mnist_dir():
    import subprocess
    cache = subprocess.check_output(["go", "env", "GOMODCACHE"], text=True).strip()
    return os.path.join(cache, "github.com/petar/!go!m!n!i!s!t@v0.0.0-20150320212226-2fbe10d0fa63", "data")


def mnist():
    d = mnist_dir()
    xtr = torch.tensor(read_idx(os.path.join(d, "train-images-idx3-ubyte.gz")), dtype=torch.float32).unsqueeze(1) / 255
    ytr = torch.tensor(read_idx(os.path.join(d, "train-labels-idx1-ubyte.gz")), dtype=torch.int64)
    xte = torch.tensor(read_idx(os.path.join(d, "t10k-images-idx3-ubyte.gz")), dtype=torch.float32).unsqueeze(1) / 255
    yte = torch.tensor(read_idx(os.path.join(d, "t10k-labels-idx1-ubyte.gz")), dtype=torch.int64)
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 8, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(400, 10))
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    for epoch in range(2):
        model.train()
        perm = torch.randperm(len(xtr))
        for i in range(0, len(xtr), 64):
            idx = perm[i:i + 64]
            loss = F.cross_entropy(model(xtr[idx]), ytr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        print("epoch", epoch, "loss", float(loss))
    model.eval()
    with torch.no_grad():
        pred = torch.cat([model(xte[i:i + 1000]).argmax(1) for i in range(0, len(xte), 1000)])
        t0 = time.perf_counter()
        for i in range(1000):
            model(xte[i:i + 1])
        per_image = (time.perf_counter() - t0) / 1000
    correct = int((pred == yte).sum())
    out = os.path.join(HERE, "..", "..", "examples", "onnx")
    torch.onnx.export(model, (xte[:1],), os.path.join(out, "mnist_cnn.onnx"), opset_version=13,
                      input_names=["image"], output_names=["logits"],
                      dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}})
    with open(os.path.join(out, "mnist_cnn.json"), "w") as f:
        json.dump({"test_correct": correct, "test_total": len(yte),
                   "torch_seconds_per_image_batch1": per_image,
                   "torch_version": torch.__version__,
                   "predictions": "".join(str(int(p)) for p in pred)}, f)
    print("mnist test accuracy", correct / len(yte), "torch s/image", per_image)


if __name__ == "__main__":
    if "mnist" in sys.argv[1:]:
        mnist()
    else:
        fixtures()
