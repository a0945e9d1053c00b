#!/usr/bin/env python3
"""Reference fixtures for shoshin's sequence layers (nn/seq_torch_test.go).

Run from the repository root with PyTorch 1.13 and numpy:

    python3 nn/testdata/seq_torch.py

Every computation runs in float64 on inputs and parameters that are first
rounded to float32, so the Go side (float32) starts from the same numbers;
results are stored as float32 safetensors (the rounding is ~6e-8, far below
the 1e-5 tolerance). For each case the file holds the parameters under
PyTorch's state_dict names, the inputs, a projection `proj` defining the
scalar loss sum(out * proj) (or a cross-entropy for the GPT), the outputs
and the gradient of every parameter ("grad." + name) and input.

seq_state_names.json lists PyTorch's state_dict keys and shapes so that the
Go test can check our names load with strict=True.
"""
import json
import math
import struct

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(1234)
DT = torch.float64


def r32(t):
    """Round to float32 and back, so Go sees exactly the inputs used here."""
    return t.float().double()


def randn(*shape, scale=1.0):
    return r32(torch.randn(*shape, dtype=DT) * scale)


def round_params(m):
    with torch.no_grad():
        for p in m.parameters():
            p.copy_(r32(p))


def write(path, tensors):
    header, blobs, off = {}, [], 0
    for name in sorted(tensors):
        arr = tensors[name].detach().cpu().double().numpy().astype("<f4")
        header[name] = {"dtype": "F32", "shape": list(arr.shape), "data_offsets": [off, off + arr.nbytes]}
        off += arr.nbytes
        blobs.append(arr.tobytes())
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def attention_ref(q, k, v, causal=False, kpm=None, mask=None):
    """softmax(q kᵀ/√d + mask)·v on [B, H, T, D] with the masks as -inf."""
    d = q.shape[-1]
    s = q @ k.transpose(-1, -2) / math.sqrt(d)
    if mask is not None:
        s = s + mask
    T, S = s.shape[-2], s.shape[-1]
    forbid = torch.zeros(q.shape[0], 1, T, S, dtype=torch.bool)
    if causal:
        forbid = forbid | torch.ones(T, S, dtype=torch.bool).triu(1)
    if kpm is not None:
        forbid = forbid | kpm[:, None, None, :]
    s = s.masked_fill(forbid, float("-inf"))
    return torch.softmax(s, -1) @ v


def attention_fixture():
    out = {}
    B, H, T, S, D = 2, 3, 5, 5, 4
    kpm = torch.tensor([[False, False, True, False, True], [False, False, False, False, True]])
    cases = {
        "causal": dict(causal=True),
        "padding": dict(kpm=kpm),
        "both": dict(causal=True, kpm=kpm, mask=randn(T, S, scale=0.5)),
    }
    for name, kw in cases.items():
        q, k, v = (randn(B, H, T, D).requires_grad_(), randn(B, H, S, D).requires_grad_(),
                   randn(B, H, S, D).requires_grad_())
        y = attention_ref(q, k, v, **kw)
        proj = randn(*y.shape)
        gq, gk, gv = torch.autograd.grad((y * proj).sum(), (q, k, v))
        out.update({f"{name}.q": q, f"{name}.k": k, f"{name}.v": v, f"{name}.proj": proj, f"{name}.out": y,
                    f"{name}.grad.q": gq, f"{name}.grad.k": gk, f"{name}.grad.v": gv})
        if "mask" in kw:
            out[f"{name}.mask"] = kw["mask"]
    out["kpm"] = kpm.double()
    write("nn/testdata/seq_attention.safetensors", out)


def param_grads(prefix, m, grads):
    return {f"{prefix}grad.{n}": g for (n, _), g in zip(m.named_parameters(), grads)}


def mha_fixture():
    E, heads = 8, 2
    m = nn.MultiheadAttention(E, heads, batch_first=True, dtype=DT)
    with torch.no_grad():  # non-zero biases so that their gradients are tested
        m.in_proj_bias.copy_(torch.randn(3 * E, dtype=DT) * 0.1)
        m.out_proj.bias.copy_(torch.randn(E, dtype=DT) * 0.1)
    round_params(m)
    out = {f"model.{n}": p for n, p in m.state_dict().items()}
    ps = list(m.parameters())
    # Self-attention with a key padding mask and a causal mask.
    x = randn(2, 5, E).requires_grad_()
    kpm = torch.tensor([[False, False, False, True, True], [False, False, False, False, False]])
    causal = torch.ones(5, 5, dtype=torch.bool).triu(1)
    y, w = m(x, x, x, key_padding_mask=kpm, attn_mask=causal, need_weights=True)
    proj, projw = randn(*y.shape), randn(*w.shape)
    g = torch.autograd.grad((y * proj).sum() + (w * projw).sum(), ps + [x])
    out.update({"self.x": x, "self.kpm": kpm.double(), "self.proj": proj, "self.projw": projw,
                "self.out": y, "self.weights": w, "self.grad.x": g[-1]})
    out.update(param_grads("self.", m, g[:-1]))
    # Cross-attention: 4 queries over 6 keys, no mask.
    q, kv = randn(2, 4, E).requires_grad_(), randn(2, 6, E).requires_grad_()
    y, w = m(q, kv, kv, need_weights=True)
    proj, projw = randn(*y.shape), randn(*w.shape)
    g = torch.autograd.grad((y * proj).sum() + (w * projw).sum(), ps + [q, kv])
    out.update({"cross.q": q, "cross.kv": kv, "cross.proj": proj, "cross.projw": projw,
                "cross.out": y, "cross.weights": w, "cross.grad.q": g[-2], "cross.grad.kv": g[-1]})
    out.update(param_grads("cross.", m, g[:-2]))
    write("nn/testdata/seq_mha.safetensors", out)
    return m


