"""`mldeploy serve`'s options against each target's local runner (mldeploy/targets/serving.py):
an option a runner does not take is a usage error before anything starts, and --containers runs
what the table's rows can run as synthesized."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.harness import ROOT

MLDEPLOY = [str(Path(sys.executable).parent / "mldeploy")]


def _serve(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*MLDEPLOY, "serve", "--project-dir", str(ROOT), *args], capture_output=True, text=True,
                          timeout=120)


@pytest.mark.parametrize("stack, service, what", [
    ("managed", "diabetes", "an online endpoint: its deployments set maxConcurrentRequestsPerInstance"),
    ("containerapp", "diabetes-aca", "diabetes-aca's split: its ingress is HTTP, each variant's gateway caps as "
                                     "configured"),
])
def test_an_option_a_runner_does_not_take_is_a_usage_error_before_anything_starts(stack, service, what):
    done = _serve("--stack", stack, "--service", service, "--max-concurrent-requests", "2")
    assert done.returncode == 2, done.stderr
    assert f"--tls-cert/--tls-key/--max-concurrent-requests do not apply to {what}" in done.stderr, done.stderr
    assert "starting" not in done.stderr and "Traceback" not in done.stderr, done.stderr


def test_containers_of_a_target_with_nothing_synthesized_to_run_names_those_that_have():
    done = _serve("--stack", "local", "--service", "diabetes", "--containers")
    assert done.returncode == 1, done.stderr
    assert done.stderr.strip() == (
        "error: --containers runs a service as synthesized for its target (aci, aks, fpga, managed, "
        "kubernetes-endpoint, containerapp); service 'diabetes' is target 'local' (serve it without --containers)"), \
        done.stderr


def test_serve_containers_says_how_a_pod_stops_by_what_was_synthesized():
    # An ACI group (aci_pod_spec) has no kubelet and no preStop: its message must not claim them.
    from mldeploy.cli.serve_containers import how_it_stops
    from mldeploy.runtime.synthesized_pod import aci_pod_spec
    group = {"containers": [{"name": n, "image": n, "resources": {"requests": {"cpu": 1, "memoryInGB": 1}}}
                            for n in ("scorer", "gateway")]}
    assert "preStop" not in how_it_stops(aci_pod_spec(group))
    pod = {"containers": [{"name": "gateway", "lifecycle": {"preStop": {"exec": {"command": ["sh", "-c", "sleep 5"]}}}},
                          {"name": "scorer"}]}
    assert "preStop" in how_it_stops(pod)


def _generated(root: Path, targets: tuple[str, ...]) -> Path:
    from mldeploy.project import ProjectChoices, render_project

    files = render_project(ProjectChoices(project="p", name="clf", model_path="models/model.pkl",
                                          model_file="model.pkl", features=4, targets=targets))
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    (root / "models").mkdir(exist_ok=True)
    (root / "models" / "model.pkl").write_bytes(b"model")
    return root


def test_serve_without_service_runs_the_only_service_of_a_stack(tmp_path):
    """hday2's day 2: `mldeploy serve --stack prod` of init's prod stack (one AKS service, with a
    canary) was refused - 'declares no local service or online endpoint: choose one with --service
    (known: clf)' - naming the only choice. A stack of several such services still asks."""
    from mldeploy.cli.serve import select_services
    from mldeploy.config import ConfigError
    from mldeploy.targets.stack import load_stack

    root = _generated(tmp_path, ("aks",))
    assert select_services(load_stack(root, "prod"), None) == ["clf"]
    stack = root / "stacks" / "Pulumi.prod.yaml"
    text = stack.read_text()
    services = text[text.index("  mldeploy:services:\n") + len("  mldeploy:services:\n"):]
    stack.write_text(text + services.replace("    clf:\n", "    clf-2:\n", 1).replace("clf.example.com", "clf2.example.com"))
    with pytest.raises(ConfigError, match="choose one with --service"):
        select_services(load_stack(root, "prod"), None)


