"""plan/aks.py: what an AKS service's plan says about its certificate and placement (pure)."""
from __future__ import annotations

from mldeploy.config.aks import AksServiceSettings
from mldeploy.plan.aks import ImageFacts, plan_service
from mldeploy.plan.workload import Placement, Toleration

IMAGES = {"diabetes": ImageFacts("cr.io/diabetes@sha256:aa", "1-aaa", (("diabetes", "1"),))}


def _plan(placement: Placement = Placement(), **service):
    s = AksServiceSettings.model_validate({"target": "aks", "cluster": "c", "image": "diabetes", **service})
    return plan_service("svc", s, stack="dev", production=False, location="westeurope", resource_group="rg",
                        images=IMAGES, placement=placement).workload


def test_cert_manager_plans_a_certificate_for_the_host_name():
    cert = _plan(certManager={"issuer": "letsencrypt"}, hostName="scoring.example.com").certificate
    assert (cert.host, cert.issuer, cert.issuer_kind) == ("scoring.example.com", "letsencrypt", "ClusterIssuer"), \
        "services.svc.certManager: a Certificate for hostName from the issuer"


def test_the_certificate_goes_into_the_services_tls_secret():
    cert = _plan(certManager={"issuer": "letsencrypt"}, hostName="scoring.example.com").certificate
    assert cert.secret_name == "svc-tls", "services.svc.certManager: the Secret the gateways mount"


def test_without_cert_manager_no_certificate_is_planned():
    assert _plan().certificate is None, "services.svc without certManager: no Certificate"


def test_the_placement_given_is_the_workloads():
    placement = Placement(node_selector=(("pool", "pb"),), tolerations=(Toleration("accelerator", "fpga"),))
    assert _plan(placement).placement == placement, "services.svc: its pods run where the caller placed them"


def test_an_aks_service_is_placed_anywhere_by_default():
    assert _plan().placement == Placement(), "services.svc (target aks): no node selector, no toleration"
