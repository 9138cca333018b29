"""`mldeploy logs` as a user runs it: the local service's files, and - with a fake `pulumi` on
PATH for the stack's outputs and fakes for ARM and the Kubernetes API - what Azure keeps of an
online endpoint's, an ACI group's and an AKS service's logs; the errors name what is missing."""
from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from mldeploy.cli import cli
from mldeploy.cli.logs import follow_remote, new_lines
from tests.azure.fake_arm import Answer, FakeArm
from tests.azure.test_logs import _kubeconfig, _pod, arm, arm_logs, fake_server  # noqa: F401 - fixtures
from tests.harness import ROOT, copy_project

SUB = "00000000-0000-0000-0000-000000000000"


def mldeploy(*args: str, cwd: Path = ROOT, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mldeploy", *args], cwd=cwd, capture_output=True, text=True,
                          env=env)


@pytest.fixture()
def project(tmp_path):
    return copy_project(tmp_path, "local")


def test_local_service_logs_merged_and_prefixed(project):
    run = project / ".mldeploy" / "local" / "local" / "diabetes"
    run.mkdir(parents=True)
    (run / "scorer.log").write_text("2026-12-04 11:00:02,000 E [1] azmlinfsrv - Encountered Exception: Traceback\n"
                                    "KeyError: 'data'\n")
    (run / "gateway.log").write_text("2026/12/04 11:00:01 [warn] 7#7: slow upstream\n")
    proc = mldeploy("logs", "--stack", "local", "--service", "diabetes", cwd=project)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["gateway | 2026/12/04 11:00:01 [warn] 7#7: slow upstream",
                                        "scorer | 2026-12-04 11:00:02,000 E [1] azmlinfsrv - Encountered Exception: Traceback",
                                        "scorer | KeyError: 'data'"]
    only = mldeploy("logs", "--stack", "local", "--service", "diabetes", "--container", "gateway", "--tail", "5",
                    cwd=project)
    assert only.stdout.splitlines() == ["gateway | 2026/12/04 11:00:01 [warn] 7#7: slow upstream"]


def test_a_container_the_local_logs_do_not_have_is_named_as_the_mistake(project):
    # hreview's trial: `--container nope` said the run folder "holds none" of the service's logs
    # and to run `mldeploy serve`, while its scorer and gateway logs were there.
    run = project / ".mldeploy" / "local" / "local" / "diabetes"
    run.mkdir(parents=True)
    (run / "scorer.log").write_text("2026-12-04 11:00:02,000 I [1] azmlinfsrv - ready\n")
    (run / "gateway.log").write_text("2026/12/04 11:00:01 [warn] 7#7: slow upstream\n")
    proc = mldeploy("logs", "--stack", "local", "--service", "diabetes", "--container", "scorrer", cwd=project)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr.splitlines()[-1] == ("error: --container: 'scorrer': the logs of service 'diabetes' on this "
                                            "machine are of gateway and scorer"), proc.stderr


def test_local_service_never_served(project):
    proc = mldeploy("logs", "--stack", "local", "--service", "diabetes", cwd=project)
    assert proc.returncode == 2 and "mldeploy serve --stack local --service diabetes" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr


def test_unknown_service(project):
    proc = mldeploy("logs", "--stack", "local", "--service", "nope", cwd=project)
    assert proc.returncode == 2 and "known: diabetes" in proc.stderr


def test_deployed_stack_without_the_pulumi_cli_says_so(tmp_path):
    env = {**os.environ, "PATH": str(Path(sys.executable).parent)}  # python only: no pulumi
    proc = mldeploy("logs", "--stack", "managed", "--service", "diabetes", env=env)
    assert proc.returncode == 1, proc.stderr
    assert "Pulumi CLI is not on PATH" in proc.stderr and "--local" in proc.stderr, proc.stderr


