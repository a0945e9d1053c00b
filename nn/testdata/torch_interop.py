#!/usr/bin/env python3
"""PyTorch interop fixtures for shoshin's safetensors files.

Needs torch (1.13 was used) and numpy; safetensors files are read and
written by hand below (8-byte little-endian header length, JSON header,
raw little-endian bytes), so the safetensors package is not needed.

The model is the one TestTorchInterop* build from shoshin's own layers:

    Sequential(Conv2d(3, 4, 3, padding=1), BatchNorm2d(4), ReLU(),
               MaxPool2d(2), Flatten(), Linear(64, 16), LayerNorm(16),
               ReLU(), Linear(16, 5))

Generate the committed fixtures (PyTorch -> Go):

    python3 nn/testdata/torch_interop.py generate nn/testdata

writes torch_state.safetensors (the state_dict with PyTorch's own dtypes:
num_batches_tracked is I64), torch_io.safetensors (an input batch and the
model's eval-mode output) and torch_state_keys.json (every state_dict key
with its dtype and shape, which the Go tests compare Save's output with).

Check a model saved by Go (Go -> PyTorch):

    SHOSHIN_TORCH_FIXTURE=/tmp/fx go test ./nn -run TorchInterop
    python3 nn/testdata/torch_interop.py check /tmp/fx

loads /tmp/fx/go_state.safetensors with load_state_dict(strict=True) after
checking that every tensor has the dtype and shape of PyTorch's own
state_dict, and compares the outputs on /tmp/fx/go_io.safetensors.
"""
import json
import struct
import sys

import numpy as np
import torch

DTYPES = {"F32": ("<f4", torch.float32), "I64": ("<i8", torch.int64), "F64": ("<f8", torch.float64)}
TORCH_TO_ST = {torch.float32: "F32", torch.int64: "I64", torch.float64: "F64"}


def read_safetensors(path):
    with open(path, "rb") as f:
        buf = f.read()
    (n,) = struct.unpack("<Q", buf[:8])
    header = json.loads(buf[8 : 8 + n])
    meta = header.pop("__metadata__", {})
    data = buf[8 + n :]
    tensors, dtypes = {}, {}
    for name, info in header.items():
        np_dtype, _ = DTYPES[info["dtype"]]
        begin, end = info["data_offsets"]
        arr = np.frombuffer(data[begin:end], dtype=np_dtype).reshape(info["shape"])
        tensors[name] = torch.from_numpy(arr.copy())
        dtypes[name] = info["dtype"]
    return tensors, dtypes, meta


def write_safetensors(path, tensors, meta=None):
    header = {"__metadata__": meta} if meta else {}
    blobs, offset = [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous()
        st = TORCH_TO_ST[t.dtype]
        arr = t.numpy().astype(DTYPES[st][0], copy=False)
        header[name] = {"dtype": st, "shape": list(arr.shape), "data_offsets": [offset, offset + arr.nbytes]}
        offset += arr.nbytes
        blobs.append(arr.tobytes())
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def model():
    nn = torch.nn
    return nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
        nn.MaxPool2d(2), nn.Flatten(), nn.Linear(64, 16), nn.LayerNorm(16),
        nn.ReLU(), nn.Linear(16, 5))


def generate(out):
    torch.manual_seed(0)
    m = model()
    with torch.no_grad():
        # Affine parameters away from their 1/0 defaults, so that a
        # weight loaded into a bias (or not at all) shows.
        for i in (1, 6):
            m[i].weight.uniform_(0.5, 1.5)
            m[i].bias.uniform_(-0.5, 0.5)
        # Three training batches give running statistics and a count.
        m.train()
        for _ in range(3):
            m(torch.randn(8, 3, 8, 8) * 2 + 0.5)
    m.eval()
    x = torch.randn(6, 3, 8, 8)
    with torch.no_grad():
        y = m(x)
    sd = m.state_dict()
    write_safetensors(f"{out}/torch_state.safetensors", sd, {"format": "pt"})
    write_safetensors(f"{out}/torch_io.safetensors", {"input": x, "output": y})
    keys = [{"name": k, "dtype": TORCH_TO_ST[v.dtype], "shape": list(v.shape)} for k, v in sd.items()]
    with open(f"{out}/torch_state_keys.json", "w") as f:
        rows = ",\n".join("  " + json.dumps(k) for k in keys)
        f.write(f'{{"torch": {json.dumps(torch.__version__)}, "keys": [\n{rows}\n]}}\n')
    print(f"wrote {out}/torch_state.safetensors ({len(sd)} tensors, "
          f"num_batches_tracked={int(sd['1.num_batches_tracked'])}), torch_io.safetensors, torch_state_keys.json")
    return 0


def check(d):
    state, dtypes, meta = read_safetensors(f"{d}/go_state.safetensors")
    assert meta.get("format") == "pt", meta
    m = model()
    want = m.state_dict()
    ok = True
    for k, v in want.items():
        if k not in state:
            print(f"missing {k}")
            ok = False
        elif state[k].dtype != v.dtype or tuple(state[k].shape) != tuple(v.shape):
            print(f"{k}: Go wrote {dtypes[k]} {list(state[k].shape)}, PyTorch has {TORCH_TO_ST[v.dtype]} {list(v.shape)}")
            ok = False
    m.load_state_dict(state, strict=True)
    m.eval()
    io, _, _ = read_safetensors(f"{d}/go_io.safetensors")
    with torch.no_grad():
        got = m(io["input"])
    diff = (got - io["output"]).abs().max().item()
    print(f"Go state_dict loaded in PyTorch {torch.__version__} with strict=True: {len(state)} tensors, "
          f"dtypes and shapes as PyTorch's own: {ok}; "
          f"num_batches_tracked={int(state['1.num_batches_tracked'])} ({state['1.num_batches_tracked'].dtype}); "
          f"max |torch - Go| = {diff:.3g} over {got.numel()} outputs")
    return 0 if ok and diff < 1e-5 else 1


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("generate", "check"):
        sys.exit(__doc__)
    sys.exit({"generate": generate, "check": check}[sys.argv[1]](sys.argv[2]))
