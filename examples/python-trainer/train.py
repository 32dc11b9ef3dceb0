#!/usr/bin/env python3
"""An external trainer for Sluice's retrain workflow (the `command` trainer), in scikit-learn.

Sluice runs it as

    <argv from the loop policy> --train TRAIN.csv --holdout HOLDOUT.csv --out MODEL.onnx --params JSON

(the params also in the SLUICE_TRAINER_PARAMS environment variable). Both CSV files have a header:
the model contract's feature columns in order, then `label`. The trainer fits on --train, may look
at --holdout (Sluice judges the model on it against production either way), and writes an ONNX
model to --out. Anything it prints to stderr is kept (the last 64 KiB) when it fails; a non-zero
exit fails the retrain with that text as the reason.

The model written keeps the contract of a skl2onnx binary classifier: one float32 input
`float_input` [N, features], outputs `label` (int64 [N]) and `probabilities` (float32 [N, 2]),
ZipMap off (Sluice refuses the ZipMap's sequence-of-maps output). A model whose inputs or outputs
differ from the registered model's contract is refused, with production untouched.

Params (all optional): {"model": "logistic_regression" | "gradient_boosting", "C": 1.0,
"max_iter": 1000, "n_estimators": 100, "max_depth": 3, "seed": 0, "input_name": "float_input"}.
"""
import argparse
import csv
import json
import os
import sys

import numpy as np
from skl2onnx import to_onnx
from skl2onnx.common.data_types import FloatTensorType
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def read_csv(path, label="label"):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    if label not in header:
        sys.exit(f"{path}: no {label} column (columns: {', '.join(header)})")
    at = header.index(label)
    features = [name for i, name in enumerate(header) if i != at]
    x = np.array([[float(v) for i, v in enumerate(r) if i != at] for r in body], dtype=np.float32)
    y = np.array([int(float(r[at])) for r in body], dtype=np.int64)
    return features, x, y


def build(params):
    kind = params.get("model", "logistic_regression")
    seed = int(params.get("seed", 0))
    if kind == "logistic_regression":
        return make_pipeline(StandardScaler(), LogisticRegression(C=float(params.get("C", 1.0)), max_iter=int(params.get("max_iter", 1000)), random_state=seed))
    if kind == "gradient_boosting":
        return GradientBoostingClassifier(n_estimators=int(params.get("n_estimators", 100)), max_depth=int(params.get("max_depth", 3)), random_state=seed)
    sys.exit(f"unknown model {kind!r} (logistic_regression or gradient_boosting)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", required=True)
    parser.add_argument("--holdout", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--params", default=os.environ.get("SLUICE_TRAINER_PARAMS", "{}"))
    args = parser.parse_args()
    params = json.loads(args.params)

    features, x, y = read_csv(args.train)
    _, hx, hy = read_csv(args.holdout)
    print(f"training on {len(y)} rows of {len(features)} features", file=sys.stderr)
    model = build(params).fit(x, y)
    if len(set(hy)) == 2:
        print(f"holdout roc_auc {roc_auc_score(hy, model.predict_proba(hx)[:, 1]):.4f} ({len(hy)} rows)", file=sys.stderr)

    # The ZipMap option belongs to the classifier itself: the pipeline's last step, or the model.
    classifier = model.steps[-1][1] if hasattr(model, "steps") else model
    onnx_model = to_onnx(
        model,
        initial_types=[(params.get("input_name", "float_input"), FloatTensorType([None, len(features)]))],
        # ZipMap off: probabilities as a float32 tensor [N, 2], the output Sluice reads the score from.
        options={id(classifier): {"zipmap": False}},
        target_opset=13,
    )
    with open(args.out, "wb") as f:
        f.write(onnx_model.SerializeToString())


if __name__ == "__main__":
    main()
