"""config/references.py: names that must be unique across services, asked of each service's
settings (which DNS label and host name each claims), never probed for one target's fields."""
from __future__ import annotations

import pytest

from mldeploy.config import ConfigError
from mldeploy.targets.stack import parse_settings
from tests.harness import ROOT, stack_values

S = "mldeploy:services"


def _load(values, keys):
    return parse_settings("prod", values, keys, ROOT, "stacks/Pulumi.prod.yaml")


def _prod_with_aci(aks_label: str, aci_label: str):
    values, keys = stack_values("prod")
    values["mldeploy:production"] = False  # ACI is for dev/test
    values[S]["diabetes"]["dnsLabel"] = aks_label
    values[S]["web"] = {"target": "aci", "image": "diabetes", "dnsNameLabel": aci_label}
    return values, keys


def test_an_aci_and_an_aks_label_live_in_different_zones():
    settings = _load(*_prod_with_aci("same", "same"))  # <label>.azurecontainer.io vs <label>.cloudapp.azure.com
    assert settings.services["web"].dns_label_claim() == ("dnsNameLabel", "azurecontainer.io", "same")
    assert settings.services["diabetes"].dns_label_claim() == ("dnsLabel", "cloudapp.azure.com", "same")


def test_two_labels_in_one_zone_are_refused_at_the_second_services_key():
    values, keys = _prod_with_aci("scoring", "same")
    values[S]["web2"] = {"target": "aci", "image": "diabetes", "dnsNameLabel": "same"}
    with pytest.raises(ConfigError) as info:
        _load(values, keys)
    assert info.value.key == f"{S}.web2.dnsNameLabel" and "DNS label 'same' is also service 'web''s" in str(info.value)


def test_a_host_name_reaches_one_service():
    values, keys = stack_values("prod")
    values[S]["second"] = {**values[S]["diabetes"], "namespace": "second"}
    with pytest.raises(ConfigError) as info:
        _load(values, keys)
    assert info.value.key == f"{S}.second.hostName" and "also service 'diabetes''s" in str(info.value)