def _fake_pulumi(tmp_path: Path, outputs: dict, monkeypatch) -> None:
    """A `pulumi` on PATH that prints `outputs` for `stack output --json --show-secrets`."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "outputs.json").write_text(json.dumps(outputs))
    script = bin_dir / "pulumi"
    script.write_text(f"#!/bin/sh\n[ \"$1 $2 $3 $4\" = 'stack output --json --show-secrets' ] || exit 9\n"
                      f"cat {bin_dir / 'outputs.json'}\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")


def _outputs(**services) -> dict:
    return {"resourceGroup": "rg-mldeploy", "workspace": "mlw-1",
            "models": {"diabetes": {"id": f"/subscriptions/{SUB}/resourceGroups/rg-mldeploy/providers/x/y"}},
            "services": services}


def _arm_at(fake: FakeArm, monkeypatch) -> None:
    """The command's ArmLogs() talks to `fake` with a fake credential."""
    import mldeploy.azure.logs as logs

    monkeypatch.setattr(logs, "ArmLogs", lambda: arm_logs(fake))


def test_online_endpoint_logs_of_each_deployment(tmp_path, monkeypatch, arm):
    _fake_pulumi(tmp_path, _outputs(diabetes={"endpointName": "diabetes-a00b15"}), monkeypatch)
    _arm_at(arm, monkeypatch)
    base = (f"/subscriptions/{SUB}/resourceGroups/rg-mldeploy/providers/Microsoft.MachineLearningServices/workspaces/"
            "mlw-1/onlineEndpoints/diabetes-a00b15/deployments")
    for i, dep in enumerate(("blue", "green", "shadow")):
        arm.answer("POST", f"{base}/{dep}/getLogs",
                   Answer(200, {"content": f"2026-12-04 11:00:0{i},000 I [1] azmlinfsrv - {dep}\n"}))
    result = CliRunner().invoke(cli, ["logs", "--stack", "managed", "--service", "diabetes", "--tail", "7",
                                      "--project-dir", str(ROOT)])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "blue/inference-server | 2026-12-04 11:00:00,000 I [1] azmlinfsrv - blue",
        "green/inference-server | 2026-12-04 11:00:01,000 I [1] azmlinfsrv - green",
        "shadow/inference-server | 2026-12-04 11:00:02,000 I [1] azmlinfsrv - shadow"]
    assert {r.body["tail"] for r in arm.seen} == {7}
    one = CliRunner().invoke(cli, ["logs", "--stack", "managed", "--service", "diabetes", "--deployment", "green",
                                   "--container", "storage-initializer", "--project-dir", str(ROOT)])
    assert one.exit_code == 0 and arm.seen[-1].body == {"containerType": "StorageInitializer", "tail": 100}
    bad = CliRunner().invoke(cli, ["logs", "--stack", "managed", "--service", "diabetes", "--deployment", "purple",
                                   "--project-dir", str(ROOT)])
    assert bad.exit_code == 2 and "it has blue, green, shadow" in bad.output


def test_aci_logs_of_scorer_and_gateway(tmp_path, monkeypatch, arm):
    _fake_pulumi(tmp_path, _outputs(**{"diabetes-aci": {"containerGroup": "aci-diabetes-aci-group5f3"}}), monkeypatch)
    _arm_at(arm, monkeypatch)
    base = f"/subscriptions/{SUB}/resourceGroups/rg-mldeploy/providers/Microsoft.ContainerInstance/containerGroups/" \
           "aci-diabetes-aci-group5f3/containers"
    arm.answer("GET", f"{base}/scorer/logs", Answer(200, {"content": "2026-12-04 11:00:02,000 E [1] azmlinfsrv - boom\n"}))
    arm.answer("GET", f"{base}/gateway/logs", Answer(200, {"content": "2026/12/04 11:00:01 [warn] 1#1: hm\n"}))
    result = CliRunner().invoke(cli, ["logs", "--stack", "dev", "--service", "diabetes-aci", "--project-dir", str(ROOT)])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == ["gateway | 2026/12/04 11:00:01 [warn] 1#1: hm",
                                          "scorer | 2026-12-04 11:00:02,000 E [1] azmlinfsrv - boom"]


