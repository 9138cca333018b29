"""The synthesized k8s/ folder: valid for Kubernetes 1.33 (strict), clean under checkov, and
only the model-version-dependent parts change when only the model version changes."""
from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from mldeploy.plan.timeouts import probe_window_s
from mldeploy.synth.provider_ids import KUBERNETES_AUTONAMED
from mldeploy.synth.write import write_result
from tests.tools import checkov
from tests.harness import stack_values, synth

K8S_VERSION = "1.33"
AKS_STACKS = ["prod", "prod-attach"]
# No schema ships for custom resources; these are the only kinds we accept unvalidated.
CUSTOM_RESOURCES = {("cert-manager.io/v1", "Certificate")}


def _written(stack: str, out: Path, **kw) -> list[tuple[Path, dict]]:
    result = synth(stack, out / "images", **kw)
    write_result(result, out)
    files = sorted((out / "k8s").rglob("*.yaml"))
    assert files, f"synth of {stack} wrote no k8s/*.yaml"
    return [(f, yaml.safe_load(f.read_text())) for f in files]


@pytest.fixture(scope="module", params=AKS_STACKS)
def synthesized(request, tmp_path_factory):
    out = tmp_path_factory.mktemp(request.param)
    return request.param, out, _written(request.param, out)


def test_every_manifest_is_valid_kubernetes_strict(synthesized):
    stack, out, docs = synthesized
    for path, doc in docs:
        if (doc["apiVersion"], doc["kind"]) in CUSTOM_RESOURCES:
            continue
        try:
            kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
        except kubernetes_validate.ValidationError as err:
            pytest.fail(f"{stack}: {path.relative_to(out)} is not valid Kubernetes {K8S_VERSION}: {err}")


def test_checkov_finds_nothing_and_every_skip_has_a_reason(synthesized):
    stack, out, docs = synthesized
    proc = subprocess.run([checkov(), "-d", str(out / "k8s"),
                           "--framework", "kubernetes", "--skip-download", "--quiet", "--compact", "-o", "json"],
                          capture_output=True, text=True)
    report = json.loads(proc.stdout)
    summary = report["summary"]
    failed = [f"{c['check_id']} {c['resource']}" for c in report["results"]["failed_checks"]]
    assert summary["failed"] == 0, f"{stack}: checkov failed checks: {failed}"
    assert summary["passed"] > 50, f"{stack}: checkov checked almost nothing ({summary})"
    for path, doc in docs:
        for key, value in (doc["metadata"].get("annotations") or {}).items():
            if key.startswith("checkov.io/skip"):
                check, _, reason = value.partition("=")
                assert check.startswith("CKV") and len(reason) > 20, f"{path.name}: skip {value!r} needs a reason"


def _pulumi_name(doc: dict) -> str:
    """The name the program gave an object: an object without metadata.name gets pulumi-kubernetes'
    auto-name, that name + '-' + 8 of [a-f0-9], annotated pulumi.com/autonamed (synth as the provider)."""
    name = doc["metadata"]["name"]
    if (doc["metadata"].get("annotations") or {}).get(KUBERNETES_AUTONAMED) == "true":
        assert re.fullmatch(r".+-[a-f0-9]{8}", name), f"auto-named {doc['kind']} {name}: not the provider's shape"
        return name[:-9]
    return name


def _one(docs, kind, name=None):
    found = [d for _, d in docs if d["kind"] == kind and (name is None or _pulumi_name(d) == name)]
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {[d['metadata']['name'] for d in found]}"
    return found[0]


def test_prod_hpa_has_the_stacks_bounds_and_fast_up_slow_down(tmp_path):
    hpa = _one(_written("prod", tmp_path), "HorizontalPodAutoscaler")
    spec = hpa["spec"]
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert (spec["minReplicas"], spec["maxReplicas"]) == (2, 4)
    assert spec["metrics"][0]["containerResource"]["target"]["averageUtilization"] == 30
    up, down = spec["behavior"]["scaleUp"], spec["behavior"]["scaleDown"]
    assert up["stabilizationWindowSeconds"] == 0 and all(p["periodSeconds"] <= 15 for p in up["policies"])
    assert down["stabilizationWindowSeconds"] == 60


