# mldeploy's stand-in for the parts of the retired Azure ML SDK v1 (azureml-core) that scoring
# scripts use: azureml.core.model.Model.get_model_path and azureml.contrib.services. Placed next
# to the entry script only when the script imports azureml.core and its environment does not
# install azureml-core (mldeploy/plan/v1_script.py). A namespace package the pkgutil way, as
# azureml-core's own `azureml/__init__.py` is: other azureml-* packages stay importable.
__path__ = __import__("pkgutil").extend_path(__path__, __name__)
