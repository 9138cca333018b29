# A real scoring script, from github.com/Azure/azureml-examples
# cli/endpoints/online/custom-container/advanced-byoc-multimodel/code/score.py (+ handler.py; model/
#   replaced by stand-ins: transformers GPT-Neo/OPT)
# at commit aac6309c0c373d222f6a3819d00c57768a115842
# (MIT License, Copyright (c) Microsoft Corporation; the repository's LICENSE).
# Served with the example's handler.py and model/__init__.py beside it; its model/gpt.py and
#   model/opt.py (transformers GPT-Neo/OPT checkpoints) are replaced by stand-ins in the test.
# Served by tests/scoring/test_real_scripts_contract.py under azmlinfsrv and mldeploy's host.
from handler import Handler
from azureml.contrib.services.aml_request import rawhttp
import json 
from PIL import Image
from io import BytesIO
import logging 
import os 

def init(): 
    global handler
    handler = Handler(os.getenv("AZUREML_MODEL_DIR"))

@rawhttp 
def run(request):
    model = request.headers.get("Model")
    payload = json.loads(request.json)
    res = handler.infer(model, payload['value'])
    return res
        
    