def test_one_serve_start_walks_each_source_directory_once(tmp_path, monkeypatch):
    """The load-time rule, the script warnings and the build context of a `serve` start share one
    walk of the sourceDirectory (walks_cached, as synth's); each was a walk of its own: three."""
    from click.testing import CliRunner

    import mldeploy.config.source_directory as source_directory
    import mldeploy.runtime.env as env
    from mldeploy.cli.serve import command
    from mldeploy.runtime.local import LocalServer
    from mldeploy.runtime.processes import StartError
    from tests.config.test_source_directory import _project

    root = _project(tmp_path)
    walks = []
    real_walk = source_directory._walk
    monkeypatch.setattr(source_directory, "_walk", lambda value, at: walks.append(value) or real_walk(value, at))
    monkeypatch.setattr(env, "ensure_env", lambda *args, **kwargs: None)  # no scoring environment is built

    def start(self, timeout):
        assert "app/helpers.py" in self.context.files, "the build context ships the folder"
        raise StartError("the test stops here")

    monkeypatch.setattr(LocalServer, "start", start)
    result = CliRunner().invoke(command, ["--stack", "local", "--project-dir", str(root)])
    assert result.exit_code == 1 and "the test stops here" in result.output, result.output
    assert walks == ["src"], f"one walk per serve start, not {len(walks)}: {walks}"


def test_serve_reload_without_watchfiles_is_one_usage_line(monkeypatch):
    """watchfiles is an extra (mldeploy[reload]): without it --reload says how to get it, exit 2."""
    from click.testing import CliRunner

    from mldeploy.cli.serve import command

    monkeypatch.setitem(sys.modules, "watchfiles", None)  # `import watchfiles` raises ImportError
    result = CliRunner().invoke(command, ["--stack", "local", "--project-dir", str(ROOT), "--reload"])
    assert result.exit_code == 2, result.output
    assert "--reload watches your files with the watchfiles package, which is not installed: " \
           "pip install 'mldeploy[reload]'" in result.output, result.output
    assert "starting" not in result.output


def test_serve_reload_with_containers_is_a_usage_error():
    done = _serve("--stack", "dev", "--service", "diabetes", "--containers", "--reload")
    assert done.returncode == 2, done.stderr
    assert "--reload runs with local processes; --containers builds images" in done.stderr, done.stderr
    assert "starting" not in done.stderr and "Traceback" not in done.stderr, done.stderr


@pytest.mark.parametrize("command", ["serve", "test", "logs"])
def test_a_stack_of_batch_or_edge_entries_says_what_runs_them_here(command):
    """hwalk3's walk: `serve --stack edge` read 'declares no local service or online endpoint: choose one with
    --service (known: none)', and `test --stack batch --service nightly` 'known: none', naming no way on."""
    service = [] if command == "serve" else ["--service", "nightly"]
    proc = subprocess.run([*MLDEPLOY, command, "--project-dir", str(ROOT), "--stack", "batch", *service],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and len(proc.stderr.splitlines()) == 1, proc.stderr
    assert "batch entry 'nightly' is a job, not a service: run its driver here with `mldeploy batch --stack batch " \
           "--name nightly --input <folder> --output <file>`" in proc.stderr, proc.stderr
    if command == "serve":
        proc = subprocess.run([*MLDEPLOY, command, "--project-dir", str(ROOT), "--stack", "edge"],
                              capture_output=True, text=True, timeout=60)
        assert proc.stderr == (
            "error: --stack: stack 'edge' declares no service; edge entry 'clinics' is a module on IoT Edge devices, "
            "not a service: serve its image 'diabetes' here with a stack whose service runs it (`mldeploy serve --stack "
            "local`); on a device, `iotedge logs diabetes` and `mldeploy test --uri http://<device>:5001/score`\n"), proc.stderr


def test_an_edge_entry_without_module_name_is_named_by_its_module_the_image():
    """The manifest names the module after the image when moduleName is unset (EdgeSettings.module); the hint's
    `iotedge logs` named the entry (`clinics`), a module no device runs."""
    from mldeploy.cli.serve import select_services
    from mldeploy.config import ConfigError
    from mldeploy.targets.stack import parse_settings
    from tests.harness import stack_values

    values, keys = stack_values("edge")
    del values["mldeploy:edge"]["clinics"]["moduleName"]
    settings = parse_settings("edge", values, keys, ROOT, "stacks/Pulumi.edge.yaml")
    assert settings.sections["edge"]["clinics"].module == "diabetes"
    with pytest.raises(ConfigError) as raised:
        select_services(settings, None)
    assert "`iotedge logs diabetes`" in str(raised.value), str(raised.value)