def test_aks_logs_through_the_stacks_kubeconfig(tmp_path, monkeypatch, fake_server):
    url, routes, seen = fake_server
    _fake_pulumi(tmp_path, _outputs(diabetes={"kubeconfig": _kubeconfig(url), "namespace": "diabetes"}), monkeypatch)
    routes[("GET", "/api/v1/namespaces/diabetes/pods")] = (200, {"kind": "PodList", "apiVersion": "v1", "metadata": {},
                                                                "items": [_pod("diabetes-1", ["scorer", "gateway"])]})
    routes[("GET", "/api/v1/namespaces/diabetes/pods/diabetes-1/log")] = (200, "2026-12-04T11:00:00.5Z ready\n")
    result = CliRunner().invoke(cli, ["logs", "--stack", "prod-attach", "--service", "diabetes", "--deployment",
                                      "canary", "--project-dir", str(ROOT)])  # prod-attach's diabetes has a canary
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == ["diabetes-1/scorer | 2026-12-04T11:00:00.5Z ready",
                                          "diabetes-1/gateway | 2026-12-04T11:00:00.5Z ready"]
    listing = next(r for r in seen if r["path"].endswith("/pods"))
    assert listing["query"]["labelSelector"] == ["mldeploy.io/service=diabetes,mldeploy.io/variant=canary"]


@pytest.mark.parametrize("stack, service, deployment, says", [
    ("dev", "diabetes-aci", "blue", "service 'diabetes-aci' (target aci) has no deployments or variants"),
    ("prod", "diabetes", "canary", "service 'diabetes' (target aks) has no deployments or variants"),
    ("prod-attach", "diabetes", "blue", "service 'diabetes' has no deployment 'blue'; it has stable, canary"),
    ("containerapp", "diabetes-aca", "nope", "service 'diabetes-aca' has no deployment 'nope'; it has "),
])
def test_a_deployment_the_service_does_not_have_is_a_usage_error(stack, service, deployment, says):
    """It was ignored where the service had no deployments: every log shown as that deployment's
    (an AKS service without a canary listed its pods under `variant=canary`: none, or all)."""
    result = CliRunner().invoke(cli, ["logs", "--stack", stack, "--service", service, "--deployment", deployment,
                                      "--project-dir", str(ROOT)])
    assert result.exit_code == 2 and says in result.output, result.output


def test_a_service_never_deployed(tmp_path, monkeypatch):
    _fake_pulumi(tmp_path, _outputs(), monkeypatch)
    result = CliRunner().invoke(cli, ["logs", "--stack", "dev", "--service", "diabetes-aci", "--project-dir", str(ROOT)])
    assert result.exit_code == 1 and "no outputs for service 'diabetes-aci'" in result.output


def test_new_lines_after_the_overlap():
    assert new_lines(["a", "b", "c"], ["b", "c", "d", "e"]) == ["d", "e"]
    assert new_lines(["a", "b"], ["a", "b"]) == []
    assert new_lines([], ["a"]) == ["a"]
    assert new_lines(["x"], ["y", "z"]) == ["y", "z"], "no overlap: everything is new"


def test_follow_remote_emits_only_what_is_new():
    reads = iter([[("scorer", "a\nb\nc")], [("scorer", "b\nc\nd")], [("scorer", "c\nd\ne\nf")]])
    emitted, polls = [], []

    def stop():
        return len(polls) > 3  # three reads, then Ctrl+C during the fourth wait

    follow_remote(lambda: next(reads), emitted.append, stop, seen=[("scorer", "a\nb")],
                  sleep=lambda s: polls.append(s))
    assert emitted == [[("scorer", "c")], [("scorer", "d")], [("scorer", "e\nf")]]


class _Engine:
    """A container engine holding running containers with labels: `ps` applies the name (`^prefix`)
    and label filters as podman does (different keys ANDed), `logs` gives each container's lines."""

    name = "podman"

    def __init__(self, containers: dict[str, dict[str, str]]):
        self.containers = containers

    def out(self, *args, **kw) -> str:
        assert args[0] == "ps", args
        filters = [args[i + 1] for i, a in enumerate(args) if a == "--filter"]
        names = []
        for name, labels in sorted(self.containers.items()):
            for f in filters:
                key, value = f.split("=", 1)
                if key == "name" and not name.startswith(value.lstrip("^")):
                    break
                if key == "label" and labels.get(value.split("=", 1)[0]) != value.split("=", 1)[1]:
                    break
            else:
                names.append(name)
        return "\n".join(names)

    def run(self, *args, **kw):
        assert args[:2] == ("logs", "--timestamps"), args
        line = f"2026-12-04T11:00:00.000000000+00:00 2026-12-04 11:00:00,000 I [1] azmlinfsrv - {args[-1]} ready\n"
        return subprocess.CompletedProcess(args, 0, line.encode(), b"")


