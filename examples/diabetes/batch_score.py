"""Batch driver for the diabetes model (Azure ML batch deployments): init() once per worker,
run(mini_batch) per list of input files. Each CSV has a header row and 10 feature columns.

run() returns one line per input row, `<file>,<row>,<prediction>`; with output action
AppendRow Azure ML appends them to the job's predictions file. `mldeploy batch` runs this same
script locally over a folder of CSVs.
"""
import csv
import os

import joblib
import numpy as np

N_FEATURES = 10
model = None


def init():
    global model
    # AZUREML_MODEL_DIR is the registered model's folder, as Azure ML sets it.
    model = joblib.load(os.path.join(os.environ["AZUREML_MODEL_DIR"], "sklearn_regression_model.pkl"))


def _read_rows(path):
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None or len(header) != N_FEATURES:
            raise ValueError(f"{path}: expected a header with {N_FEATURES} columns")
        rows = [[float(v) for v in row] for row in reader if row]
    for i, row in enumerate(rows):
        if len(row) != N_FEATURES:
            raise ValueError(f"{path}: row {i} has {len(row)} values, expected {N_FEATURES}")
    return np.asarray(rows, dtype=float).reshape(-1, N_FEATURES)


def run(mini_batch):
    results = []
    for path in mini_batch:
        rows = _read_rows(path)
        name = os.path.basename(path)
        for i, prediction in enumerate(model.predict(rows)):
            results.append(f"{name},{i},{float(prediction)!r}")
    return results
