"""mldeploy/targets/aks/plan.py and checks.py: an AKS service's plan - TLS, certificate, replicas, canary, placement - and the
rules that refuse an impossible one (pure, no mocks)."""
from __future__ import annotations

import pytest

from mldeploy.config import ConfigError
from mldeploy.targets.aks.settings import AksServiceSettings
from mldeploy.plan.aks import ImageFacts
from mldeploy.targets.aks.checks import check_service
from mldeploy.targets.aks.plan import plan_service
from mldeploy.plan.workload import Placement, Toleration

IMAGES = {"diabetes": ImageFacts("cr.io/diabetes@sha256:aa", "1-aaa", (("diabetes", "1"),)),
          "diabetes-v2": ImageFacts("cr.io/diabetes@sha256:bb", "2-bbb", (("diabetes", "1"),))}


def _settings(service: dict) -> AksServiceSettings:
    # Two replicas: a production service with one is refused (see the disruption-budget test). With
    # numReplicas the fixed size is its own (autoscaleMinReplicas beside it is refused).
    base = {} if "numReplicas" in service else {"autoscaleMinReplicas": 2}
    return AksServiceSettings.model_validate({"target": "aks", "cluster": "c", "image": "diabetes", **base, **service})


def _plan(production=True, placement: Placement = Placement(), **service):
    s = _settings(service)
    return plan_service("svc", s, stack="prod", production=production, location="westeurope",
                        resource_group="rg", images=IMAGES, placement=placement)


def _check(production=True, **service):
    check_service("svc", _settings(service), production)


def _workload(placement: Placement = Placement(), **service):
    return _plan(production=False, placement=placement, **service).workload


def test_production_without_a_certificate_is_refused():
    with pytest.raises(ConfigError, match=r"services\.svc\.tls: this stack is production .* set tls\.certificate"):
        _check(production=True)


def test_tls_can_be_turned_off_explicitly_and_is_off_by_default_outside_production():
    assert _plan(production=True, tlsEnabled=False).workload.tls is False
    assert _plan(production=False).workload.tls is False


def test_cert_manager_turns_tls_on_for_the_host_name():
    plan = _plan(certManager={"issuer": "letsencrypt"}, hostName="scoring.ml.example.com")
    assert plan.workload.tls and plan.host == "scoring.ml.example.com"


@pytest.mark.parametrize("host, expected", [
    (None, r"services\.svc\.hostName: certManager needs hostName, a name in a DNS zone you control"),
    ("svc-prod.westeurope.cloudapp.azure.com", r"services\.svc\.hostName: .* is in a zone Azure owns"),
])
def test_cert_manager_without_a_name_it_can_prove_is_refused(host, expected):
    # HTTP-01 cannot reach a solver (no port 80, no Ingress); DNS-01 needs the user's own zone.
    with pytest.raises(ConfigError, match=expected):
        _check(certManager={"issuer": "letsencrypt"}, **({"hostName": host} if host else {}))


def test_cert_manager_works_on_a_private_load_balancer_too():
    # DNS-01 never connects to the service: an internal address can get a public certificate.
    plan = _plan(certManager={"issuer": "letsencrypt"}, hostName="scoring.corp.example.com", internalLoadBalancer=True)
    assert plan.host == "scoring.corp.example.com" and plan.workload.tls


@pytest.mark.parametrize("scaling, key", [({"autoscaleMinReplicas": 1}, "autoscaleMinReplicas"),
                                          ({"autoscaleEnabled": False, "numReplicas": 1}, "numReplicas")])
def test_production_with_one_replica_is_refused(scaling, key):
    # Its PodDisruptionBudget would let every node drain evict the only pod.
    with pytest.raises(ConfigError, match=rf"services\.svc\.{key}: 1 replica in a production stack"):
        _check(production=True, tlsEnabled=False, **scaling)
    assert _plan(production=False, **scaling).workload.scaling.replicas == 1, "allowed outside production"
    assert _plan(production=True, tlsEnabled=False, autoscaleMinReplicas=2).workload.scaling.min_replicas == 2


def test_canary_weights_add_up_and_unknown_canary_image_is_refused():
    plan = _plan(production=False, canary={"image": "diabetes-v2", "trafficPercent": 25})
    assert [(v.name, v.weight) for v in plan.workload.variants] == [("stable", 75), ("canary", 25)]
    with pytest.raises(ConfigError, match=r"canary\.image: refers to image 'nope'"):
        _plan(production=False, canary={"image": "nope", "trafficPercent": 5})


def test_cert_manager_plans_a_certificate_for_the_host_name():
    cert = _workload(certManager={"issuer": "letsencrypt"}, hostName="scoring.example.com").certificate
    assert (cert.host, cert.issuer, cert.issuer_kind) == ("scoring.example.com", "letsencrypt", "ClusterIssuer"), \
        "services.svc.certManager: a Certificate for hostName from the issuer"


def test_the_certificate_goes_into_the_services_tls_secret():
    cert = _workload(certManager={"issuer": "letsencrypt"}, hostName="scoring.example.com").certificate
    assert cert.secret_name == "svc-tls", "services.svc.certManager: the Secret the gateways mount"


