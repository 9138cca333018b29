"""The diabetes model with two test hooks, for the pod tests of timeouts and draining:
`{"data": rows, "sleepSeconds": s}` sleeps s seconds before predicting, and every prediction is
sent to the model-data collector the pod runs (AZUREML_MDC_HOST/PORT), as azureml-ai-monitoring's
Collector sends to it: one POST per record, the collection in the `ce-type` header."""
import json
import os
import time
import urllib.request

import joblib
import numpy as np

model = None


def init():
    global model
    model = joblib.load(os.path.join(os.environ["AZUREML_MODEL_DIR"], "sklearn_regression_model.pkl"))


def _collect(collection, payload):
    host, port = os.environ.get("AZUREML_MDC_HOST"), os.environ.get("AZUREML_MDC_PORT")
    if os.environ.get("AZUREML_MDC_ENABLED") != "true" or not host:
        return
    request = urllib.request.Request(f"http://{host}:{port}/modeldata/log", data=json.dumps(payload).encode(),
                                     headers={"Content-Type": "application/json",
                                              "ce-type": f"azureml.inference.{collection}"}, method="POST")
    urllib.request.urlopen(request, timeout=5).close()


def run(raw):
    body = json.loads(raw) if isinstance(raw, (str, bytes)) else raw
    time.sleep(float(body.get("sleepSeconds", 0)))
    predictions = model.predict(np.asarray(body["data"], dtype=float)).tolist()
    _collect("model_outputs", {"id": body.get("id"), "predictions": predictions})
    return predictions
