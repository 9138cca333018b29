# mldeploy's stand-in for azureml-core (see azureml/__init__.py): only `Model.get_model_path`.
__path__ = __import__("pkgutil").extend_path(__path__, __name__)

from azureml.core.model import Model  # noqa: E402,F401 - `from azureml.core import Model`
