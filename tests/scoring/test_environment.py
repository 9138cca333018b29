"""The scorer host's pins (mldeploy/scoring/environment.py): every image and local environment
gets the azmlinfsrv and granian versions the host was tested against; a pin that excludes them
is refused (the exit 2 itself: tests/cli/test_bad_stacks.py, `scorer-pin` cases)."""
from __future__ import annotations

import pytest

from mldeploy.scoring.environment import conda_to_pip, pin_conflict, scorer_pins
from mldeploy.scoring.scorer_host import GRANIAN_PACKAGE, SERVER_PACKAGE, TESTED_VERSIONS

SERVER = f"{SERVER_PACKAGE}=={TESTED_VERSIONS[SERVER_PACKAGE]}"
GRANIAN = f"{GRANIAN_PACKAGE}=={TESTED_VERSIONS[GRANIAN_PACKAGE]}"


def conda(*deps: str, pip: tuple[str, ...] = ()) -> str:
    lines = ["name: x", "dependencies:", "  - python=3.11", *(f"  - {d}" for d in deps)]
    if pip:
        lines += ["  - pip:", *(f"      - {p}" for p in pip)]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("kind, text, server, pin, excluded", [
    ("pip", "granian==2.8.6\n", "mldeploy", "granian==2.8.6", "granian 2.8.7"),
    ("pip", "granian>=2.9,<3\n", "mldeploy", "granian>=2.9,<3", "granian 2.8.7"),
    ("pip", "granian[reload]~=2.9.0\n", "mldeploy", "granian[reload]~=2.9.0", "granian 2.8.7"),
    ("pip", "Granian<2.8.7\n", "mldeploy", "Granian<2.8.7", "granian 2.8.7"),
    ("pip", "granian!=2.8.7\n", "mldeploy", "granian!=2.8.7", "granian 2.8.7"),
    ("pip", "azureml_inference_server_http==1.4.0\n", "azmlinfsrv", "azureml_inference_server_http==1.4.0",
     "azureml-inference-server-http 1.5.1"),
    ("pip", "AzureML-Inference-Server-HTTP>1.5.1  # newer\n", "mldeploy", "AzureML-Inference-Server-HTTP>1.5.1",
     "azureml-inference-server-http 1.5.1"),
    ("pip", "azureml.inference.server.http<=1.5.0 --hash=sha256:00\n", "mldeploy",
     "azureml.inference.server.http<=1.5.0", "azureml-inference-server-http 1.5.1"),
    ("conda", conda(pip=("granian>=2.9",)), "mldeploy", "granian>=2.9", "granian 2.8.7"),
    ("conda", conda("conda-forge::granian=2.9"), "mldeploy", "granian==2.9.*", "granian 2.8.7"),
    ("conda", conda("granian 2.9.1"), "mldeploy", "granian==2.9.1.*", "granian 2.8.7"),
    ("conda", conda("granian>=3"), "mldeploy", "granian>=3", "granian 2.8.7"),
    ("conda", conda(pip=("azureml-inference-server-http==1.4.2",)), "azmlinfsrv",
     "azureml-inference-server-http==1.4.2", "azureml-inference-server-http 1.5.1"),
])
def test_a_pin_that_excludes_the_tested_version_is_a_conflict_naming_both(kind, text, server, pin, excluded):
    assert pin_conflict(kind, text, server) == (
        f"{pin!r} excludes {excluded}, the version mldeploy's scorer host is tested against (it patches "
        f"{excluded.split()[0]}'s internals; scoringServer {server}): leave {excluded.split()[0]} out or allow "
        f"{excluded.split()[1]}, e.g. {excluded.replace(' ', '==')}")


@pytest.mark.parametrize("kind, text", [
    ("pip", "granian @ https://example.invalid/granian-2.8.7.whl\n"),
    ("pip", "granian[version>='2.9']\n"),
])
def test_a_pin_whose_versions_cannot_be_told_is_refused(kind, text):
    assert pin_conflict(kind, text, "mldeploy"), text


@pytest.mark.parametrize("kind, text", [
    ("pip", "numpy\n"),
    ("pip", "granian\nazureml-inference-server-http\n"),
    ("pip", "granian>=2.8,<3\nazureml-inference-server-http~=1.5.0\n"),
    ("pip", "granian[reload]==2.8.7\n"),
    ("pip", "azureml-defaults==1.60.0\n"),  # requires azureml-inference-server-http~=1.3
    ("conda", conda("granian=2.8", pip=("azureml-inference-server-http>=1.4",))),
    ("conda", conda("conda-forge::granian==2.8.7")),
])
def test_a_compatible_or_absent_pin_is_no_conflict(kind, text):
    assert pin_conflict(kind, text, "mldeploy") is None


def test_granian_is_no_concern_of_the_azmlinfsrv_server():
    assert pin_conflict("pip", "granian==1.0\n", "azmlinfsrv") is None
    assert scorer_pins("pip", "granian==1.0\n", "azmlinfsrv") == [SERVER]


@pytest.mark.parametrize("kind, text, added", [
    ("pip", "numpy\n", [SERVER, GRANIAN]),
    ("pip", "granian>=2.8\nazureml-inference-server-http\n", [SERVER, GRANIAN]),
    ("pip", "azureml-defaults\n", [SERVER, GRANIAN]),
    ("pip", "granian[reload]==2.8.7\n", [SERVER]),  # exactly ours, with extras
    ("pip", "Azureml_Inference_Server_Http==1.5.1\ngranian==2.8.7\n", []),  # exactly ours already
    ("conda", conda(pip=("azureml-inference-server-http==1.5.1",)), [GRANIAN]),
])
def test_the_tested_versions_are_added_unless_the_file_pins_exactly_them(kind, text, added):
    assert scorer_pins(kind, text, "mldeploy") == added


@pytest.mark.parametrize("spec, pip", [
    ("scikit-learn=1.5", "scikit-learn==1.5.*"), ("conda-forge::numpy>=1.26", "numpy>=1.26"),
    ("granian 2.8", "granian==2.8.*"), ("granian=2.8.7=py311_0", "granian==2.8.7.*"), ("python=3.11", None),
])
def test_conda_specs_read_as_pip_requirements(spec, pip):
    assert conda_to_pip(spec) == pip
