from azureml_inference_server_http.api.aml_response import AMLResponse  # noqa: F401
