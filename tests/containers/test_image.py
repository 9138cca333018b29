"""The scoring image as synthesized, built with the engine from its build context (Dockerfile
unchanged, its base resolving to a stand-in): the HEALTHCHECK must report healthy.

The requirements-file path is a variation of the prod stack (requirementsFile including, with `-r`,
a file with the pip part of examples/diabetes/myenv.yml); the conda path is the prod stack itself, built on the
micromamba stand-in (see tests/containers/standins/README.md for what that does not exercise)."""
from __future__ import annotations

import shutil

import pytest
import yaml

from tests.containers.checks import healthcheck_problem
from tests.containers.synthesized import build_images, load_objects, synth_to
from tests.harness import ROOT, stack_values

REQUIREMENTS = "build/container-tests/diabetes-requirements.txt"
INCLUDED = "build/container-tests/env/base.txt"


@pytest.fixture(scope="module")
def pip_image(engine, standins, work_dir):
    env = yaml.safe_load((ROOT / "examples" / "diabetes" / "myenv.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    (ROOT / REQUIREMENTS).parent.mkdir(parents=True, exist_ok=True)
    # Every requirement in an included file (pip's `-r`, relative to the including file): the image is
    # healthy only if the build copied base.txt where pip finds it (the scorer's own server pin included).
    (ROOT / INCLUDED).parent.mkdir(parents=True, exist_ok=True)
    (ROOT / INCLUDED).write_text("\n".join(pip) + "\n")
    (ROOT / REQUIREMENTS).write_text("-r env/base.txt\n")
    values, _ = stack_values("prod")
    image = values["mldeploy:images"]["diabetes"]
    image.pop("condaFile")
    image["requirementsFile"] = REQUIREMENTS
    out = synth_to("prod", work_dir / "synth-prod-pip", values=values)
    dockerfile = (out / "images" / "diabetes" / "Dockerfile").read_text()
    assert "FROM python:3.11-slim" in dockerfile, "the variation must take the requirements-file path"
    assert "RUN pip install --no-cache-dir -r /tmp/environment/diabetes-requirements.txt" in dockerfile
    assert "azureml-inference-server-http" not in dockerfile, "base.txt's exact server pin: no second install"
    return build_images(engine, out, work_dir / "logs")["diabetes"]


def test_requirements_file_image_reports_healthy(engine, pip_image):
    assert healthcheck_problem(engine, pip_image) is None


def test_conda_image_reports_healthy(engine, prod_images):
    assert healthcheck_problem(engine, prod_images["diabetes"]) is None


def test_conda_image_keeps_the_pods_home_under_the_pods_uid(engine, prod_images, prod_synth):
    """micromamba's entrypoint must not replace the pod's HOME by a folder on the read-only root."""
    pod = load_objects(prod_synth, "diabetes")[("Deployment", "diabetes")]["spec"]["template"]["spec"]
    scorer = next(c for c in pod["containers"] if c["name"] == "scorer")
    home = next(e["value"] for e in scorer["env"] if e["name"] == "HOME")
    uid = scorer["securityContext"]["runAsUser"]
    done = engine.run("run", "--rm", "--user", f"{uid}:{uid}", "--read-only", "--read-only-tmpfs=false",
                      "--tmpfs", f"{home}:mode=1777", "-e", f"HOME={home}", prod_images["diabetes"],
                      "sh", "-c", 'touch "$HOME/.written" && echo "$HOME"', check=False)
    out = done.stdout.decode().strip()
    assert done.returncode == 0 and out == home, \
        f"scorer HOME should stay {home} and be writable: exit {done.returncode}, HOME={out!r} {done.stderr[-300:]!r}"


def test_mutation_healthcheck_removed_is_caught(engine, prod_synth, work_dir):
    """A build context whose Dockerfile lost its HEALTHCHECK fails the health check."""
    mutated = work_dir / "mutated-no-healthcheck"
    shutil.copytree(prod_synth / "images" / "diabetes", mutated / "images" / "diabetes")
    dockerfile = mutated / "images" / "diabetes" / "Dockerfile"
    lines = dockerfile.read_text().splitlines()
    i = next(i for i, line in enumerate(lines) if line.startswith("HEALTHCHECK"))
    del lines[i:i + 2]  # the instruction and its continued CMD line
    dockerfile.write_text("\n".join(lines) + "\n")
    image = build_images(engine, mutated, work_dir / "logs")["diabetes"]
    assert healthcheck_problem(engine, image) is not None, "a missing HEALTHCHECK went unnoticed"
