"""`mldeploy serve --containers` as a user runs it (a child process): the prod service's pod
built and run from its synthesized manifests, scored through the published gateway port; and
the one-line errors when no engine answers or a build fails."""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from mldeploy.runtime.client import score
from mldeploy.runtime.containers import PODMAN_SETTINGS, BuildError, podman_settings_env
from mldeploy.runtime.processes import free_port
from mldeploy.runtime.synthesized_pod import mirrored_upstream
from tests.containers.synthesized import standin_for
from tests.harness import MLDEPLOY, ROOT, serving
from tests.runtime.test_tls_e2e import self_signed

SAMPLE = ROOT / "examples" / "diabetes" / "sample-request.json"


def test_serve_containers_runs_the_prod_pod_and_scores_through_the_published_port(
        engine, standins, prod_synth, tmp_path, trained_model):
    cert, key = self_signed("127.0.0.1")
    (tmp_path / "tls.crt").write_text(cert)
    (tmp_path / "tls.key").write_text(key)
    images = []
    for repo in ("nginx", "vector"):
        upstream = mirrored_upstream(prod_synth, repo)
        images += ["--image", f"{upstream}={standin_for(upstream, standins.images)}"]
    port = free_port()
    with serving("--stack", "prod", "--service", "diabetes", "--containers", "--json", "--port", str(port),
                 "--tls-cert", str(tmp_path / "tls.crt"), "--tls-key", str(tmp_path / "tls.key"), *images,
                 cwd=ROOT, stop_timeout=120) as served:
        endpoint = served.endpoint
        reply = score(endpoint["scoringUri"], endpoint["secondaryKey"], SAMPLE.read_bytes(),
                      cafile=str(tmp_path / "tls.crt"))
        assert reply.status == 200, f"{endpoint['scoringUri']}: {reply.status} {reply.error or reply.text()[:200]}"
        assert endpoint["scoringUri"] == f"https://127.0.0.1:{port}/score"
    assert served.proc.returncode == 0, f"serve --containers exited {served.proc.returncode}: {served.err[-1000:]}"


def test_serve_containers_runs_the_dev_aci_group_and_scores_through_the_published_port(
        engine, standins, dev_synth, trained_model):
    upstream = mirrored_upstream(dev_synth, "nginx")
    port = free_port()
    with serving("--stack", "dev", "--service", "diabetes-aci", "--containers", "--json", "--port", str(port),
                 "--image", f"{upstream}={standin_for(upstream, standins.images)}", cwd=ROOT, stop_timeout=120) as served:
        endpoint = served.endpoint
        assert endpoint["scoringUri"] == f"http://127.0.0.1:{port}/score"
        assert score(endpoint["scoringUri"], None, SAMPLE.read_bytes()).status == 401, "the ACI gateway let a request without key through"
        reply = score(endpoint["scoringUri"], endpoint["primaryKey"], SAMPLE.read_bytes())
        assert reply.status == 200, f"{endpoint['scoringUri']}: {reply.status} {reply.error or reply.text()[:200]}"
    assert served.proc.returncode == 0, f"serve --containers exited {served.proc.returncode}: {served.err[-1000:]}"


def test_serve_containers_runs_the_managed_endpoint_with_two_versions_of_one_model(engine, standins, trained_model):
    """Stack managed: blue serves diabetes:1, green and shadow diabetes:2, each from its own image
    as a container behind the endpoint's front door; pinned requests show each deployment
    answering with its own model version's predictions."""
    import joblib
    import numpy as np

    from tests.conftest import MODEL, MODEL_V2

    port = free_port()
    with serving("--stack", "managed", "--service", "diabetes", "--containers", "--json", "--port", str(port),
                 cwd=ROOT, stop_timeout=120) as served:
        endpoint = served.endpoint
        assert endpoint["scoringUri"] == f"http://127.0.0.1:{port}/score"
        assert score(endpoint["scoringUri"], None, SAMPLE.read_bytes()).status == 401, "the endpoint let a request without key through"
        answers = {}
        for deployment in ("blue", "green", "shadow"):
            reply = score(endpoint["scoringUri"], endpoint["primaryKey"], SAMPLE.read_bytes(),
                          extra_headers={"azureml-model-deployment": deployment})
            assert reply.status == 200, f"{deployment}: {reply.status} {reply.error or reply.text()[:200]}"
            assert reply.headers.get("azureml-model-deployment") == deployment, reply.headers
            answers[deployment] = json.loads(reply.body)
    rows = np.asarray(json.loads(SAMPLE.read_text())["data"], dtype=float)
    v1, v2 = joblib.load(MODEL).predict(rows), joblib.load(MODEL_V2).predict(rows)
    assert not np.allclose(v1, v2), "the example's two model versions must predict differently for this test to mean anything"
    assert np.allclose(answers["blue"], v1), f"blue must serve diabetes:1: {answers['blue']} vs {v1}"
    assert np.allclose(answers["green"], v2), f"green must serve diabetes:2: {answers['green']} vs {v2}"
    assert np.allclose(answers["shadow"], v2), f"shadow must serve diabetes:2 like green: {answers['shadow']}"
    assert served.proc.returncode == 0, f"serve --containers exited {served.proc.returncode}: {served.err[-1000:]}"
    left = engine.run("ps", "-a", "--format", "{{.Names}}", check=False).stdout.decode()
    assert "mldeploy-managed-diabetes-" not in left, f"the deployments' containers were left behind: {left}"


