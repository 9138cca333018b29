"""plan/cluster_check.py check_cluster: a created cluster's rules, checked when the stack loads."""
from __future__ import annotations

from datetime import date

import pytest

from mldeploy.config import ConfigError
from mldeploy.config.cluster import ClusterSettings
from mldeploy.plan.cluster_check import check_cluster
from mldeploy.plan.vm_sizes import MEMORY_GIB, VCPUS, known_memory_gib

TODAY = date(2026, 11, 25)
KEY = "mldeploy:clusters.prod"


def cluster(**values) -> ClusterSettings:
    return ClusterSettings.model_validate(values)


def refused(settings: ClusterSettings) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        check_cluster("prod", settings, TODAY)
    return info.value


def test_the_guides_default_cluster_passes():
    check_cluster("prod", cluster(), TODAY)  # 3 x Standard_D3_v2 (4 vCPUs) = 12


def test_fewer_than_12_vcpus_is_refused_with_the_arithmetic():
    err = refused(cluster(agentCount=1))
    assert (err.key, err.message.split(":")[0]) == (KEY, "1 × Standard_D3_v2 (4 vCPU) = 4 < 12"), err


def test_an_unlisted_vm_size_needs_vcpus_per_node():
    err = refused(cluster(vmSize="Standard_Q9"))
    assert err.key == KEY and "unknown VM size 'Standard_Q9'" in err.message, err


def test_vcpus_per_node_is_refused_for_a_listed_size():
    err = refused(cluster(vcpusPerNode=8))
    assert err.key == KEY and err.message.startswith("vcpusPerNode applies only to a VM size missing"), err


def test_a_version_aks_no_longer_creates_is_refused_naming_kubernetes_version():
    err = refused(cluster(kubernetesVersion="1.29"))
    assert err.key == f"{KEY}.kubernetesVersion", err
    assert err.message.startswith("kubernetes 1.29 left AKS support on 2025-03-31"), err


def test_a_version_below_the_minimum_is_refused():
    err = refused(cluster(kubernetesVersion="1.36", minKubernetesVersion="1.37"))
    assert (err.key, err.message) == (KEY, "kubernetesVersion 1.36 is older than minKubernetesVersion 1.37"), err


def test_an_attached_cluster_is_left_to_the_look_up():
    # The stack file cannot give an attached cluster a size (config/cluster.py refuses the created
    # cluster's keys beside `attach`), so the one node that would fail the 12-vCPU rule if created
    # is set past validation: check_cluster must leave an attached cluster to its looked-up values.
    attached = cluster(attach={"resourceGroup": "rg", "name": "aks"}).model_copy(update={"agent_count": 1})
    check_cluster("prod", attached, TODAY)
    assert refused(attached.model_copy(update={"attach": None})).key == KEY


def test_every_memory_entry_names_a_size_of_the_vcpu_table():
    # A misspelt name in MEMORY_GIB would never match a cluster's vmSize: its check would be silently off.
    assert set(MEMORY_GIB) <= set(VCPUS), sorted(set(MEMORY_GIB) - set(VCPUS))
    assert known_memory_gib(" standard_d3_v2 ") == 14 and known_memory_gib("Standard_PB6s") is None
