"""Entry script of the batching example (a 300-tree random forest): an undecorated run() that
reads the JSON body itself, as many of the guide's scripts do. Nothing in it knows about
batching: with `images.forest.batching` the scorer hands run() the rows of several requests at
once (one `data` array) and splits the list it returns back per request.

A wrong shape, strings, NaN or missing data get a 400 with a message, never a 500.
"""
import json
import math
import os

import joblib
import numpy as np
from azureml_inference_server_http.api.aml_response import AMLResponse

N_FEATURES = 10
model = None


def init():
    global model
    model = joblib.load(os.path.join(os.environ["AZUREML_MODEL_DIR"], "forest.pkl"))


def _problem(data):
    if not isinstance(data, list) or not data:
        return "'data' must be a non-empty list of rows"
    for i, row in enumerate(data):
        if not isinstance(row, list) or len(row) != N_FEATURES:
            return f"row {i} must be a list of {N_FEATURES} numbers"
        for value in row:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                return f"row {i} must hold only finite numbers"
    return None


def run(raw_data):
    try:
        data = json.loads(raw_data)["data"]
    except (ValueError, KeyError, TypeError):
        return AMLResponse({"error": "the body must be a JSON object with a 'data' list of rows"}, 400, json_str=True)
    problem = _problem(data)
    if problem:
        return AMLResponse({"error": problem}, 400, json_str=True)
    return model.predict(np.asarray(data, dtype=float)).tolist()
