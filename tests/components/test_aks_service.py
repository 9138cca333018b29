"""AksService: outputs, keys, TLS rules, config refusals (exit 2), blue/green, data collection."""
from __future__ import annotations

import re
import shutil

import subprocess
import sys

import pytest

from mldeploy.config import ConfigError
from tests.harness import ROOT, stack_values, synth


def test_prod_outputs_uris_and_secret_keys(tmp_path):
    result = synth("prod", tmp_path)
    svc = result.outputs["services"]["diabetes"]
    assert svc["scoringUri"] == "https://diabetes.ml.contoso.com/score", "the hostName the certificate is for"
    assert svc["swaggerUri"].endswith("/swagger.json")
    assert result.outputs["serviceKeys"]["diabetes"] == {"primaryKey": "[secret]", "secondaryKey": "[secret]"}
    assert len(result.of_type("random:index/randomPassword:RandomPassword")) == 2, "primary + secondary"


def test_attach_stack_uses_secret_tls_and_the_load_balancer_ip(tmp_path):
    result = synth("prod-attach", tmp_path)
    tls = [r for r in result.of_type("kubernetes:core/v1:Secret") if r["name"] == "diabetes-tls"][0]["inputs"]
    assert tls["type"] == "kubernetes.io/tls"
    assert tls["stringData"] in ("[secret]", {"tls.crt": "[secret]", "tls.key": "[secret]"})
    assert result.leaks == []


