"""Entry script for the diabetes model, as in the guide: init() once, run() per request.

The schema decorators publish the OpenAPI (swagger) document. Input is validated here, in run():
a wrong shape, strings, NaN or missing data get a 400 with a message, never a 500.
"""
import json
import math
import os

import joblib
import numpy as np
from azureml_inference_server_http.api.aml_response import AMLResponse
from inference_schema.parameter_types.numpy_parameter_type import NumpyParameterType
from inference_schema.parameter_types.standard_py_parameter_type import StandardPythonParameterType
from inference_schema.schema_decorators import input_schema, output_schema

N_FEATURES = 10
model = None


def init():
    global model
    # AZUREML_MODEL_DIR is the model's folder (one model) - the same layout as Azure ML.
    model_path = os.path.join(os.environ["AZUREML_MODEL_DIR"], "sklearn_regression_model.pkl")
    model = joblib.load(model_path)


input_sample = [[0.0381, 0.0507, 0.0617, 0.0219, -0.0442, -0.0348, -0.0434, -0.0026, 0.0199, -0.0176]]
output_sample = np.array([206.1])


def _bad_request(message):
    return AMLResponse(json.dumps({"error": message}), 400, {"Content-Type": "application/json"}, json_str=True)


def _validate(data):
    if not isinstance(data, list) or not data:
        return "'data' must be a non-empty list of rows"
    for i, row in enumerate(data):
        if not isinstance(row, list) or len(row) != N_FEATURES:
            return f"row {i} must be a list of {N_FEATURES} numbers"
        for value in row:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                return f"row {i} must hold only finite numbers"
    return None


@input_schema("data", StandardPythonParameterType(input_sample))
@output_schema(NumpyParameterType(output_sample))
def run(data):
    problem = _validate(data)
    if problem:
        return _bad_request(problem)
    return model.predict(np.asarray(data, dtype=float)).tolist()
