"""The scoring process: what runs inside every scoring image (and `mldeploy serve`'s scorer).

Its modules are copied into each build context and run by the scoring environment's Python,
where mldeploy is not installed: they import only the standard library and the scoring
server's own packages, never anything of mldeploy (an import contract checks it). The render
layer reads them as files; the local runtime runs them. One module here is mldeploy's own and is
never copied: environment.py, which reads an image's environment file against the versions the
host was tested against (scorer_host.TESTED_VERSIONS) for config, render and runtime alike.
"""
from pathlib import Path

# The files themselves: copied into build contexts (render) and run by the local target (runtime).
SCORER_HOST = Path(__file__).with_name("scorer_host.py")
SCORING_APP = Path(__file__).with_name("scoring_app.py")
WSGI_ON_ASGI = Path(__file__).with_name("wsgi_on_asgi.py")  # with scoring_app.py: serves it on granian's ASGI
SCORING_BATCHER = Path(__file__).with_name("scoring_batcher.py")  # only in images with `batching`
# The stand-in for azureml-core's Model.get_model_path (and azureml.contrib.services), a folder
# holding the `azureml` package: placed next to an entry script that imports azureml.core when
# its environment lacks azureml-core (mldeploy/plan/v1_script.py decides, render copies it).
V1_SHIM = Path(__file__).with_name("v1-shim")