def test_no_container_engine_is_one_error_line(tmp_path):
    env = {**os.environ, "MLDEPLOY_CONTAINER_ENGINE": "no-such-engine"}
    done = subprocess.run([*MLDEPLOY, "serve", "--stack", "prod", "--service", "diabetes", "--containers"],
                          cwd=ROOT, capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 1 and done.stderr.strip().splitlines() == [
        "error: container engine 'no-such-engine' is not installed or `no-such-engine info` fails"], done.stderr


def test_a_failed_build_names_the_log_and_shows_its_tail(engine, standins, tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM docker.io/library/python:3.11-slim\n"
                                         "RUN echo build-step-marker && false\n")
    try:
        engine.build(tmp_path, "localhost/mldeploy-test/broken:1", log=tmp_path / "build.log")
    except BuildError as err:
        message = str(err)
    else:
        raise AssertionError("a Dockerfile with a failing RUN built")
    assert message.startswith("building localhost/mldeploy-test/broken:1 failed"), message
    assert "build-step-marker" in message and str(tmp_path / "build.log") in message, message


def test_podman_runs_the_containers_with_mldeploy_s_settings_and_no_containers_conf(engine, standins):
    """No CONTAINERS_CONF from the suite: find_engine() applied mldeploy's settings (on this kind
    of machine podman's own ulimits are refused: `error setting rlimit type 7`)."""
    assert "CONTAINERS_CONF" not in os.environ, "the suite must not set the engine's settings itself"
    if engine.name == "podman" and podman_settings_env():
        assert engine.settings == str(PODMAN_SETTINGS)
    python = standins.images["python"]
    assert engine.out("run", "--rm", python, "python", "-c", "print('ran')") == "ran"


def _user_project(tmp_path: Path, model: Path) -> Path:
    done = subprocess.run([*MLDEPLOY, "init", "--model", str(model), "--target", "aci"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return tmp_path


def test_a_base_image_that_cannot_be_pulled_is_named_with_how_to_provide_it(engine, tmp_path, trained_model):
    project = _user_project(tmp_path, trained_model)
    stack = project / "stacks" / "Pulumi.dev.yaml"
    stack.write_text(stack.read_text().replace("      condaFile: environment.yml\n",
                                               "      condaFile: environment.yml\n"
                                               "      baseImage: mldeploy-test/no-such-base:1\n"))
    done = subprocess.run([*MLDEPLOY, "serve", "--stack", "dev", "--service", "sklearn-regression-model-aci",
                           "--containers"], cwd=project, capture_output=True, text=True, timeout=600)
    assert done.returncode == 1, done.stdout + done.stderr
    error = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(error) == 1 and "Traceback" not in done.stderr, done.stderr
    assert error[0].startswith("error: the base image of image 'sklearn-regression-model' (FROM in images/"
                               "sklearn-regression-model/Dockerfile) mldeploy-test/no-such-base:1 is not on this "
                               "machine and"), error[0]
    for remedy in ("load -i base.tar", "tag LOCAL docker.io/mldeploy-test/no-such-base:1",
                   "mldeploy:images.sklearn-regression-model.baseImage"):
        assert remedy in error[0], error[0]
    logs = next(line for line in done.stderr.splitlines() if "(logs in " in line).split("(logs in ")[1].rstrip(")")
    assert Path(logs).is_dir(), f"serve --containers named the logs folder {logs}, which does not exist"


def test_image_takes_the_missing_image_s_name_as_the_error_prints_it(engine, standins, dev_images, trained_model):
    """The ACI group's gateway (a mirror of nginx, pinned by digest) is not on this machine: the error
    names it and the `--image` to give; given exactly so, the group runs."""
    args = ["--stack", "dev", "--service", "diabetes-aci", "--containers", "--json", "--port", str(free_port())]
    done = subprocess.run([*MLDEPLOY, "serve", *args], cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert done.returncode == 1, done.stdout + done.stderr
    error = done.stderr.strip().splitlines()[-1]
    assert error.startswith("error: the pod's image nginx:1.27.4-alpine@sha256:") and "--image " in error, error
    printed = error.split("--image ")[1].split("=LOCAL")[0]
    with serving(*args, "--image", f"{printed}={standins.images['nginx']}", cwd=ROOT, stop_timeout=120) as served:
        assert score(served.endpoint["scoringUri"], served.endpoint["primaryKey"], SAMPLE.read_bytes()).status == 200
    assert served.proc.returncode == 0, served.err[-1000:]
