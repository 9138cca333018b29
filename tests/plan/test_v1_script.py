"""Which SDK v1 names a scoring script uses (read with ast, never run), and what a stack with an
unservable one is told."""
from __future__ import annotations

from pathlib import Path

import pytest

from mldeploy.config import ConfigError
from mldeploy.config.stack import ImageSettings
from mldeploy.plan.v1_script import check_entry_scripts, has_azureml_core, needs_shim, scan, v1_warnings

GUIDE_STYLE = """
import json
from azureml.core.model import Model
from azureml.contrib.services.aml_request import AMLRequest, rawhttp
from azureml.contrib.services.aml_response import AMLResponse

def init():
    global model
    model = Model.get_model_path('iris')
    other = Model.get_model_path(model_name='iris', version=2)

@rawhttp
def run(request):
    if request.method != 'POST':
        return AMLResponse("POST only", 405)
    return AMLResponse(json.dumps(request.method), 200)
"""


def test_the_guides_names_are_served():
    found = scan(GUIDE_STYLE)
    assert found.imports_core and found.uses_model_path
    assert found.unsupported == (), f"served names reported as unsupported: {found.unsupported}"
    assert found.model_names == ((9, "iris"), (10, "iris")), "only get_model_path's names, not AMLResponse's text"


def test_contrib_alone_needs_no_stand_in():
    found = scan("from azureml.contrib.services.aml_response import AMLResponse\n")
    assert not found.imports_core and not found.unsupported


@pytest.mark.parametrize("source, call", [
    ("from azureml.core import Workspace\nws = Workspace.from_config()\n", "Workspace.from_config"),
    ("from azureml.core.run import Run\nrun = Run.get_context()\n", "Run.get_context"),
    ("from azureml.core import Model\nm = Model(ws, 'x')\n", "Model(...)"),
    ("from azureml.core.model import Model\nModel.register(ws, 'p', 'n')\n", "Model.register"),
    ("import azureml.core\nws = azureml.core.Workspace.get('w')\n", "azureml.core.Workspace.get"),
    ("from azureml.core.webservice import AciWebservice\n", "from azureml.core.webservice import AciWebservice"),
])
def test_other_v1_calls_are_named(source, call):
    found = scan(source)
    assert call in [c.name for c in found.unsupported], f"{call!r} not found in {found.unsupported}"


def test_other_azureml_packages_are_left_alone():
    assert scan("import azureml.train.automl\nfrom azureml.automl.core import x\n").unsupported == ()


def test_a_script_that_does_not_parse_is_left_to_the_scorer():
    assert scan("def init(:\n") is None


def test_environment_with_azureml_core():
    assert has_azureml_core("dependencies:\n  - pip:\n    - azureml-defaults==1.60\n")
    assert has_azureml_core("azureml-core>=1.50\n")
    assert not has_azureml_core("azureml-inference-server-http==1.5.1\n")
    assert needs_shim(GUIDE_STYLE, "azureml-inference-server-http==1.5.1\n")
    assert not needs_shim(GUIDE_STYLE, "azureml-core==1.60\n")
    assert not needs_shim("import os\n", "")


class _Model:
    def __init__(self, path: str, registered_name: str | None = None):
        self.path = path
        self.registered_name = registered_name


class _Settings:
    def __init__(self, root: Path, script: str, env: str):
        # An entry script defines init() and run() (config refuses one without): added at the end,
        # so the lines the tests name stay where they are.
        # (run(data): azmlinfsrv refuses a run(*args) at start.)
        script += "".join(f"\n\ndef {f}({arg}):\n    pass\n" for f, arg in (("init", ""), ("run", "data"))
                          if f"def {f}(" not in script)
        (root / "score.py").write_text(script)
        (root / "requirements.txt").write_text(env)
        (root / "iris.pkl").write_text("m")
        self.models = {"iris": _Model("iris.pkl")}
        self.services = {}
        self.images = {"iris": ImageSettings.model_validate(
            {"entryScript": "score.py", "requirementsFile": "requirements.txt", "models": ["iris"]},
            context={"root": root})}


def test_stack_stops_with_one_line_naming_call_and_replacement(tmp_path):
    settings = _Settings(tmp_path, "from azureml.core import Run\n\ndef init():\n    Run.get_context().log('a', 1)\n",
                         "azureml-inference-server-http==1.5.1\n")
    with pytest.raises(ConfigError) as err:
        check_entry_scripts(settings, tmp_path)
    text = str(err.value)
    assert "\n" not in text
    assert text.startswith("mldeploy:images.iris.entryScript: score.py:4: Run.get_context is Azure ML SDK v1"), text
    assert "mldeploy logs" in text, f"the replacement is missing: {text}"


