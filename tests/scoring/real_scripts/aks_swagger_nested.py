# A real scoring script, from github.com/Azure/MachineLearningNotebooks
# how-to-use-azureml/deployment/production-deploy-to-aks/production-deploy-to-aks-swagger.ipynb
#   (cell 11, %%writefile)
# at commit 6d1ab38261628f8895b0d6da8557d34bd720bee3
# (MIT License, Copyright (c) Microsoft Corporation; the repository's LICENSE).
# One line changed: `from sklearn.externals import joblib` -> `import joblib` (as above).
# Served by tests/scoring/test_real_scripts_contract.py under azmlinfsrv and mldeploy's host.
import os
import pickle
import json
import numpy as np
import pandas as pd
import joblib
from sklearn.linear_model import Ridge

from inference_schema.schema_decorators import input_schema, output_schema
from inference_schema.parameter_types.standard_py_parameter_type import StandardPythonParameterType
from inference_schema.parameter_types.numpy_parameter_type import NumpyParameterType
from inference_schema.parameter_types.pandas_parameter_type import PandasParameterType



def init():
    global model
    # AZUREML_MODEL_DIR is an environment variable created during deployment.
    # It is the path to the model folder (./azureml-models/$MODEL_NAME/$VERSION)
    # For multiple models, it points to the folder containing all deployed models (./azureml-models)
    model_path = os.path.join(os.getenv('AZUREML_MODEL_DIR'), 'sklearn_regression_model.pkl')
    # deserialize the model file back into a sklearn model
    model = joblib.load(model_path)
    
# providing sample input for schema generation
numpy_sample_input = NumpyParameterType(np.array([[1,2,3,4,5,6,7,8,9,10],[10,9,8,7,6,5,4,3,2,1]],dtype='float64'))
pandas_sample_input = PandasParameterType(pd.DataFrame({'name': ['Sarah', 'John'], 'age': [25, 26]}))
standard_sample_input = StandardPythonParameterType(0.0)

# This is a nested input sample, any item wrapped by `ParameterType` will be described by schema
sample_input = StandardPythonParameterType({'input1': numpy_sample_input, 
                                            'input2': pandas_sample_input, 
                                            'input3': standard_sample_input})
sample_output = StandardPythonParameterType([1.0, 1.0])

@input_schema('inputs', sample_input)
@output_schema(sample_output)
def run(inputs):
    try:
        data = inputs['input1']
        # data will be convert to target format
        assert isinstance(data, np.ndarray)
        result = model.predict(data)
        return result.tolist()
    except Exception as e:
        error = str(e)
        return error
