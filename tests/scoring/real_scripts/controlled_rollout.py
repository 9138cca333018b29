# A real scoring script, from github.com/Azure/MachineLearningNotebooks
# how-to-use-azureml/deployment/deploy-with-controlled-rollout/score.py
# at commit 7a3ab1e44cb6d07325f1df8719dd8f76e59dbb4d
# (MIT License, Copyright (c) Microsoft Corporation; the repository's LICENSE).
# One line changed: `from sklearn.externals import joblib` -> `import joblib` (scikit-learn removed
#   sklearn.externals.joblib in 0.23; unchanged, the script stops at import under both servers
#   alike, exit 3).
# Served by tests/scoring/test_real_scripts_contract.py under azmlinfsrv and mldeploy's host.
import pickle
import json
import numpy
import joblib
from sklearn.linear_model import Ridge
from azureml.core.model import Model


def init():
    global model
    # note here "sklearn_regression_model.pkl" is the name of the model registered under
    # this is a different behavior than before when the code is run locally, even though the code is the same.
    model_path = Model.get_model_path('sklearn_regression_model.pkl')
    # deserialize the model file back into a sklearn model
    model = joblib.load(model_path)


# note you can pass in multiple rows for scoring
def run(raw_data):
    try:
        data = json.loads(raw_data)['data']
        data = numpy.array(data)
        result = model.predict(data)
        # you can return any data type as long as it is JSON-serializable
        return result.tolist()
    except Exception as e:
        error = str(e)
        return error
