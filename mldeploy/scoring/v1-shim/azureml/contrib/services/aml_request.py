# The inference server's own module under the v1 name: `rawhttp` sets the server's flag.
from azureml_inference_server_http.api.aml_request import AMLRequest, rawhttp  # noqa: F401
