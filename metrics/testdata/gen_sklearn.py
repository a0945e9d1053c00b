#!/usr/bin/env python3
"""Generate sklearn_fixture.json: reference values from scikit-learn.

Run from the repository root with the Debian packages installed
(apt-get install -y python3-sklearn):

    /usr/bin/python3 metrics/testdata/gen_sklearn.py > metrics/testdata/sklearn_fixture.json

The Go tests read only the JSON file. Inputs are drawn from seeded NumPy
generators and have many tied scores (multiples of 1/16 mixed with
continuous values, all exactly representable as float32). zero_division
is exercised with 0 and 1 (scikit-learn 1.2 has no NaN choice).
"""
import json
import sys
import warnings

import numpy as np
import sklearn
from sklearn import metrics as skm

warnings.simplefilter("ignore")


def ints(a):
    return [int(x) for x in a]


def floats(a):
    return [float(x) for x in a]


def label_case(name, y_true, y_pred, labels=None, target_names=None):
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    present = np.union1d(y_true, y_pred)
    binary = len(present) <= 2
    case = {
        "name": name,
        "y_true": ints(y_true),
        "y_pred": ints(y_pred),
        "labels": None if labels is None else ints(labels),
        "accuracy": float(skm.accuracy_score(y_true, y_pred)),
        "confusion": {
            "labels": ints(present),
            "matrix": [ints(r) for r in skm.confusion_matrix(y_true, y_pred)],
        },
        "prf": [],
        "per_class": [],
    }
    if labels is not None:
        case["confusion_labels"] = [
            ints(r) for r in skm.confusion_matrix(y_true, y_pred, labels=labels)
        ]
    averages = ["micro", "macro", "weighted"]
    if binary:
        averages.append("binary")
    label_sets = [None] if labels is None else [None, labels]
    for lab in label_sets:
        for average in averages:
            pos_labels = [1]
            if average == "binary":
                pos_labels = [int(x) for x in present] if len(present) == 2 else [1]
            for pos in pos_labels:
                for beta in [1.0, 0.5, 2.0]:
                    for zd in [0, 1]:
                        p, r, f, _ = skm.precision_recall_fscore_support(
                            y_true, y_pred, beta=beta, labels=lab,
                            average=average, pos_label=pos, zero_division=zd)
                        case["prf"].append({
                            "average": average, "pos_label": pos, "beta": beta,
                            "zero_division": zd,
                            "labels": None if lab is None else ints(lab),
                            "precision": float(p), "recall": float(r), "fscore": float(f),
                        })
                # The single-metric functions, as a cross-check of the API.
                if beta == 2.0:
                    kw = dict(labels=lab, average=average, pos_label=pos)
                    case["prf"][-1]["precision_score"] = float(skm.precision_score(y_true, y_pred, **kw, zero_division=1))
                    case["prf"][-1]["recall_score"] = float(skm.recall_score(y_true, y_pred, **kw, zero_division=1))
                    case["prf"][-1]["f1_score"] = float(skm.f1_score(y_true, y_pred, **kw, zero_division=1))
                    case["prf"][-1]["fbeta_score"] = float(skm.fbeta_score(y_true, y_pred, beta=2.0, **kw, zero_division=1))
    for lab in label_sets:
        for zd in [0, 1]:
            for beta in [1.0, 2.0]:
                p, r, f, s = skm.precision_recall_fscore_support(
                    y_true, y_pred, beta=beta, labels=lab, average=None, zero_division=zd)
                case["per_class"].append({
                    "beta": beta, "zero_division": zd,
                    "labels": None if lab is None else ints(lab),
                    "precision": floats(p), "recall": floats(r),
                    "fscore": floats(f), "support": ints(s),
                })
    reports = []
    for lab, names, digits in [(None, None, 2), (labels, target_names, 2), (None, None, 4)]:
        if lab is None and names is not None:
            continue
        reports.append({
            "labels": None if lab is None else ints(lab),
            "target_names": names,
            "digits": digits,
            "text": skm.classification_report(
                y_true, y_pred, labels=lab, target_names=names, digits=digits),
            "dict": skm.classification_report(
                y_true, y_pred, labels=lab, target_names=names, output_dict=True),
        })
    case["reports"] = reports
    return case


def tied_scores(rng, n):
    """Scores in [0, 1]: half multiples of 1/16, half continuous float32."""
    grid = rng.integers(0, 17, n) / 16.0
    cont = rng.random(n).astype(np.float32).astype(np.float64)
    return np.where(rng.random(n) < 0.5, grid, cont)


def binary_case(name, y_true, scores):
    y_true = np.asarray(y_true)
    scores = np.asarray(scores, dtype=np.float64)
    fpr, tpr, thr = skm.roc_curve(y_true, scores)
    fpr_a, tpr_a, thr_a = skm.roc_curve(y_true, scores, drop_intermediate=False)
    case = {
        "name": name,
        "y_true": ints(y_true),
        "scores": floats(scores),
        "roc": {"fpr": floats(fpr), "tpr": floats(tpr), "thresholds": floats(thr)},
        "roc_all": {"fpr": floats(fpr_a), "tpr": floats(tpr_a), "thresholds": floats(thr_a)},
        "roc_auc": float(skm.roc_auc_score(y_true, scores)),
        "top1": float(skm.top_k_accuracy_score(y_true, scores, k=1)),
    }
    if y_true.sum() > 0:
        p, r, t = skm.precision_recall_curve(y_true, scores)
        case["pr"] = {"precision": floats(p), "recall": floats(r), "thresholds": floats(t)}
        case["average_precision"] = float(skm.average_precision_score(y_true, scores))
    if scores.min() >= 0 and scores.max() <= 1:
        case["log_loss"] = float(skm.log_loss(y_true, scores, labels=[0, 1]))
    return case