def test_prod_pod_is_hardened(tmp_path):
    dep = _one(_written("prod", tmp_path), "Deployment")
    pod = dep["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    assert dep["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    for c in pod["containers"]:
        sc = c["securityContext"]
        assert sc["runAsNonRoot"] and sc["readOnlyRootFilesystem"] and not sc["allowPrivilegeEscalation"], c["name"]
        assert sc["capabilities"]["drop"] == ["ALL"], c["name"]
        assert "@sha256:" in c["image"], f"{c['name']} must be pulled by digest: {c['image']}"
        assert c["resources"]["requests"] == c["resources"]["limits"], c["name"]
    scorer = next(c for c in pod["containers"] if c["name"] == "scorer")
    assert scorer["resources"]["limits"] == {"cpu": "1000m", "memory": "1024Mi"}
    assert scorer["startupProbe"]["httpGet"]["path"] == "/", "readiness is the scorer's GET / (200 after init)"
    env = {e["name"]: e for e in scorer["env"]}
    assert env["WORKER_COUNT"]["value"] == "2", "replicaMaxConcurrentRequests: 2 -> 2 sync workers"
    assert env["SCORING_TIMEOUT_MS"]["value"] == "6000", "scoringTimeoutMs 5000 + 1 s (plan/timeouts.py)"
    assert "secretKeyRef" in env["AML_APP_INSIGHTS_KEY"]["valueFrom"], "App Insights key must come from a Secret"
    assert env["AML_MDC_STORAGE_ENABLED"]["value"] == "true"


def test_canary_gateways_split_by_the_weights(tmp_path):
    docs = _written("prod-attach", tmp_path)
    # replicaMaxConcurrentRequests (1 in that stack) caps each upstream server: beyond it, 503.
    cap = stack_values("prod-attach")[0]["mldeploy:services"]["diabetes"]["replicaMaxConcurrentRequests"]
    traffic = _one(docs, "ConfigMap", "diabetes-traffic")
    for variant, local, remote in (("stable", 90, 10), ("canary", 10, 90)):
        conf = _one(docs, "ConfigMap", f"diabetes-gateway-{variant}")["data"]["nginx.conf"]
        servers = traffic["data"][f"{variant}.conf"]
        assert f"include /etc/mldeploy/traffic/{variant}.conf;" in conf, conf
        assert "weight=" not in conf, f"{variant}: the weights are in the traffic ConfigMap, not nginx.conf"
        assert f"server 127.0.0.1:5001 weight={local} max_conns={cap} max_fails=0;" in servers, servers
        assert f"-scorer.diabetes.svc.cluster.local:5001 weight={remote} max_conns={cap} max_fails=0;" in servers, servers
        assert "zone mldeploy_scorer 64k;" in conf, "max_conns counts across nginx workers only with a zone"
    assert json.loads(traffic["metadata"]["annotations"]["mldeploy.io/traffic-weights"]) == \
        {"diabetes": 90, "diabetes-canary": 10}, "the weights by Deployment, for reviewers"


def test_canary_gateways_mount_the_traffic_config_map_as_a_volume_and_reload(tmp_path):
    docs = _written("prod-attach", tmp_path)
    for name, variant in (("diabetes", "stable"), ("diabetes-canary", "canary")):
        pod = _one(docs, "Deployment", name)["spec"]["template"]["spec"]
        volume = next(v for v in pod["volumes"] if v["name"] == "gateway-traffic")
        assert volume["configMap"] == {"name": "diabetes-traffic"}, "the fixed name, every key (no items needed)"
        gateway = next(c for c in pod["containers"] if c["name"] == "gateway")
        mount = next(m for m in gateway["volumeMounts"] if m["name"] == "gateway-traffic")
        # kubernetes.io "ConfigMaps": a container using a ConfigMap as a subPath volume mount
        # does not receive updates.
        assert "subPath" not in mount and mount["mountPath"] == "/etc/mldeploy/traffic", mount
        script = gateway["command"][-1]
        assert f"/etc/mldeploy/traffic/{variant}.conf" in script and "kill -HUP" in script, script


def _model_version_variant(version: int) -> tuple[dict, set]:
    values, secrets = stack_values("prod")
    values["mldeploy:models"]["diabetes"]["version"] = version
    return values, secrets


def test_changing_only_the_model_version_changes_only_what_it_must(tmp_path):
    one = synth("prod", tmp_path / "images", *_model_version_variant(1))
    two = synth("prod", tmp_path / "images", *_model_version_variant(2))
    before = {r["urn"]: r["inputs"] for r in one.resources}
    after = {r["urn"]: r["inputs"] for r in two.resources}
    added, removed = set(after) - set(before), set(before) - set(after)
    changed = {u for u in set(before) & set(after) if before[u] != after[u]}
    names = lambda urns: sorted(u.rsplit("::", 1)[1] for u in urns)  # noqa: E731
    # A new model version is a new ModelVersion and blob (never an overwrite) ...
    assert names(added) == ["model-diabetes-2-sklearn_regression_model.pkl", "model-diabetes-v2"], names(added)
    assert names(removed) == ["model-diabetes-1-sklearn_regression_model.pkl", "model-diabetes-v1"], names(removed)
    # ... a new image tag, and a new Deployment template that rolls the pods. Nothing else: not
    # the model container (it spans versions: no version tag), cluster, Service, HPA, keys, gateway.
    assert names(changed) == ["diabetes", "diabetes-stable"], names(changed)  # image, Deployment
    dep = next(u for u in changed if u.endswith("::diabetes-stable"))
    assert before[dep]["metadata"] == after[dep]["metadata"]
    old, new = before[dep]["spec"], after[dep]["spec"]
    assert {k: v for k, v in old.items() if k != "template"} == {k: v for k, v in new.items() if k != "template"}


def test_a_deployment_scaled_by_an_hpa_declares_no_replicas(synthesized):
    # pulumi-kubernetes #2491: a declared .spec.replicas conflicts with the HPA's (server-side apply).
    stack, _, docs = synthesized
    scaled = {d["spec"]["scaleTargetRef"]["name"] for _, d in docs if d["kind"] == "HorizontalPodAutoscaler"}
    assert scaled, f"{stack}: expected HPAs"
    for _, d in docs:
        if d["kind"] == "Deployment" and d["metadata"]["name"] in scaled:
            assert "replicas" not in d["spec"], f"{stack}: Deployment {d['metadata']['name']} is scaled by an HPA " \
                                                "but declares spec.replicas"


def _scorer_limit_s(container: dict) -> float:
    env = {e["name"]: e.get("value") for e in container["env"]}
    return int(env["SCORING_TIMEOUT_MS"]) / 1000


def test_the_gateway_gives_up_before_the_scorer(synthesized):
    # One rule everywhere (plan/timeouts.py): the gateway's 504 first, the scorer's own limit 1 s later.
    stack, _, docs = synthesized
    for _, dep in ((p, d) for p, d in docs if d["kind"] == "Deployment"):
        name = dep["metadata"]["name"]
        variant = dep["metadata"]["labels"]["mldeploy.io/variant"]
        conf = _one(docs, "ConfigMap", f"diabetes-gateway-{variant}")["data"]["nginx.conf"]
        gateway_ms = int(re.search(r"proxy_read_timeout (\d+)ms;", conf).group(1))
        scorer = next(c for c in dep["spec"]["template"]["spec"]["containers"] if c["name"] == "scorer")
        assert _scorer_limit_s(scorer) * 1000 == gateway_ms + 1000, \
            f"{stack}: Deployment {name}: SCORING_TIMEOUT_MS must be the gateway's {gateway_ms} ms + 1000"


def test_scorer_probes_outlast_the_longest_request(synthesized):
    # A busy sync worker answers GET / only when its request ends (at the latest at the scorer's limit).
    stack, _, docs = synthesized
    for _, dep in ((p, d) for p, d in docs if d["kind"] == "Deployment"):
        scorer = next(c for c in dep["spec"]["template"]["spec"]["containers"] if c["name"] == "scorer")
        for kind in ("readinessProbe", "livenessProbe"):
            window = probe_window_s(scorer[kind])
            assert window > _scorer_limit_s(scorer), (
                f"{stack}: Deployment {dep['metadata']['name']}: scorer {kind} fails after {window} s, "
                f"inside the scorer's limit of {_scorer_limit_s(scorer)} s")


def _prod_pod(tmp_path) -> tuple[dict, dict[str, dict]]:
    docs = {(d["kind"], _pulumi_name(d)): d for _, d in _written("prod", tmp_path)}
    return docs[("Deployment", "diabetes")]["spec"]["template"]["spec"], docs


def test_collector_listens_where_its_probes_connect(tmp_path):
    """Probes connect to the pod IP: a collector bound to loopback is never Ready (issue 9 #5)."""
    pod, docs = _prod_pod(tmp_path)
    collector = next(c for c in pod["initContainers"] if c["name"] == "model-data")
    conf = yaml.safe_load(docs[("ConfigMap", "diabetes-model-data")]["data"]["vector.yaml"])
    address = conf["sources"]["mdc"]["address"]
    host, port = address.rsplit(":", 1)
    for probe in ("readinessProbe", "livenessProbe"):
        assert collector[probe]["tcpSocket"]["port"] == int(port), f"model-data {probe} port != {address}"
    assert host in ("0.0.0.0", "::", "[::]"), f"model-data binds {address}: unreachable from the pod IP"


def test_collector_is_a_sidecar_stopped_after_the_scorer(tmp_path):
    """A native sidecar (init container, restartPolicy Always) gets SIGTERM only after the
    scorer has exited, so the last requests' records are sent (issue 9 #16)."""
    pod, _ = _prod_pod(tmp_path)
    assert [c["name"] for c in pod.get("initContainers", [])] == ["model-data"], \
        "Deployment diabetes: the model-data collector must be an init container"
    assert pod["initContainers"][0]["restartPolicy"] == "Always", "model-data: restartPolicy Always (sidecar)"
    assert "model-data" not in [c["name"] for c in pod["containers"]]
