"""render/k8s.py: the Kubernetes objects of one AKS service, from its plan (pure, no mocks)."""
from __future__ import annotations

from dataclasses import replace

from mldeploy.targets.aks.settings import AksServiceSettings
from mldeploy.plan.aks import ImageFacts
from mldeploy.targets.aks.plan import plan_service
from mldeploy.plan.workload import Placement, Toleration
from mldeploy.render import k8s as manifests

IMAGES = {"diabetes": ImageFacts("cr.io/diabetes@sha256:aa", "1-aaa", (("diabetes", "1"),)),
          "diabetes-v2": ImageFacts("cr.io/diabetes@sha256:bb", "2-bbb", (("diabetes", "1"),))}
REFS = {"gateway-conf": "gw", "keys": "keys", "tls": "tls", "insights": "ai", "collector": "mdc",
        "collector-conf": "mdc-conf"}


def _plan(production=False, **service):
    s = AksServiceSettings.model_validate({"target": "aks", "cluster": "c", "image": "diabetes", **service})
    return plan_service("svc", s, stack="dev", production=production, location="westeurope",
                        resource_group="rg", images=IMAGES).workload


def test_fixed_replicas_are_declared_when_autoscaling_is_off():
    plan = _plan(autoscaleEnabled=False, numReplicas=3)
    dep = manifests.deployment(plan, plan.variants[0], REFS)
    assert dep["spec"]["replicas"] == 3, "autoscaleEnabled false: numReplicas is the Deployment's replicas"


def test_gateway_temp_folder_holds_the_bodies_it_buffers():
    # nginx writes each body over 1 MB to client_body_temp_path before passing it on.
    plan = _plan(memoryGb=16, replicaMaxConcurrentRequests=4, maxRequestBodyMb=300)
    dep = manifests.deployment(plan, plan.variants[0], REFS)
    temp = next(v for v in dep["spec"]["template"]["spec"]["volumes"] if v["name"] == "gateway-temp")
    assert temp["emptyDir"]["sizeLimit"] == f"{300 * (2 * 4 + 2)}Mi", temp
    small = _plan()
    temp = next(v for v in manifests.deployment(small, small.variants[0], REFS)["spec"]["template"]["spec"]["volumes"]
                if v["name"] == "gateway-temp")
    assert temp["emptyDir"]["sizeLimit"] == "1024Mi", "never below 1 GiB"


def _pod_spec(plan) -> dict:
    return manifests.deployment(plan, plan.variants[0], REFS)["spec"]["template"]["spec"]


def test_a_placement_becomes_the_pods_node_selector():
    plan = replace(_plan(), placement=Placement(node_selector=(("pool", "pb"),)))
    assert _pod_spec(plan)["nodeSelector"] == {"pool": "pb"}, "Deployment svc: the plan's node selector"


def test_a_placement_becomes_the_pods_tolerations():
    plan = replace(_plan(), placement=Placement(tolerations=(Toleration("accelerator", "fpga"),)))
    assert _pod_spec(plan)["tolerations"] == [
        {"key": "accelerator", "operator": "Equal", "value": "fpga", "effect": "NoSchedule"}], \
        "Deployment svc: the plan's toleration"


def test_without_a_placement_the_pod_selects_and_tolerates_nothing():
    spec = _pod_spec(_plan())
    assert "nodeSelector" not in spec and "tolerations" not in spec, "Deployment svc: scheduled anywhere"


def test_the_certificate_is_for_the_planned_host_into_the_planned_secret():
    plan = _plan(production=True, certManager={"issuer": "letsencrypt"}, hostName="scoring.example.com",
                 autoscaleMinReplicas=2)
    spec = manifests.certificate(plan)["spec"]
    assert (spec["dnsNames"], spec["secretName"]) == (["scoring.example.com"], "svc-tls"), \
        "Certificate svc: services.svc.hostName, into the Secret the gateways mount"


def test_the_certificate_names_the_configured_issuer():
    plan = _plan(certManager={"issuer": "letsencrypt", "issuerKind": "Issuer"}, hostName="scoring.example.com")
    assert manifests.certificate(plan)["spec"]["issuerRef"] == {
        "name": "letsencrypt", "kind": "Issuer", "group": "cert-manager.io"}, "services.svc.certManager"


def test_the_gateway_reads_its_keys_where_the_pod_mounts_them():
    plan_ = plan_service("svc", AksServiceSettings.model_validate({"target": "aks", "cluster": "c", "image": "diabetes"}),
                         stack="dev", production=False, location="westeurope", resource_group="rg", images=IMAGES)
    pod = _pod_spec(plan_.workload)
    gateway = next(c for c in pod["containers"] if c["name"] == "gateway")
    mount = next(m["mountPath"] for m in gateway["volumeMounts"] if m["name"] == "gateway-keys")
    assert plan_.gateways["stable"].keys_file.startswith(mount + "/"), \
        f"Deployment svc: nginx reads {plan_.gateways['stable'].keys_file}, the keys Secret is at {mount}"



def test_the_scorer_and_its_sidecars_get_time_to_stop_after_the_scorers_pause():
    # The scorer's SIGTERM comes after its preStop pause; the SIGKILL at the grace period's end.
    # Between them: its stop, azmlinfsrv workers' App Insights flush (bounded to EXIT_FLUSH_S) and
    # the model-data sidecar, stopped after it. A loaded machine measured 12.3 s for the scorer alone.
    from mldeploy.render.k8s_pod import scorer_prestop_seconds
    from mldeploy.scoring.scorer_host import EXIT_FLUSH_S

    for timeout_ms in (1000, 60000, 300000):
        plan = _plan(scoringTimeoutMs=timeout_ms)
        spec = _pod_spec(plan)
        scorer = next(c for c in spec["containers"] if c["name"] == "scorer")
        pause = int(scorer["lifecycle"]["preStop"]["exec"]["command"][-1])
        assert pause == scorer_prestop_seconds(plan)
        after_sigterm = spec["terminationGracePeriodSeconds"] - pause
        assert after_sigterm >= EXIT_FLUSH_S + 13, (timeout_ms, spec["terminationGracePeriodSeconds"], pause)
