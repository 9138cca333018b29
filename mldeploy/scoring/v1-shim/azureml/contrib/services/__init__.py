# azureml.contrib.services for scripts imported outside the scoring server: inside it,
# azureml-inference-server-http maps these module names to its own modules before the entry
# script is imported (azureml_inference_server_http/server/__init__.py), and those win.