def test_without_cert_manager_no_certificate_is_planned():
    assert _workload().certificate is None, "services.svc without certManager: no Certificate"


def test_the_placement_given_is_the_workloads():
    placement = Placement(node_selector=(("pool", "pb"),), tolerations=(Toleration("accelerator", "fpga"),))
    assert _workload(placement).placement == placement, "services.svc: its pods run where the caller placed them"


def test_an_aks_service_is_placed_anywhere_by_default():
    assert _workload().placement == Placement(), "services.svc (target aks): no node selector, no toleration"


@pytest.mark.parametrize("service, expected", [
    ({"hostName": "scoring.other.com", "dnsZone": {"resourceGroup": "rg", "name": "ml.contoso.com"}},
     "needs hostName, a name inside that zone"),
    ({"hostName": "s.ml.contoso.com", "internalLoadBalancer": True,
      "dnsZone": {"resourceGroup": "rg", "name": "ml.contoso.com"}}, "without internalLoadBalancer"),
])
def test_a_dns_zone_needs_a_public_host_name_inside_it(service, expected):
    with pytest.raises(Exception, match=expected):
        _plan(production=False, **service)


def test_each_variant_gets_a_gateway():
    plan = _plan(production=False, canary={"image": "diabetes-v2", "trafficPercent": 25})
    assert sorted(plan.gateways) == ["canary", "stable"], "services.svc.canary: one gateway per variant's pods"


def test_without_a_canary_the_gateway_sends_to_its_own_scorer():
    upstreams = _plan(production=False).gateways["stable"].upstreams
    assert [(u.host, u.weight) for u in upstreams] == [("127.0.0.1", 1)], "services.svc: the pod's own scorer only"


def test_with_a_canary_every_gateway_splits_by_the_configured_weights():
    plan = _plan(production=False, canary={"image": "diabetes-v2", "trafficPercent": 25})
    weights = {u.host: u.weight for u in plan.gateways["canary"].upstreams}
    assert weights == {"svc-scorer.svc.svc.cluster.local": 75, "127.0.0.1": 25}, \
        "services.svc.canary.trafficPercent: the canary pod's gateway sends 75 to stable, 25 to itself"


def test_cert_manager_certificates_are_reread_at_each_handshake():
    gateway = _plan(certManager={"issuer": "letsencrypt"}, hostName="scoring.example.com").gateways["stable"]
    assert gateway.tls_reload, "services.svc.certManager: a renewed certificate reaches nginx without a restart"


def test_the_gateway_caps_requests_in_flight_at_the_replicas_concurrency():
    gateway = _plan(production=False, replicaMaxConcurrentRequests=3).gateways["stable"]
    assert gateway.max_conns == 3, "services.svc.replicaMaxConcurrentRequests: beyond it, 503"


def test_a_certificate_outside_production_turns_tls_on_everywhere_at_once():
    # One decision (plan/tls.py tls_on): the gateway listens with ssl exactly when the pods mount
    # the certificate, the Service exposes 443 and the markers say TLS.
    from mldeploy.config.base import Secret
    from mldeploy.plan.tags import TLS_TAG

    plan = _plan(production=False, tls={"certificate": Secret("c"), "key": Secret("k")})
    assert plan.workload.tls is True, "services.svc.tls: a certificate without tlsEnabled turns TLS on"
    assert all(g.tls_enabled for g in plan.gateways.values()), "the gateway serves the certificate"
    assert dict(plan.workload.markers)[TLS_TAG] == "enabled"


def test_the_gateway_never_listens_with_ssl_when_the_plan_says_no_tls():
    for plan in (_plan(production=False), _plan(production=True, tlsEnabled=False)):
        assert plan.workload.tls is False
        assert not any(g.tls_enabled for g in plan.gateways.values()), "services.svc: no TLS, no ssl listener"


def test_each_variant_runs_its_own_images_environment_under_the_services():
    images = {"diabetes": ImageFacts("cr.io/diabetes@sha256:aa", "1-aaa", (("diabetes", "1"),),
                                     env=(("LOG_LEVEL", "info"), ("MODEL_FLAVOUR", "v1"))),
              "diabetes-v2": ImageFacts("cr.io/diabetes@sha256:bb", "2-bbb", (("diabetes", "1"),),
                                        env=(("MODEL_FLAVOUR", "v2"),))}
    s = _settings({"canary": {"image": "diabetes-v2", "trafficPercent": 10},
                   "environmentVariables": {"LOG_LEVEL": "debug"}})
    workload = plan_service("svc", s, stack="prod", production=False, location="westeurope", resource_group="rg",
                            images=images).workload
    envs = {v.name: dict(v.env) for v in workload.variants}
    assert envs == {"stable": {"LOG_LEVEL": "debug", "MODEL_FLAVOUR": "v1"},
                    "canary": {"LOG_LEVEL": "debug", "MODEL_FLAVOUR": "v2"}}, envs