def multi_case(name, rng, n, c):
    raw = rng.integers(1, 6, (n, c)).astype(np.float64)
    # A few rows with a dominant class, so rankings are informative.
    probs = raw / raw.sum(axis=1, keepdims=True)
    y = np.array([rng.choice(c, p=row) for row in probs])
    y[:c] = np.arange(c)  # every class present
    case = {
        "name": name,
        "y_true": ints(y),
        "n_classes": c,
        "scores": floats(probs.ravel()),
        "auc_macro": float(skm.roc_auc_score(y, probs, multi_class="ovr", average="macro", labels=list(range(c)))),
        "auc_weighted": float(skm.roc_auc_score(y, probs, multi_class="ovr", average="weighted", labels=list(range(c)))),
        "auc_per_class": floats(skm.roc_auc_score(y, probs, multi_class="ovr", average=None, labels=list(range(c)))),
        "log_loss": float(skm.log_loss(y, probs, labels=list(range(c)))),
        "top_k": {str(k): float(skm.top_k_accuracy_score(y, probs, k=k, labels=list(range(c)))) for k in range(1, c + 1)},
    }
    return case


def main():
    rng = np.random.default_rng(20240607)
    label_cases = []

    n = 240
    y_true = rng.integers(0, 5, n)
    y_pred = np.where(rng.random(n) < 0.6, y_true, rng.integers(0, 4, n))  # class 4 never predicted off-diagonal
    y_pred[y_pred == 4] = 3  # class 4 never predicted at all
    label_cases.append(label_case("multiclass_never_predicted", y_true, y_pred,
                                  labels=[4, 0, 2, 7], target_names=["four", "zero", "two", "seven"]))

    y_true = rng.integers(0, 2, 150)
    y_pred = np.where(rng.random(150) < 0.7, y_true, 1 - y_true)
    label_cases.append(label_case("binary_01", y_true, y_pred, labels=[1, 0], target_names=["pos", "neg"]))

    y_true = rng.choice([-1, 1], 80)
    y_pred = np.where(rng.random(80) < 0.55, y_true, -y_true)
    label_cases.append(label_case("binary_pm1", y_true, y_pred))

    vals = np.array([-5, 0, 3, 1000000])
    y_true = vals[rng.integers(0, 4, 120)]
    y_pred = np.where(rng.random(120) < 0.5, y_true, vals[rng.integers(0, 4, 120)])
    label_cases.append(label_case("sparse_labels", y_true, y_pred, labels=[3, -5]))

    y_true = np.zeros(30, dtype=int)
    y_pred = rng.integers(0, 3, 30)
    label_cases.append(label_case("true_all_one_class", y_true, y_pred))

    y_true = rng.integers(0, 3, 40)
    y_pred = np.full(40, 2)
    label_cases.append(label_case("pred_all_one_class", y_true, y_pred, labels=[0, 1, 2, 5]))

    y_true = np.zeros(20, dtype=int)
    y_pred = np.zeros(20, dtype=int)
    label_cases.append(label_case("all_zero_binary", y_true, y_pred, labels=[1, 0]))

    binary_cases = []
    for i, n in enumerate([50, 300, 1000]):
        s = tied_scores(rng, n)
        y = (rng.random(n) < 0.2 + 0.6 * s).astype(int)
        binary_cases.append(binary_case(f"tied_{n}", y, s))
    # Large enough for the radix-sort path (2048 samples and more), with
    # negative scores and both signed zeros.
    s = tied_scores(rng, 5000) * 4 - 2
    s[:50] = 0.0
    s[50:100] = -0.0
    y = (rng.random(5000) < 0.2 + 0.15 * (s + 2)).astype(int)
    binary_cases.append(binary_case("signed_5000", y, s))
    s = rng.integers(0, 3, 64) / 2.0  # three distinct scores, heavy ties, not probabilities
    s = s * 3 - 1
    y = rng.integers(0, 2, 64)
    binary_cases.append(binary_case("three_levels", y, s))
    y = rng.integers(0, 2, 40)
    binary_cases.append(binary_case("all_tied", y, np.full(40, 0.25)))
    y = np.array([0] * 10 + [1] * 10)
    binary_cases.append(binary_case("perfect", y, np.linspace(0, 1, 20)))
    binary_cases.append(binary_case("inverted", y, np.linspace(1, 0, 20)))
    y = np.ones(12, dtype=int)
    y[0] = 0
    binary_cases.append(binary_case("one_negative", y, tied_scores(rng, 12)))

    multi_cases = [multi_case("multi_3", rng, 200, 3), multi_case("multi_6", rng, 500, 6),
                   multi_case("multi_4_large", rng, 3000, 4)]

    json.dump({
        "sklearn_version": sklearn.__version__,
        "numpy_version": np.__version__,
        "label_cases": label_cases,
        "binary_cases": binary_cases,
        "multi_cases": multi_cases,
    }, sys.stdout, separators=(",", ":"))
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
