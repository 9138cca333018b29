"""Entry script for the diabetes model, as in the guide: init() once, run() per request.

The schema decorators publish the OpenAPI (swagger) document. Input is validated here, in run():
a wrong shape or type, strings, NaN, missing data or a prediction out of range get a 400 with a
message, never a 500 (the server's own checks cover a body that is not a JSON object).
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


def _answer_undecodable_bodies_with_400():
    """azureml-inference-server-http 1.5.1 answers a body that is not UTF-8 text (e.g. b"\\xff\\xfe{")
    with a 500: json.loads raises UnicodeDecodeError, which its parser does not catch. Turn that
    into the 400 it gives for every other malformed body. A no-op if the server's internals move."""
    try:
        from azureml_inference_server_http.server import input_parsers
    except ImportError:
        return
    parse = input_parsers.ObjectInput._parse_post_input
    if getattr(parse, "_mldeploy_patched", False):
        return

    def parse_post_input(self, request):
        try:
            return parse(self, request)
        except UnicodeDecodeError as ex:
            raise input_parsers.BadInput(f"POST body is not UTF-8 JSON: {ex.reason}") from None

    parse_post_input._mldeploy_patched = True
    input_parsers.ObjectInput._parse_post_input = parse_post_input


_answer_undecodable_bodies_with_400()


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
