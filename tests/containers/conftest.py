"""The container suite: stand-in bases, images built from synthesized build contexts, pods run
like the kubelet runs them. Skipped only where no container engine exists or can be installed."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mldeploy.runtime.containers import EngineError, find_engine
from tests.containers import RUN_PREFIX, left_by_ended_runs
from tests.containers.standins import ensure_standins
from tests.containers.synthesized import synth_to

HERE = Path(__file__).parent


def pytest_collection_modifyitems(items):
    for item in items:
        if Path(str(item.fspath)).is_relative_to(HERE):
            item.add_marker(pytest.mark.container)


@pytest.fixture(scope="session")
def engine():
    # No CONTAINERS_CONF of the suite's own: podman runs with the settings mldeploy applies for its
    # users (mldeploy/runtime/containers.conf, when podman has none), as `serve --containers` does.
    if not (shutil.which("podman") or shutil.which("docker")) and not shutil.which("apt-get"):
        pytest.skip("no container engine (podman or docker) and no apt-get to install podman")
    try:
        return find_engine()
    except EngineError as err:
        pytest.fail(f"{err} (`make install` installs podman, runc and mmdebstrap with apt-get)")


@pytest.fixture(scope="session", autouse=True)
def no_test_pods_left():
    """Whatever a failed test left running is removed when the session ends; what a run killed
    before its end left (its pid no longer exists) is removed when the next session starts."""
    engine = _podman()
    if engine is not None:
        _remove_pods(engine, left_by_ended_runs(_pods(engine, "mldeploy-test-")))
    yield
    if engine is not None:
        _remove_pods(engine, _pods(engine, f"{RUN_PREFIX}-"))


def _podman():
    if shutil.which("podman") is None:
        return None
    try:
        engine = find_engine()
    except EngineError:
        return None
    return engine if engine.name == "podman" else None


def _pods(engine, prefix: str) -> list[str]:
    return engine.out("pod", "ps", "--filter", f"name={prefix}", "--format", "{{.Name}}").split()


def _remove_pods(engine, pods: list[str]) -> None:
    for pod in pods:
        engine.run("pod", "rm", "-f", pod, check=False, timeout=120)


@pytest.fixture(scope="session")
def work_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("containers")


@pytest.fixture(scope="session")
def standins(engine, work_dir):
    return ensure_standins(engine, work_dir / "logs")


@pytest.fixture(scope="session")
def prod_synth(trained_model, work_dir) -> Path:
    return synth_to("prod", work_dir / "synth-prod")


@pytest.fixture(scope="session")
def prod_images(engine, standins, prod_synth, work_dir) -> dict[str, str]:
    from tests.containers.synthesized import build_images

    return build_images(engine, prod_synth, work_dir / "logs")


@pytest.fixture(scope="session")
def slow_synth(trained_model, work_dir) -> Path:
    """The prod stack with a scoring script that can be told to take its time (slow_score.py)."""
    from tests.harness import stack_values

    values, _ = stack_values("prod")
    values["mldeploy:images"]["diabetes"]["entryScript"] = str((HERE / "slow_score.py").relative_to(HERE.parents[1]))
    return synth_to("prod", work_dir / "synth-prod-slow", values=values)


@pytest.fixture(scope="session")
def slow_images(engine, standins, slow_synth, work_dir) -> dict[str, str]:
    from tests.containers.synthesized import build_images

    return build_images(engine, slow_synth, work_dir / "logs")


@pytest.fixture(scope="session")
def dev_synth(trained_model, work_dir) -> Path:
    return synth_to("dev", work_dir / "synth-dev")


@pytest.fixture(scope="session")
def dev_images(engine, standins, dev_synth, work_dir) -> dict[str, str]:
    from tests.containers.synthesized import build_images

    return build_images(engine, dev_synth, work_dir / "logs")


@pytest.fixture(scope="session")
def edge_synth(trained_model, work_dir) -> Path:
    return synth_to("edge", work_dir / "synth-edge")


@pytest.fixture(scope="session")
def edge_images(engine, standins, edge_synth, work_dir) -> dict[str, str]:
    from tests.containers.synthesized import build_images

    return build_images(engine, edge_synth, work_dir / "logs")


@pytest.fixture(scope="session")
def canary_synth(trained_model, work_dir) -> Path:
    """prod-attach: the stable Deployment and a 10 % canary of image diabetes-v2."""
    return synth_to("prod-attach", work_dir / "synth-prod-attach")


@pytest.fixture(scope="session")
def canary_images(engine, standins, canary_synth, work_dir) -> dict[str, str]:
    from tests.containers.synthesized import build_images

    return build_images(engine, canary_synth, work_dir / "logs")
