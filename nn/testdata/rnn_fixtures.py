#!/usr/bin/env python3
"""Writes rnn_torch.json: PyTorch 1.13 reference values for shoshin's
recurrent layers (nn.RNN, nn.LSTM, nn.GRU and their cells).

Every case builds a PyTorch module in float64 from float32-representable
values (so Go reads the same inputs exactly), runs it on a fixed input,
optional initial state and optional lengths (through pack_padded_sequence
and pad_packed_sequence), and records the output sequence, the final
states, and the gradients of every parameter, the input and the initial
states for the scalar loss

    sum(out * w_out) + sum(h_n * w_h) + sum(c_n * w_c)

with fixed random weights w. Cells are run step by step over the sequence,
their outputs stacked. It also records each module's state_dict keys and
shapes in PyTorch's order. Run from the repository root:

    python3 nn/testdata/rnn_fixtures.py > nn/testdata/rnn_torch.json
"""
import json
import sys

import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

torch.manual_seed(20261201)
T, B, I, H = 5, 3, 3, 4


def f32(t):
    """Round to float32 and back, so Go sees exactly the same values
    (10 significant digits in the file keep float32 values exact)."""
    return t.float().double()


def enc(t):
    return {"shape": list(t.shape), "data": [float("%.10g" % v) for v in t.detach().reshape(-1).tolist()]}


def make_case(name, kind, layers=1, bidirectional=False, batch_first=False,
              nonlinearity="tanh", bias=True, lengths=None, state=False):
    cell = kind.endswith("Cell")
    kw = {"bias": bias}
    if kind in ("RNN", "RNNCell"):
        kw["nonlinearity"] = nonlinearity
    if not cell:
        kw.update(num_layers=layers, bidirectional=bidirectional, batch_first=batch_first)
    mod = getattr(torch.nn, kind)(I, H, **kw).double()
    with torch.no_grad():
        for p in mod.parameters():
            p.copy_(f32(p))
    dirs = 2 if bidirectional else 1
    xshape = (B, T, I) if batch_first else (T, B, I)
    x = f32(torch.randn(*xshape)).requires_grad_()
    sshape = (B, H) if cell else (layers * dirs, B, H)
    h0 = c0 = None
    if state:
        h0 = f32(torch.randn(*sshape) * 0.5).requires_grad_()
        if kind.startswith("LSTM"):
            c0 = f32(torch.randn(*sshape) * 0.5).requires_grad_()

    if cell:
        st = None
        if h0 is not None:
            st = (h0, c0) if kind == "LSTMCell" else h0
        hs = []
        for t in range(T):
            st = mod(x[t], st)
            hs.append(st[0] if kind == "LSTMCell" else st)
        out = torch.stack(hs)
        h_n = hs[-1]
        c_n = st[1] if kind == "LSTMCell" else None
    else:
        hx = None
        if h0 is not None:
            hx = (h0, c0) if kind == "LSTM" else h0
        inp = x
        if lengths is not None:
            inp = pack_padded_sequence(x, torch.tensor(lengths), batch_first=batch_first, enforce_sorted=False)
        res, st = mod(inp, hx)
        if lengths is not None:
            res, _ = pad_packed_sequence(res, batch_first=batch_first, total_length=T)
        out = res
        h_n, c_n = (st if kind == "LSTM" else (st, None))

    w_out = f32(torch.randn(*out.shape))
    w_h = f32(torch.randn(*h_n.shape))
    loss = (out * w_out).sum() + (h_n * w_h).sum()
    w_c = None
    if c_n is not None:
        w_c = f32(torch.randn(*c_n.shape))
        loss = loss + (c_n * w_c).sum()
    loss.backward()

    case = {
        "name": name, "kind": kind, "input": I, "hidden": H, "layers": layers,
        "bidirectional": bidirectional, "batch_first": batch_first,
        "nonlinearity": nonlinearity, "bias": bias, "lengths": lengths,
        "x": enc(x), "h0": enc(h0) if h0 is not None else None,
        "c0": enc(c0) if c0 is not None else None,
        "params": {k: enc(v) for k, v in mod.named_parameters()},
        "state_dict": [[k, list(v.shape)] for k, v in mod.state_dict().items()],
        "w_out": enc(w_out), "w_h": enc(w_h), "w_c": enc(w_c) if w_c is not None else None,
        "out": enc(out), "h_n": enc(h_n), "c_n": enc(c_n) if c_n is not None else None,
        "loss": float(loss),
        "grads": {k: enc(v.grad) for k, v in mod.named_parameters()},
        "grad_x": enc(x.grad),
        "grad_h0": enc(h0.grad) if h0 is not None else None,
        "grad_c0": enc(c0.grad) if c0 is not None else None,
    }
    return case


cases = [
    make_case("lstm_l2_bi_state", "LSTM", layers=2, bidirectional=True, state=True),
    make_case("lstm_l2_bi_lengths_state", "LSTM", layers=2, bidirectional=True, lengths=[3, 5, 1], state=True),
    make_case("lstm_l1_lengths", "LSTM", lengths=[2, 5, 4]),
    make_case("lstm_batchfirst_bi_lengths", "LSTM", bidirectional=True, batch_first=True, lengths=[4, 1, 5], state=True),
    make_case("lstm_nobias", "LSTM", bias=False, state=True),
    make_case("gru_l2_bi_state", "GRU", layers=2, bidirectional=True, state=True),
    make_case("gru_l2_bi_lengths_state", "GRU", layers=2, bidirectional=True, lengths=[5, 2, 3], state=True),
    make_case("gru_l1", "GRU"),
    make_case("gru_nobias_batchfirst", "GRU", bias=False, batch_first=True),
    make_case("rnn_tanh_l2_bi_lengths_state", "RNN", layers=2, bidirectional=True, lengths=[1, 4, 5], state=True),
    make_case("rnn_relu_l2", "RNN", layers=2, nonlinearity="relu", state=True),
    make_case("lstmcell_state", "LSTMCell", state=True),
    make_case("lstmcell", "LSTMCell"),
    make_case("grucell_state", "GRUCell", state=True),
    make_case("rnncell_relu_state", "RNNCell", nonlinearity="relu", state=True),
]
json.dump({"generator": "nn/testdata/rnn_fixtures.py", "torch": torch.__version__, "cases": cases},
          sys.stdout, separators=(",", ":"))
sys.stdout.write("\n")
