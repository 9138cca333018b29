# A real scoring script, from github.com/Azure/azureml-examples
# cli/endpoints/online/managed/binary-payloads/code/multi-file-to-json-score.py
# at commit 085cd6ea399038c1e07843acff811f34261c0887
# (MIT License, Copyright (c) Microsoft Corporation; the repository's LICENSE).
# Unchanged below this header.
# Served by tests/scoring/test_real_scripts_contract.py under azmlinfsrv and mldeploy's host.
from azureml.contrib.services.aml_request import AMLRequest, rawhttp
from PIL import Image


def init():
    pass


@rawhttp
def run(req: AMLRequest):
    files = req.files.getlist("file[]")
    sizes = [{"filename": f.filename, "size": Image.open(f.stream).size} for f in files]
    return {"response": sizes}
