"""gateway-certificate-mounted (policies/rules.py, serving.py): in every stack, a gateway whose
nginx.conf listens with ssl gets the certificate and key it names from a mounted Secret (or one
cert-manager issues) - else nginx does not start and the pod crash-loops (issue 20 item 11)."""
from __future__ import annotations

import copy

import pytest

from mldeploy.pulumi_internals import stack_validation_args
from mldeploy.synth.policy import policy_resources
from tests.harness import stack_values, synth
from tests.policies.helpers import DEPLOYMENT, policy


def violations(resources) -> list[str]:
    found: list[str] = []
    policy("gateway-certificate-mounted").validate(stack_validation_args(resources, None),
                                                   lambda message, urn=None: found.append(message))
    return found


@pytest.fixture(scope="module")
def non_production_tls(tmp_path_factory):
    # prod-attach's service (certificate in secret config, tlsEnabled unset) in a non-production stack.
    values, secret_keys = stack_values("prod-attach")
    values["mldeploy:production"] = False
    return policy_resources(synth("prod-attach", tmp_path_factory.mktemp("np"), values, secret_keys))


def _without_tls_volume(resources):
    resources = copy.deepcopy(resources)
    for r in resources:
        if r.resource_type != DEPLOYMENT:
            continue
        pod = r.props["spec"]["template"]["spec"]
        pod["volumes"] = [v for v in pod["volumes"] if v["name"] != "gateway-tls"]
        for c in pod["containers"]:
            c["volumeMounts"] = [m for m in c.get("volumeMounts") or [] if m["name"] != "gateway-tls"]
    return resources


def test_a_non_production_tls_service_as_synthesized_passes(non_production_tls):
    assert violations(non_production_tls) == []


def test_an_ssl_listener_without_the_mounted_certificate_is_caught(non_production_tls):
    # The shape issue 20 found: nginx listens with ssl, no Deployment mounts the TLS Secret.
    found = violations(_without_tls_volume(non_production_tls))
    assert found, "a gateway listening with ssl and no certificate mounted must be reported"
    assert all("listens with ssl but" in m and "/etc/mldeploy/tls/tls." in m and "crash-loop" in m
               for m in found), found


def test_plain_http_gateways_are_not_its_business(tmp_path):
    values, secret_keys = stack_values("fpga")  # tlsEnabled: false
    assert violations(policy_resources(synth("fpga", tmp_path, values, secret_keys))) == []
