"""render/k8s.py: the Kubernetes objects of one AKS service, from its plan (pure, no mocks)."""
from __future__ import annotations

from mldeploy.plan.aks import ImageFacts, plan_service
from mldeploy.config.aks import AksServiceSettings
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
