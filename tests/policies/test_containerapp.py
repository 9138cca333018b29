"""The Container Apps policies (policies/containerapp.py): a pass and a fail case for each, over
hand-built resources in the wire form `pulumi preview` and `mldeploy synth` hand over."""
from __future__ import annotations

from tests.policies.helpers import RESOURCE_GROUP, SERVICE_ON, check, res

APP = "azure-native:app:ContainerApp"
PROD = res(RESOURCE_GROUP, {"tags": {"mldeploy-production": "true"}}, "resource-group", stack="live")


def app(min_replicas=1, allow_insecure=False, traffic=None, domains=None, stack="live"):
    ingress = {"external": True, "targetPort": 8890, "allowInsecure": allow_insecure,
               "traffic": traffic if traffic is not None else [{"revisionName": "a--r1", "label": "blue",
                                                                "weight": 100}]}
    if domains is not None:
        ingress["customDomains"] = domains
    return res(APP, {"configuration": {"activeRevisionsMode": "Multiple", "ingress": ingress},
                     "template": {"scale": {"minReplicas": min_replicas, "maxReplicas": 10}},
                     "tags": SERVICE_ON}, "containerapp-web-app", stack=stack)


def test_traffic_summing_to_100_passes():
    split = [{"revisionName": "a--r1", "label": "blue", "weight": 90},
             {"revisionName": "a--r2", "label": "green", "weight": 10}]
    assert check("containerapp-traffic-sums-to-100", app(traffic=split)) == []


def test_traffic_summing_to_110_fails():
    split = [{"revisionName": "a--r1", "label": "blue", "weight": 90},
             {"revisionName": "a--r2", "label": "green", "weight": 20}]
    messages = check("containerapp-traffic-sums-to-100", app(traffic=split))
    assert len(messages) == 1 and "sum to 110" in messages[0], messages


def test_one_label_on_two_revisions_fails():
    split = [{"revisionName": "a--r1", "label": "blue", "weight": 50},
             {"revisionName": "a--r2", "label": "blue", "weight": 50}]
    messages = check("containerapp-traffic-sums-to-100", app(traffic=split))
    assert any("'blue' is given to more than one revision" in m for m in messages), messages


def test_production_app_with_a_replica_and_https_only_passes():
    assert check("containerapp-production", PROD, app()) == []


def test_production_app_scaling_to_zero_fails():
    messages = check("containerapp-production", PROD, app(min_replicas=0))
    assert len(messages) == 1 and "service 'web'" in messages[0] and "minReplicas 0" in messages[0], messages


def test_production_app_without_min_replicas_counts_as_zero():
    bare = app()
    del bare.props["template"]["scale"]["minReplicas"]
    assert any("minReplicas 0" in m for m in check("containerapp-production", PROD, bare))


def test_production_app_allowing_plain_http_fails():
    messages = check("containerapp-production", PROD, app(allow_insecure=True))
    assert any("allowInsecure: true" in m for m in messages), messages


def test_production_custom_domain_without_its_certificate_fails():
    messages = check("containerapp-production", PROD,
                     app(domains=[{"name": "score.example.com", "bindingType": "Disabled"}]))
    assert any("'score.example.com' is bound 'Disabled'" in m for m in messages), messages


def test_production_custom_domain_bound_auto_to_its_managed_certificate_passes():
    assert check("containerapp-production", PROD,
                 app(domains=[{"name": "score.example.com", "bindingType": "Auto"}])) == []


def test_scale_to_zero_outside_production_passes():
    assert check("containerapp-production", app(min_replicas=0, stack="dev")) == []


# -- the common container rules read a container app's revision template ----------------------

def test_a_production_container_app_image_by_tag_and_a_plain_secret_are_refused():
    from tests.policies.helpers import check, res

    app = res("azure-native:app:ContainerApp", {"template": {"containers": [{
        "name": "scorer", "image": "cr.azurecr.io/diabetes:latest",
        "env": [{"name": "API_KEY", "value": "abc123"}, {"name": "AML_APP_INSIGHTS_KEY", "secretRef": "ai-key"}]}]}},
        "app", "prod")
    (tag,) = check("production-images-by-digest", app)
    assert "cr.azurecr.io/diabetes:latest" in tag and "digest" in tag, tag
    (key,) = check("no-plain-text-keys", app)
    assert "API_KEY" in key and "secretRef" in key, key
