"""Entry script for the diabetes model, as in the guide: init() once, run() per request.

The schema decorators publish the OpenAPI (swagger) document. Input is validated here, in run():
a wrong shape or type, strings, NaN, missing data or a prediction out of range get a 400 with a
message, never a 500 (the server's own checks cover a body that is not JSON or not an object).
"""
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


class _AnyJson(StandardPythonParameterType):
    """Documents the sample's type in the swagger, but hands any JSON value to run(): the
    stock type raises on a mismatch before run() is called, which the server turns into a 500."""

    def __init__(self, sample_input):
        super().__init__(sample_input)
        # The decorator converts (and type-checks) by `sample_data_type`; `object` matches any value.
        self.sample_data_type = object


def _bad_request(message):
    return AMLResponse({"error": message}, 400, json_str=True)


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


@input_schema("data", _AnyJson(input_sample))
@output_schema(NumpyParameterType(output_sample))
def run(data):
    problem = _validate(data)
    if problem:
        return _bad_request(problem)
    predictions = model.predict(np.asarray(data, dtype=float))
    if not np.all(np.isfinite(predictions)):
        # Huge inputs overflow; NaN/inf are not valid JSON, so they never leave as a 200.
        return _bad_request("the inputs are out of the model's range: the prediction is not finite")
    return predictions.tolist()
