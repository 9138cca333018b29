"""The diabetes model's entry script as a v1 project with a `source_directory` has it: score.py
imports its helpers - a package (features/) and a module (bands.py) - from the folder shipped
beside it (the stack's `sourceDirectory: examples/diabetes-src/src`, `entryScript: score.py`)."""
import json
import os

import joblib
from azureml_inference_server_http.api.aml_response import AMLResponse

import bands
from features.rows import rows_of


def init():
    global model
    model = joblib.load(os.path.join(os.environ["AZUREML_MODEL_DIR"], "sklearn_regression_model.pkl"))


def run(raw_data):
    try:
        rows = rows_of(json.loads(raw_data))
    except (ValueError, KeyError, TypeError) as err:  # a request the model cannot take: a 400, not a 500
        return AMLResponse({"error": str(err)}, 400, json_str=True)
    return [{"progression": value, "band": bands.band(value)} for value in model.predict(rows).tolist()]
