"""plan/naming.py: the one hash-suffix helper, stable and order-sensitive."""
from __future__ import annotations

import hashlib

from mldeploy.plan.naming import hash_suffix


def test_the_suffix_is_sha256_of_the_parts_joined_with_slashes():
    assert hash_suffix("dev", "rg") == hashlib.sha256(b"dev/rg").hexdigest()[:6]


def test_the_suffix_length_can_be_chosen():
    assert len(hash_suffix("a", length=10)) == 10


def test_the_order_of_the_parts_matters():
    assert hash_suffix("a", "b") != hash_suffix("b", "a")


# Names derived from a stack name Pulumi allows (letters, digits, '_', '.', '-') stay names Azure takes
# (learn.microsoft.com resource-name-rules; plan/naming.py cites each).
def test_a_log_analytics_name_takes_no_underscore_or_period():
    from mldeploy.plan.naming import log_analytics

    assert log_analytics("Dev_Test.UPPER") == "log-Dev-Test-UPPER"
    assert log_analytics("dev") == "log-dev"  # plain stack names keep their names
    long = log_analytics("a" * 58 + "_b")
    assert len(long) <= 63 and not long.endswith("-")


def test_an_aks_cluster_name_takes_no_period_and_ends_alphanumeric():
    from mldeploy.plan.naming import aks_cluster

    assert aks_cluster("dev_eu.2", "prod") == "aks-dev_eu-2-prod"
    assert aks_cluster("prod", "prod") == "aks-prod-prod"
    assert aks_cluster("a" * 57 + "_", "x")[-1].isalnum()


def test_app_insights_and_the_default_resource_group_do_not_end_with_a_period():
    from mldeploy.config.stack import StackSettings
    from mldeploy.plan.naming import app_insights

    assert app_insights("dev.") == "appi-dev"
    assert StackSettings(stack="dev.").resource_group_name == "rg-mldeploy-dev"


def test_a_key_vault_name_never_holds_two_hyphens_in_a_row():
    from mldeploy.plan.naming import instance_key_vault, key_vault

    assert "--" not in key_vault("__", "rg") and key_vault("__", "rg").startswith("kv-")
    assert key_vault("dev", "rg") == f"kv-dev-{hash_suffix('dev', 'rg')}"  # plain stack names keep their names
    assert "--" not in instance_key_vault("..", "ab12")


def test_a_log_analytics_name_keeps_its_four_characters_for_any_stack_name():
    from mldeploy.plan.naming import log_analytics

    assert len(log_analytics("__")) >= 4 and log_analytics("__")[-1].isalnum()


def test_an_aks_dns_prefix_is_the_cluster_name_whenever_that_is_a_valid_prefix():
    from mldeploy.plan.naming import aks_cluster, aks_dns_prefix

    # dnsPrefix is create-only: a name AKS already took as its prefix must stay the prefix (no replacement).
    assert aks_dns_prefix(aks_cluster("prod", "prod")) == "aks-prod-prod"
    assert aks_dns_prefix(aks_cluster("kubernetes-endpoint", "inference")) == "aks-kubernetes-endpoint-inference"
    assert aks_dns_prefix("aks-dev_eu-2-prod") == "aks-dev-eu-2-prod"
    assert aks_dns_prefix("aks-" + "a" * 49 + "-b") == "aks-" + "a" * 49, "54 characters, no '-' at the end"
