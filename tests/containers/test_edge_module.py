"""The edge stack's IoT Edge scoring module as synthesized: the deployment manifest's
createOptions (env, exposed and bound ports, log options) and restart policy turned into the
container run edgeAgent would make (Docker's create API takes the same document), scored
through the bound port. The host port is bound on 127.0.0.1 and moved to a free port if the
declared one is taken on this machine (the binding itself is what is tested)."""
from __future__ import annotations

import json

import joblib
import numpy as np
import pytest

from mldeploy.runtime.processes import free_port
from mldeploy.runtime.synthesized_pod import local_image
from tests.containers import RUN_PREFIX, first_200
from tests.harness import ROOT

SAMPLE = ROOT / "examples" / "diabetes" / "sample-request.json"
# edgeAgent's restartPolicy -> Docker's (docs: "Properties of the IoT Edge agent"): edgeAgent
# itself restarts modules; the engine's nearest equivalent.
RESTART = {"always": "always", "on-failure": "on-failure", "on-unhealthy": "always", "never": "no"}


def modules(synth_dir) -> dict:
    manifest = json.loads(next((synth_dir / "iot-edge").glob("*.json")).read_text())
    content = manifest.get("modulesContent") or manifest["content"]["modulesContent"]
    return content["$edgeAgent"]["properties.desired"]["modules"]


def create_options(module: dict) -> dict:
    settings = module["settings"]
    chunks = sorted(k for k in settings if k.startswith("createOptions"))
    return json.loads("".join(settings[k] for k in chunks))


def run_args(module: dict, host_port_for) -> list[str]:
    opts = create_options(module)
    host = opts.get("HostConfig", {})
    args = ["--restart", RESTART[module.get("restartPolicy", "always")]]
    args += [f"--env={e}" for e in opts.get("Env", [])]
    args += [f"--env={k}={v['value']}" for k, v in (module.get("env") or {}).items()]
    for container_port, bindings in host.get("PortBindings", {}).items():
        for b in bindings:
            args += ["-p", f"127.0.0.1:{host_port_for(int(b['HostPort']))}:{container_port}"]
    log = host.get("LogConfig")
    if log:
        args += ["--log-driver", log["Type"], *[f"--log-opt={k}={v}" for k, v in log.get("Config", {}).items()]]
    return args


@pytest.fixture(scope="module")
def edge(engine, edge_synth, edge_images):
    (name, module), = modules(edge_synth).items()
    ports = {}

    def host_port(declared: int) -> int:
        ports[declared] = free_port()
        return ports[declared]

    container = f"{RUN_PREFIX}-edge"
    engine.remove(container)
    image = local_image(module["settings"]["image"], edge_images, edge_synth)
    engine.run("run", "-d", "--name", container, *run_args(module, host_port), image)
    try:
        yield engine, container, ports
    finally:
        engine.remove(container)


def test_edge_module_scores_like_the_model_through_its_bound_port(edge, trained_model):
    engine, container, ports = edge
    (declared, port), = ports.items()
    reply = first_200(engine, container, f"http://127.0.0.1:{port}/score", SAMPLE.read_bytes(),
                      what=f" (HostPort {declared})")
    rows = json.loads(SAMPLE.read_text())["data"]
    expected = joblib.load(trained_model).predict(np.asarray(rows, dtype=float))
    assert np.allclose(json.loads(reply.body), expected)


def test_edge_module_env_and_restart_policy_reach_the_container(edge):
    engine, container, _ = edge
    data = engine.inspect(container)
    env = data["Config"]["Env"]
    assert any(e.startswith("SCORING_TIMEOUT_MS=") for e in env), f"createOptions Env missing: {env}"
    assert data["HostConfig"]["RestartPolicy"]["Name"] == "always", data["HostConfig"]["RestartPolicy"]