def _run_synth(values_override, tmp_path):
    """`mldeploy synth` on a copy of the prod stack with one key changed; returns the process."""
    import yaml

    values, _ = stack_values("prod")
    values_override(values)
    stacks = tmp_path / "stacks"
    stacks.mkdir()
    (stacks / "Pulumi.bad.yaml").write_text(yaml.safe_dump({"config": values}))
    for name in ("Pulumi.yaml",):
        (tmp_path / name).write_text((ROOT / name).read_text())
    shutil.copytree(ROOT / "examples", tmp_path / "examples", ignore=shutil.ignore_patterns("__pycache__"))  # a link out of the project is refused
    return subprocess.run([sys.executable, "-c", "from mldeploy.cli import main; main()", "synth", "--stack", "bad",
                           "--project-dir", str(tmp_path), "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, cwd=tmp_path)


@pytest.mark.parametrize("change, expected", [
    (lambda v: v["mldeploy:clusters"]["prod"].update(vmSize="Standard_D2s_v3"), "3 × Standard_D2s_v3 (2 vCPU) = 6 < 12"),
    (lambda v: v["mldeploy:clusters"]["prod"].update(vmSize="Standard_X1"), "set vcpusPerNode"),
    (lambda v: v["mldeploy:services"]["diabetes"].update(autoscaleMinReplicas=5), "autoscaleMinReplicas (5) must be <= autoscaleMaxReplicas (4)"),
    (lambda v: v["mldeploy:services"]["diabetes"].update(autoscaleTargetUtilization=-5), "autoscaleTargetUtilization: must be greater than or equal to 1"),
    (lambda v: v["mldeploy:services"]["diabetes"].update(autoscaleMinReplicas=1), "autoscaleMinReplicas: 1 replica in a production stack"),
    (lambda v: v["mldeploy:services"]["diabetes"].update(maxRequestBodyMb=100), "maxRequestBodyMb 100 MB needs 2 scorer worker(s)"),
])
def test_bad_input_is_one_clear_error_with_exit_2(tmp_path, change, expected):
    proc = _run_synth(change, tmp_path)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert proc.stderr.startswith("error: stacks/Pulumi.bad.yaml: mldeploy:"), proc.stderr
    assert expected in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists(), "a refused stack must leave nothing written"


def test_canary_deployments_wait_for_the_scorer_services_their_gateways_resolve(tmp_path):
    # nginx resolves upstream host names at start; a missing Service is fatal (crash loop).
    result = synth("prod-attach", tmp_path)
    services = {r["urn"] for r in result.of_type("kubernetes:core/v1:Service") if r["name"].endswith("-scorer")}
    assert len(services) == 2, f"expected the stable and canary scorer Services, got {services}"
    for dep in result.of_type("kubernetes:apps/v1:Deployment"):
        missing = services - set(dep["dependsOn"])
        assert not missing, f"Deployment {dep['urn']} must depend on {sorted(missing)}"


def test_cert_manager_certificate_is_awaited_and_the_gateway_rereads_it(tmp_path):
    result = synth("prod", tmp_path)
    cert = result.one("kubernetes:cert-manager.io/v1:Certificate")
    assert cert["inputs"]["spec"]["dnsNames"] == ["diabetes.ml.contoso.com"], cert["urn"]
    assert cert["inputs"]["metadata"]["annotations"]["pulumi.com/waitFor"] == "condition=Ready", cert["urn"]
    for dep in result.of_type("kubernetes:apps/v1:Deployment"):
        assert cert["urn"] in dep["dependsOn"], f"Deployment {dep['urn']} must wait for the certificate"
    conf = next(r for r in result.of_type("kubernetes:core/v1:ConfigMap") if r["name"].startswith("diabetes-gateway"))
    assert "ssl_certificate /etc/mldeploy/tls/tls.crt$mldeploy_tls_reload;" in conf["inputs"]["data"]["nginx.conf"], \
        "a renewed certificate must reach nginx: read at each handshake"


@pytest.mark.parametrize("change, key", [
    (lambda s: [s.pop("hostName"), s.pop("dnsZone")], "services.diabetes.hostName"),
    (lambda s: s.update(autoscaleMinReplicas=1), "services.diabetes.autoscaleMinReplicas"),
])
def test_stack_rules_are_checked_when_the_stack_file_is_read(change, key):
    # Before `pulumi up` declares anything (a refusal half-way through the program would leave
    # the resource group and workspace created).
    from mldeploy.targets.stack import parse_settings

    values, secrets = stack_values("prod")
    change(values["mldeploy:services"]["diabetes"])
    with pytest.raises(ConfigError) as err:
        parse_settings("prod", values, secrets, ROOT, "stacks/Pulumi.prod.yaml")
    assert err.value.key == f"mldeploy:{key}", err.value


def test_host_name_is_declared_in_the_users_zone_as_a_cname_to_the_load_balancer(tmp_path):
    result = synth("prod", tmp_path)
    record = result.one("azure-native:dns:RecordSet")
    inputs = record["inputs"]
    assert (inputs["zoneName"], inputs["relativeRecordSetName"], inputs["recordType"]) == \
        ("ml.contoso.com", "diabetes", "CNAME"), record["urn"]
    assert inputs["cnameRecord"]["cname"].startswith("diabetes-prod-") and \
        inputs["cnameRecord"]["cname"].endswith(".westeurope.cloudapp.azure.com"), record["urn"]


def test_non_production_service_with_a_certificate_is_tls_end_to_end(tmp_path):
    # prod-attach's service with its certificate, in a non-production stack, tlsEnabled unset:
    # nginx listens with ssl, so the pods mount the TLS Secret, the Service exposes 443, the
    # scoring URI is https and the markers say TLS - all from the one decision in the plan.
    values, secret_keys = stack_values("prod-attach")
    values["mldeploy:production"] = False
    service = values["mldeploy:services"]["diabetes"]
    assert "tls" in service and "tlsEnabled" not in service
    result = synth("prod-attach", tmp_path, values, secret_keys)
    conf = [r for r in result.of_type("kubernetes:core/v1:ConfigMap") if "nginx.conf" in (r["inputs"].get("data") or {})]
    assert conf and all(" ssl" in c["inputs"]["data"]["nginx.conf"] for c in conf), "nginx serves TLS"
    for dep in result.of_type("kubernetes:apps/v1:Deployment"):
        pod = dep["inputs"]["spec"]["template"]["spec"]
        secrets = {v["secret"]["secretName"] for v in pod["volumes"] if "secret" in v}
        # The TLS Secret is auto-named by pulumi-kubernetes: `diabetes-tls-<8 hex>` (synth/provider_ids.py).
        assert any(re.fullmatch(r"diabetes-tls-[0-9a-f]{8}", s) for s in secrets), \
            f"Deployment {dep['name']} must mount the TLS Secret nginx reads: {secrets}"
    svc = [r for r in result.of_type("kubernetes:core/v1:Service") if r["inputs"]["spec"].get("type") == "LoadBalancer"]
    assert [p["port"] for p in svc[0]["inputs"]["spec"]["ports"]] == [443]
    assert result.outputs["services"]["diabetes"]["scoringUri"].startswith("https://")
    for dep in result.of_type("kubernetes:apps/v1:Deployment"):
        assert dep["inputs"]["metadata"]["annotations"].get("mldeploy-tls") == "enabled", dep["inputs"]["metadata"]


# -- AksService unit-tested with a plan: plan_service's WorkloadPlan in, the registered objects out -

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
PDB = "kubernetes:policy/v1:PodDisruptionBudget"
SECRET = "kubernetes:core/v1:Secret"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
K8S_SERVICE = "kubernetes:core/v1:Service"
UNIT_IMAGES = {"diabetes": ("cr.azurecr.io/diabetes@sha256:" + "a" * 64, "1-aaa", (("diabetes", "1"),)),
               "diabetes-v2": ("cr.azurecr.io/diabetes-v2@sha256:" + "b" * 64, "1-bbb", (("diabetes", "2"),))}


def _unit(**settings):
    import pulumi_kubernetes as k8s

    from mldeploy.components.aks_service import AksService
    from mldeploy.targets.aks.settings import AksServiceSettings
    from mldeploy.plan.aks import ImageFacts
    from mldeploy.targets.aks.plan import plan_service
    from tests.components.unit import declare

    service = AksServiceSettings.model_validate({"target": "aks", "image": "diabetes", "cluster": "c1", **settings})
    images = {n: ImageFacts(*facts) for n, facts in UNIT_IMAGES.items()}
    plan = plan_service("svc", service, stack="unit", production=False, location="westeurope", resource_group="rg",
                        images=images)

    def build():
        provider = k8s.Provider("unit-cluster", kubeconfig="{}")
        svc = AksService("svc", plan=plan.workload, provider=provider, gateways=plan.gateways, host=plan.host)
        return svc.scoring_uri

    return plan, declare(build)


def _named(declared, token: str) -> dict[str, dict]:
    return {r["name"]: r["inputs"] for r in declared.of_type(token)}


def test_unit_one_deployment_autoscaler_and_budget_per_variant():
    plan, declared = _unit()
    assert set(_named(declared, DEPLOYMENT)) == {"svc-stable"}
    assert set(_named(declared, HPA)) == {"svc-stable"}, "autoscaleEnabled is the guide's default"
    assert set(_named(declared, PDB)) == {"svc-stable"}
    hpa = _named(declared, HPA)["svc-stable"]["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (plan.workload.scaling.min_replicas,
                                                        plan.workload.scaling.max_replicas)
    [scorer] = [c for c in _named(declared, DEPLOYMENT)["svc-stable"]["spec"]["template"]["spec"]["containers"]
                if c["name"] == "scorer"]
    assert scorer["image"] == UNIT_IMAGES["diabetes"][0], "the pod runs the plan's image, by digest"


def test_unit_no_autoscaler_when_the_plan_has_fixed_replicas():
    _, declared = _unit(autoscaleEnabled=False, numReplicas=2)
    assert declared.of_type(HPA) == []
    assert _named(declared, DEPLOYMENT)["svc-stable"]["spec"]["replicas"] == 2


def test_unit_keys_are_a_secret_only_when_the_plan_has_auth():
    _, on = _unit()
    keys = _named(on, SECRET)["svc-keys"]
    assert "stringData" in next(r for r in on.of_type(SECRET) if r["name"] == "svc-keys")["secret_inputs"], keys
    assert len(on.of_type("random:index/randomPassword:RandomPassword")) == 2
    _, off = _unit(authEnabled=False)
    assert "svc-keys" not in _named(off, SECRET)
    assert off.of_type("random:index/randomPassword:RandomPassword") == []


def test_unit_a_canary_gets_its_deployment_scorer_services_and_the_traffic_config_map():
    plan, declared = _unit(canary={"image": "diabetes-v2", "trafficPercent": 10})
    assert set(_named(declared, DEPLOYMENT)) == {"svc-stable", "svc-canary"}
    assert {"svc-stable-scorer", "svc-canary-scorer"} <= set(_named(declared, K8S_SERVICE))
    traffic = _named(declared, CONFIG_MAP)["svc-traffic"]
    weights = {v.name: v.weight for v in plan.workload.variants}
    assert weights == {"stable": 90, "canary": 10}
    for conf in traffic["data"].values():  # each variant's gateway: both scorers, at the plan's weights
        assert sorted(re.findall(r"weight=(\d+)", conf)) == ["10", "90"], traffic["data"]
