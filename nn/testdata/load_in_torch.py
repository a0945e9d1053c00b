#!/usr/bin/env python3
"""PyTorch interop check for shoshin's safetensors files (reference only).

Needs only torch and numpy; the safetensors reader and writer below are a
few lines of numpy so that the check does not depend on the safetensors
package. Usage:

    SHOSHIN_TORCH_FIXTURE=/tmp/fx go test ./nn -run TorchFixture
    python3 nn/testdata/load_in_torch.py /tmp/fx
    SHOSHIN_TORCH_FIXTURE=/tmp/fx go test ./nn -run TorchFixture -v

Step 1 loads go_model.safetensors into torch.nn.Sequential(Linear(784,128),
ReLU(), Linear(128,10)) with strict=True and compares its predictions on
the inputs in go_io.safetensors with the outputs Go computed. Step 2 writes
torch_model.safetensors and torch_io.safetensors for the Go test to load.
"""
import json
import struct
import sys

import numpy as np
import torch


def read_safetensors(path):
    with open(path, "rb") as f:
        buf = f.read()
    (n,) = struct.unpack("<Q", buf[:8])
    header = json.loads(buf[8 : 8 + n])
    meta = header.pop("__metadata__", {})
    data = buf[8 + n :]
    tensors = {}
    for name, info in header.items():
        assert info["dtype"] == "F32", (name, info["dtype"])
        begin, end = info["data_offsets"]
        arr = np.frombuffer(data[begin:end], dtype="<f4").reshape(info["shape"])
        tensors[name] = torch.from_numpy(arr.copy())
    return tensors, meta


def write_safetensors(path, tensors, meta=None):
    header = {"__metadata__": meta} if meta else {}
    blobs, offset = [], 0
    for name in sorted(tensors):
        arr = tensors[name].detach().contiguous().numpy().astype("<f4", copy=False)
        header[name] = {"dtype": "F32", "shape": list(arr.shape), "data_offsets": [offset, offset + arr.nbytes]}
        offset += arr.nbytes
        blobs.append(arr.tobytes())
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def mlp():
    return torch.nn.Sequential(torch.nn.Linear(784, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10))


def main(fixture_dir):
    # Step 1: Go -> PyTorch.
    state, meta = read_safetensors(f"{fixture_dir}/go_model.safetensors")
    assert meta.get("format") == "pt", meta
    model = mlp()
    model.load_state_dict(state, strict=True)
    io, _ = read_safetensors(f"{fixture_dir}/go_io.safetensors")
    with torch.no_grad():
        got = model(io["inputs"])
    diff = (got - io["outputs"]).abs().max().item()
    same_argmax = bool((got.argmax(1) == io["outputs"].argmax(1)).all())
    print(f"Go model in PyTorch: {len(state)} tensors loaded with strict=True; "
          f"max |torch - Go| = {diff:.3g} over {got.numel()} outputs; same argmax: {same_argmax}")
    ok = diff < 1e-4 and same_argmax

    # Step 2: PyTorch -> Go.
    torch.manual_seed(0)
    model = mlp()
    inputs = torch.rand(16, 784)
    with torch.no_grad():
        outputs = model(inputs)
    write_safetensors(f"{fixture_dir}/torch_model.safetensors", model.state_dict(), {"format": "pt"})
    write_safetensors(f"{fixture_dir}/torch_io.safetensors", {"inputs": inputs, "outputs": outputs})
    print(f"wrote {fixture_dir}/torch_model.safetensors and torch_io.safetensors")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "."))
