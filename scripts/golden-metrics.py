#!/usr/bin/env python3
"""Golden numbers for the task metrics (src/models/metrics/) from an independent implementation.

Writes test/fixtures/metrics-golden.json: seeded input vectors made here, and what scikit-learn
(roc_auc_score, log_loss, brier_score_loss, accuracy_score, f1_score(average='macro'),
mean_squared_error, mean_absolute_error, r2_score) says about them, plus the expected calibration
error computed by hand in numpy with the same bin rule as the TypeScript (10 equal-width bins, p in
bin min(floor(p * 10), 9)). test/unit/models/task-metrics.test.ts checks every number. CI never
runs this script; rerun it only to change the cases, and commit its output:

    "$(bash scripts/ensure-python-venv.sh)" scripts/golden-metrics.py
"""
import json
import pathlib
import warnings

import numpy as np
import sklearn
from sklearn.metrics import (
    accuracy_score,
    brier_score_loss,
    f1_score,
    log_loss,
    mean_absolute_error,
    mean_squared_error,
    r2_score,
    roc_auc_score,
)

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "test" / "fixtures" / "metrics-golden.json"
BINS = 10
rng = np.random.default_rng(20261207)


def ece(p, y, bins=BINS):
    idx = np.minimum(np.floor(p * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        mask = idx == b
        if mask.any():
            total += mask.sum() / len(p) * abs(y[mask].mean() - p[mask].mean())
    return float(total)


def coded(fn, code):
    """sklearn's number, or the code the TypeScript must answer where sklearn refuses the input
    (raises, or, as roc_auc_score of one class does since 1.6, warns and answers NaN)."""
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            value = float(fn())
    except ValueError as error:
        return {"code": code, "sklearn": str(error)}
    if np.isnan(value):
        return {"code": code, "sklearn": "; ".join(str(w.message) for w in caught) or "nan"}
    return value


def binary_case(name, scores, labels, threshold=0.5, note=""):
    p = np.asarray(scores, dtype=np.float64)
    y = np.asarray(labels, dtype=np.int64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = {
            "accuracy": float(accuracy_score(y, (p >= threshold).astype(np.int64))),
            "roc_auc": coded(lambda: roc_auc_score(y, p), "one_class"),
            "log_loss": float(log_loss(y, p, labels=[0, 1])),
            "brier": float(brier_score_loss(y, p)),
            "ece": ece(p, y),
        }
    return {"name": name, "note": note, "threshold": threshold, "scores": p.tolist(), "labels": y.tolist(), "expected": expected}


def multiclass_case(name, probabilities, labels, note=""):
    P = np.asarray(probabilities, dtype=np.float64)
    y = np.asarray(labels, dtype=np.int64)
    classes = P.shape[1]
    predicted = P.argmax(axis=1)  # ties go to the lowest class
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        f1_default = float(f1_score(y, predicted, average="macro"))  # zero_division="warn" acts as 0
        assert f1_default == float(f1_score(y, predicted, average="macro", zero_division=0))
        expected = {
            "accuracy": float(accuracy_score(y, predicted)),
            "macro_f1": f1_default,
            "log_loss": float(log_loss(y, P, labels=list(range(classes)))),
        }
    return {
        "name": name,
        "note": note,
        "classes": classes,
        "probabilities": P.reshape(-1).tolist(),
        "labels": y.tolist(),
        "expected": expected,
    }


def regression_case(name, predictions, targets, note=""):
    yhat = np.asarray(predictions, dtype=np.float64)
    y = np.asarray(targets, dtype=np.float64)
    r2 = float(r2_score(y, yhat))
    expected = {
        "rmse": float(np.sqrt(mean_squared_error(y, yhat))),
        "mae": float(mean_absolute_error(y, yhat)),
        # sklearn's force_finite turns constant targets into 1.0 or 0.0; the TypeScript refuses them.
        "r2": {"code": "constant_target", "sklearn_force_finite": r2} if np.all(y == y[0]) else r2,
    }
    return {"name": name, "note": note, "predictions": yhat.tolist(), "targets": y.tolist(), "expected": expected}


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


# Binary ---------------------------------------------------------------------------------------
binary = []
y = (rng.random(200) < 0.4).astype(int)
binary.append(binary_case("random", np.round(sigmoid(1.5 * (2 * y - 1) + rng.normal(0, 1.2, 200)), 6), y,
                          note="200 rows, overlapping classes"))
binary.append(binary_case("random_threshold_0.3", binary[0]["scores"], binary[0]["labels"], threshold=0.3,
                          note="the same rows cut at 0.3"))
y = (rng.random(150) < 0.5).astype(int)
binary.append(binary_case("ties", np.round(sigmoid((2 * y - 1) + rng.normal(0, 1.5, 150)), 1), y,
                          note="scores rounded to one decimal: many ties across classes"))
y = np.array([0] * 30 + [1] * 20)
p = np.concatenate([rng.uniform(0.0, 0.45, 30), rng.uniform(0.55, 1.0, 20)])
binary.append(binary_case("separable", np.round(p, 6), y, note="every positive above every negative: AUC 1"))
y = (rng.random(40) < 0.5).astype(int)
binary.append(binary_case("constant_score", np.full(40, 0.3), y, note="one score for all rows: AUC 0.5"))
binary.append(binary_case("extreme_probabilities", [0.0, 1.0, 1.0, 0.0, 0.5, 1e-20, 1 - 1e-12, 0.999],
                          [0, 1, 0, 1, 1, 0, 1, 0], note="exact 0 and 1, confident mistakes: log loss clipping"))
binary.append(binary_case("bin_edges", [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 0.15, 0.95],
                          [0, 0, 1, 0, 0, 1, 1, 0, 1, 1, 1, 0, 1], note="probabilities on the bin edges of the calibration error"))
binary.append(binary_case("one_class", [0.2, 0.7, 0.9], [1, 1, 1], note="only positives: AUC undefined"))

# Multiclass -----------------------------------------------------------------------------------
multiclass = []
y = rng.integers(0, 3, 300)
logits = rng.normal(0, 1, (300, 3))
logits[np.arange(300), y] += 1.2
multiclass.append(multiclass_case("random_3_classes", np.round(softmax(logits), 12), y, note="300 rows, 3 classes"))
y = rng.integers(0, 4, 120)
logits = rng.normal(0, 1, (120, 4))
logits[np.arange(120), y] += 1.5
logits[:, 3] -= 10.0  # class 3 is never the argmax
multiclass.append(multiclass_case("class_never_predicted", softmax(logits), y,
                                  note="class 3 is among the labels but never predicted: its F1 is 0 (zero_division)"))
y = rng.choice([0, 1, 3], 90)
logits = rng.normal(0, 1, (90, 4))
logits[np.arange(90), y] += 1.5
logits[:, 2] -= 10.0
multiclass.append(multiclass_case("class_absent", softmax(logits), y,
                                  note="class 2 neither labelled nor predicted: left out of the macro mean, as sklearn"))
multiclass.append(multiclass_case("argmax_ties_and_zeros",
                                  [[0.5, 0.5, 0.0], [0.0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]],
                                  [1, 2, 0, 0, 0], note="tied maxima go to the lowest class; a zero for the label is clipped"))

# Regression -----------------------------------------------------------------------------------
regression = []
x = rng.normal(0, 1, 200)
t = np.round(3 * x + rng.normal(0, 0.5, 200), 6)
regression.append(regression_case("random", np.round(3 * x + rng.normal(0, 0.8, 200), 6), t, note="200 rows"))
regression.append(regression_case("perfect", t[:50], t[:50], note="predictions equal targets"))
regression.append(regression_case("worse_than_mean", np.round(-t[:60], 6), t[:60], note="negative R²"))
regression.append(regression_case("constant_target", [1.0, 2.0, 3.5], [2.0, 2.0, 2.0], note="R² undefined"))

OUT.write_text(json.dumps(allow_nan=False, obj={
    "generator": "scripts/golden-metrics.py",
    "sklearn": sklearn.__version__,
    "numpy": np.__version__,
    "calibration_bins": BINS,
    "binary": binary,
    "multiclass": multiclass,
    "regression": regression,
}, indent=1) + "\n")
print(f"wrote {OUT.relative_to(ROOT)}: {len(binary)} binary, {len(multiclass)} multiclass, {len(regression)} regression cases")