def encoder_fixture():
    out = {}
    variants = {
        "pre": dict(norm_first=True, activation="gelu"),
        "post": dict(norm_first=False, activation="relu"),
    }
    for name, kw in variants.items():
        m = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0, batch_first=True, dtype=DT, **kw)
        with torch.no_grad():
            for n, p in m.named_parameters():
                if n.endswith("bias") or n.startswith("norm"):
                    p.add_(torch.randn_like(p) * 0.1)
        round_params(m)
        m.train()
        x = randn(2, 5, 8).requires_grad_()
        kpm = torch.tensor([[False, False, False, False, True], [False, True, False, False, False]])
        causal = torch.ones(5, 5, dtype=torch.bool).triu(1)
        y = m(x, src_mask=causal, src_key_padding_mask=kpm)
        proj = randn(*y.shape)
        ps = list(m.parameters())
        g = torch.autograd.grad((y * proj).sum(), ps + [x])
        out.update({f"{name}.model.{n}": p for n, p in m.state_dict().items()})
        out.update({f"{name}.x": x, f"{name}.kpm": kpm.double(), f"{name}.proj": proj, f"{name}.out": y,
                    f"{name}.grad.x": g[-1]})
        out.update({f"{name}.grad.{n}": gg for (n, _), gg in zip(m.named_parameters(), g[:-1])})
    write("nn/testdata/seq_encoder.safetensors", out)


class CausalSelfAttention(nn.Module):
    def __init__(self, E, heads):
        super().__init__()
        self.c_attn = nn.Linear(E, 3 * E, dtype=DT)
        self.c_proj = nn.Linear(E, E, dtype=DT)
        self.heads = heads

    def forward(self, x):
        B, T, E = x.shape
        q, k, v = self.c_attn(x).split(E, dim=2)
        q = q.view(B, T, self.heads, E // self.heads).transpose(1, 2)  # (B, nh, T, hs)
        k = k.view(B, T, self.heads, E // self.heads).transpose(1, 2)  # (B, nh, T, hs)
        v = v.view(B, T, self.heads, E // self.heads).transpose(1, 2)  # (B, nh, T, hs)
        y = attention_ref(q, k, v, causal=True)                        # (B, nh, T, hs)
        y = y.transpose(1, 2).contiguous().view(B, T, E)
        return self.c_proj(y)


class MLP(nn.Module):
    def __init__(self, E):
        super().__init__()
        self.c_fc = nn.Linear(E, 4 * E, dtype=DT)
        self.c_proj = nn.Linear(4 * E, E, dtype=DT)

    def forward(self, x):
        return self.c_proj(F.gelu(self.c_fc(x)))


class Block(nn.Module):
    def __init__(self, E, heads):
        super().__init__()
        self.ln_1 = nn.LayerNorm(E, dtype=DT)
        self.attn = CausalSelfAttention(E, heads)
        self.ln_2 = nn.LayerNorm(E, dtype=DT)
        self.mlp = MLP(E)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    def __init__(self, vocab, block, E, heads, layers):
        super().__init__()
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(vocab, E, dtype=DT),
            wpe=nn.Embedding(block, E, dtype=DT),
            h=nn.ModuleList([Block(E, heads) for _ in range(layers)]),
            ln_f=nn.LayerNorm(E, dtype=DT),
        ))
        self.lm_head = nn.Linear(E, vocab, bias=False, dtype=DT)

    def forward(self, idx):
        t = idx.shape[1]
        x = self.transformer.wte(idx) + self.transformer.wpe(torch.arange(t))
        for b in self.transformer.h:
            x = b(x)
        return self.lm_head(self.transformer.ln_f(x))


def gpt_fixture():
    V, T, E, heads = 11, 6, 8, 2
    m = GPT(V, T, E, heads, 2)
    with torch.no_grad():
        for n, p in m.named_parameters():
            if "ln" in n:
                p.add_(torch.randn_like(p) * 0.1)
    round_params(m)
    idx = torch.randint(0, V, (2, T))
    targets = torch.randint(0, V, (2, T))
    logits = m(idx)
    loss = F.cross_entropy(logits.view(-1, V), targets.view(-1))
    g = torch.autograd.grad(loss, list(m.parameters()))
    out = {f"model.{n}": p for n, p in m.state_dict().items()}
    out.update({f"grad.{n}": gg for (n, _), gg in zip(m.named_parameters(), g)})
    out.update({"idx": idx.double(), "targets": targets.double(), "logits": logits, "loss": loss.reshape(1)})
    write("nn/testdata/seq_gpt.safetensors", out)


def state_names():
    mods = {
        "MultiheadAttention": nn.MultiheadAttention(8, 2, batch_first=True),
        "TransformerEncoderLayer": nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, batch_first=True),
        "TransformerEncoder": nn.TransformerEncoder(
            nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, batch_first=True, norm_first=True), 2,
            norm=nn.LayerNorm(8), enable_nested_tensor=False),
        "Embedding": nn.Embedding(10, 4, padding_idx=0),
        "Conv1d": nn.Conv1d(4, 6, 3),
    }
    lines = []
    for k, m in mods.items():
        keys = {n: list(t.shape) for n, t in m.state_dict().items()}
        lines.append(f"  {json.dumps(k)}: {json.dumps(keys)}")
    with open("nn/testdata/seq_state_names.json", "w") as f:
        f.write("{\n" + ",\n".join(lines) + "\n}\n")


if __name__ == "__main__":
    attention_fixture()
    mha_fixture()
    encoder_fixture()
    gpt_fixture()
    state_names()