def test_local_logs_of_one_deployment_leave_the_others_containers_out(monkeypatch):
    """`serve --containers` of an endpoint runs one container per deployment, labelled with it
    (runtime/endpoint_containers.py); `--deployment` shows that deployment's alone."""
    import mldeploy.runtime.containers as containers
    from mldeploy.runtime.pod import DEPLOYMENT_LABEL, SERVICE_LABEL

    def labels(pod: str, deployment: str) -> dict[str, str]:  # as runtime/endpoint_containers.py puts them
        return {SERVICE_LABEL: pod, DEPLOYMENT_LABEL: deployment}

    engine = _Engine({"mldeploy-managed-diabetes-blue": labels("mldeploy-managed-diabetes", "blue"),
                      "mldeploy-managed-diabetes-green": labels("mldeploy-managed-diabetes", "green"),
                      "mldeploy-other-diabetes-blue": labels("mldeploy-other-diabetes", "blue")})
    monkeypatch.setattr(containers, "find_engine", lambda: engine)
    monkeypatch.setattr(shutil, "which", lambda name, *a, **kw: f"/usr/bin/{name}")
    args = ["logs", "--stack", "managed", "--service", "diabetes", "--local", "--project-dir", str(ROOT)]
    both = CliRunner().invoke(cli, args)
    assert both.exit_code == 0, both.output
    assert [line.split(" | ")[0] for line in both.output.splitlines()] == ["blue", "green"]
    green = CliRunner().invoke(cli, [*args, "--deployment", "green"])
    assert green.exit_code == 0, green.output
    assert green.output.splitlines() == ["green | 2026-12-04 11:00:00,000 I [1] azmlinfsrv - "
                                         "mldeploy-managed-diabetes-green ready"]


def test_serve_containers_labels_every_container_with_its_deployment(tmp_path):
    """What the filter above reads: an endpoint deployment's container and an AKS canary variant's
    pod (its Deployment's variant label) carry DEPLOYMENT_LABEL."""
    from mldeploy.runtime.pod import DEPLOYMENT_LABEL, LocalPod, PodInputs

    created = []

    class Recorder:
        name = "podman"

        def run(self, *args, **kw):
            created.append(args)
            return subprocess.CompletedProcess(args, 0, b"", b"")

    spec = {"containers": [{"name": "scorer", "image": "x"}]}
    pod = LocalPod(Recorder(), "mldeploy-s-diabetes-canary", PodInputs(spec=spec, labels={DEPLOYMENT_LABEL: "canary"}),
                   tmp_path)
    pod._volumes = {}
    pod.workdir.mkdir(exist_ok=True)
    pod._create(pod.states["scorer"])
    assert f"--label={DEPLOYMENT_LABEL}=canary" in created[-1], created[-1]


def test_a_canary_variants_pod_as_synthesized_carries_its_variant(tmp_path, trained_model):
    from mldeploy.runtime.pod import DEPLOYMENT_LABEL
    from mldeploy.runtime.synthesized_pod import synthesized_pod, traffic_weights
    from tests.containers.synthesized import synth_to

    out = synth_to("prod-attach", tmp_path / "synth")
    stable = synthesized_pod(out, "diabetes", "diabetes", lambda image: image, tls=("cert", "key"))
    labels = {dep: synthesized_pod(out, "diabetes", dep, lambda image: image, tls=("cert", "key")).inputs.labels
              for dep in traffic_weights(stable)}
    assert sorted(labels.values(), key=str) == [{DEPLOYMENT_LABEL: "canary"}, {DEPLOYMENT_LABEL: "stable"}], labels
