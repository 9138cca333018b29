# A real scoring script, from github.com/Azure/azureml-examples
# cli/endpoints/online/custom-container/minimal/multimodel/code/minimal-multimodel-score.py
# at commit 085cd6ea399038c1e07843acff811f34261c0887
# (MIT License, Copyright (c) Microsoft Corporation; the repository's LICENSE).
# Unchanged below this header.
# Served by tests/scoring/test_real_scripts_contract.py under azmlinfsrv and mldeploy's host.
import joblib
import os
import pandas as pd
from pathlib import Path
import json

models = None


def init():
    global models
    model_dir = Path(os.getenv("AZUREML_MODEL_DIR")) / "models"
    models = {m[:-4]: joblib.load(model_dir / m) for m in os.listdir(model_dir)}


def run(data):
    data = json.loads(data)
    model = models[data["model"]]
    payload = pd.DataFrame(data["data"])
    try:
        ret = model.predict(payload)
        return pd.DataFrame(ret).to_json()
    except KeyError:
        raise KeyError("No such model")
