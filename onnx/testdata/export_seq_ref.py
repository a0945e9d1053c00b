#!/usr/bin/env python3
"""Evaluates the sequence models that onnx.Export wrote, independently of
the Go importer, with numpy from the ONNX operator spec (LSTM gates i, o,
f, c; GRU gates z, r, h with linear_before_reset=1), and writes the
outputs to export_seq_ref.json.

Regenerate from the repository root (numpy and onnx installed):

    ONNX_UPDATE_GOLDEN=1 go test ./onnx -run TestExportSequenceSpec
    python3 onnx/testdata/export_seq_ref.py
"""
import json
import os

import numpy as np
import onnx
from onnx import numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
IDS = np.array([1, 5, 7, 19, 2, 3, 0, 4, 8, 11, 12, 13]).reshape(2, 6)


def sig(x):
    return 1 / (1 + np.exp(-x))


def lstm(X, W, R, B, H, rev):
    T, N, _ = X.shape
    h, c, Y = np.zeros((N, H)), np.zeros((N, H)), np.zeros((T, N, H))
    for t in range(T - 1, -1, -1) if rev else range(T):
        g = X[t] @ W.T + h @ R.T + B[:4 * H] + B[4 * H:]
        i, o, f, cc = [g[:, k * H:(k + 1) * H] for k in range(4)]
        c = sig(f) * c + sig(i) * np.tanh(cc)
        h = sig(o) * np.tanh(c)
        Y[t] = h
    return Y


def gru(X, W, R, B, H, rev):
    T, N, _ = X.shape
    h, Y = np.zeros((N, H)), np.zeros((T, N, H))
    for t in range(T - 1, -1, -1) if rev else range(T):
        xw, hr = X[t] @ W.T + B[:3 * H], h @ R.T + B[3 * H:]
        z = sig(xw[:, :H] + hr[:, :H])
        r = sig(xw[:, H:2 * H] + hr[:, H:2 * H])
        n = np.tanh(xw[:, 2 * H:] + r * hr[:, 2 * H:])
        h = (1 - z) * n + z * h
        Y[t] = h
    return Y


def run(m):
    v = {t.name: numpy_helper.to_array(t).astype(np.float64) for t in m.graph.initializer}
    v['input'] = IDS
    for n in m.graph.node:
        ins = [v[i] for i in n.input]
        at = {a.name: onnx.helper.get_attribute_value(a) for a in n.attribute}
        if n.op_type == 'Gather':
            out = np.take(ins[0], ins[1].astype(int), axis=at['axis'])
        elif n.op_type == 'Transpose':
            out = np.transpose(ins[0], at['perm'])
        elif n.op_type == 'Reshape':
            out = ins[0].reshape([ins[0].shape[k] if d == 0 else d for k, d in enumerate(ins[1].astype(int))])
        elif n.op_type in ('LSTM', 'GRU'):
            H, D = at['hidden_size'], 2 if at['direction'] == b'bidirectional' else 1
            f = lstm if n.op_type == 'LSTM' else gru
            out = np.stack([f(ins[0], ins[1][d], ins[2][d], ins[3][d], H, d == 1) for d in range(D)], 1)
        elif n.op_type == 'Identity':
            out = ins[0]
        else:
            raise SystemExit('unexpected op ' + n.op_type)
        v[n.output[0]] = out
    return v['output']


out = {}
for name in ['lstm', 'gru']:
    m = onnx.load(os.path.join(HERE, f'export_{name}.onnx'))
    onnx.checker.check_model(m, full_check=True)
    y = run(m).astype(np.float32)
    out[name] = {'shape': list(y.shape), 'data': [float(x) for x in y.ravel()]}
with open(os.path.join(HERE, 'export_seq_ref.json'), 'w') as f:
    json.dump({'ids': IDS.ravel().tolist(), 'outputs': out}, f)