def test_with_azureml_core_installed_the_real_sdk_runs_it(tmp_path):
    settings = _Settings(tmp_path, "from azureml.core import Run\nrun = Run.get_context()\n", "azureml-core==1.60\n")
    check_entry_scripts(settings, tmp_path)


def test_synth_warns_once_per_script_with_the_v2_way(tmp_path):
    settings = _Settings(tmp_path, GUIDE_STYLE, "azureml-inference-server-http==1.5.1\n")
    settings.images["iris-again"] = settings.images["iris"]
    warnings = v1_warnings(settings, tmp_path)
    assert len(warnings) == 1 and "AZUREML_MODEL_DIR" in warnings[0], warnings


def test_a_model_name_the_image_does_not_hold_stops_the_stack(tmp_path):
    settings = _Settings(tmp_path, "from azureml.core.model import Model\n\ndef init():\n"
                                   "    p = Model.get_model_path(model_name='irs')\n", "scikit-learn\n")
    with pytest.raises(ConfigError) as err:
        check_entry_scripts(settings, tmp_path)
    text = str(err.value)
    assert "score.py:4: Model.get_model_path('irs') names no model of image 'iris' (its models: iris)" in text, text


@pytest.mark.parametrize("name", ["iris", "IRIS", "iris.pkl"])
def test_model_names_the_stand_in_finds(tmp_path, name):
    settings = _Settings(tmp_path, f"from azureml.core.model import Model\np = Model.get_model_path({name!r})\n", "")
    check_entry_scripts(settings, tmp_path)


def test_a_second_version_is_found_by_its_registered_name(tmp_path):
    # Day 2 of a new user: `wine-v2: {registeredName: wine, version: 2}`; the v1 script keeps
    # get_model_path('wine'), as Azure ML's v1 finds a model by its registered name; the image
    # holds it at azureml-models/wine/2/.
    settings = _Settings(tmp_path, "from azureml.core.model import Model\np = Model.get_model_path('wine')\n", "")
    settings.models = {"wine-v2": _Model("iris.pkl", registered_name="wine")}
    settings.images["iris"] = settings.images["iris"].model_copy(update={"models": ["wine-v2"]})
    check_entry_scripts(settings, tmp_path)


def test_a_script_python_cannot_parse_for_depth_is_left_to_the_scorer():
    assert scan("x = " + "-" * 200_000 + "1\n") is None, "the parser's MemoryError, not a traceback"


def test_with_azureml_defaults_the_warning_names_the_real_sdk_not_the_stand_in(tmp_path):
    """A v1 myenv.yml lists azureml-defaults (v1 required it): the real azureml-core then serves
    get_model_path, and the warning says so and which line to drop for the stand-in."""
    settings = _Settings(tmp_path, GUIDE_STYLE, "azureml-defaults\nscikit-learn\n")
    [warning] = v1_warnings(settings, tmp_path)
    assert "stand-in for azureml-core;" not in warning, warning
    assert "served by azureml-core itself, which requirements.txt installs (azureml-defaults" in warning, warning


class _V2Service:
    """A service Azure ML builds the image of (a v2 online endpoint's deployments)."""
    target = "managed"

    def images_built_in_azure(self):
        return {"iris"}


def test_on_a_v2_endpoint_azureml_core_s_get_model_path_is_warned_once_with_the_way_out(tmp_path):
    """On a v2 online deployment AML_APP_ROOT is the scoring script's folder (Azure/azure-sdk-for-python
    PR 30296), where azureml-core's get_model_path looks: the model mounted elsewhere is not found."""
    settings = _Settings(tmp_path, GUIDE_STYLE, "azureml-defaults\nscikit-learn\n")
    settings.services = {"iris": _V2Service()}
    [warning] = v1_warnings(settings, tmp_path)
    assert "on services.iris (managed) Azure ML sets AML_APP_ROOT to the scoring script's folder" in warning, warning
    assert "ModelNotFoundException" in warning and "azureml-inference-server-http in its place" in warning, warning


def test_on_a_v2_endpoint_the_stand_in_is_not_warned_about(tmp_path):
    settings = _Settings(tmp_path, GUIDE_STYLE, "azureml-inference-server-http==1.5.1\n")
    settings.services = {"iris": _V2Service()}
    [warning] = v1_warnings(settings, tmp_path)
    assert "stand-in for azureml-core;" in warning and "ModelNotFoundException" not in warning, warning
