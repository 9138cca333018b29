"""Pure decisions for v2 online endpoints (mldeploy/targets/online_endpoint/plan.py, mldeploy/plan/endpoint.py,
the targets' instance types and quota: mldeploy/targets/managed/, mldeploy/targets/kubernetes_endpoint/)."""
from __future__ import annotations

import pytest

from mldeploy.targets.managed.settings import ManagedEndpointSettings
from mldeploy.targets.online_endpoint.settings import DeploymentSettings
from mldeploy.plan.endpoint import endpoint_name, iso_ms
from mldeploy.targets.kubernetes_endpoint.instance_types import instance_size, kubernetes_instance_type
from mldeploy.targets.managed.plan import quota_usage
from mldeploy.targets.managed.skus import managed_instance_type
from mldeploy.targets.online_endpoint.plan import mirror_traffic, traffic
from mldeploy.plan.managed_skus import find_sku, reserved_instances, sku_for_v1_size


def test_migration_table_maps_the_guides_aci_default_to_ds1_v2():
    assert sku_for_v1_size(0.1, 0.5) == "Standard_DS1_v2"


def test_migration_table_rows():
    # (cpu, memory) -> suggested SKU, one case per row of Microsoft's table
    cases = {(1, 1.2): "Standard_DS1_v2", (2, 1.5): "Standard_F2s_v2", (2, 4): "Standard_DS2_v2",
             (2, 8): "Standard_E2s_v3", (3, 4): "Standard_F4s_v2", (4, 8): "Standard_DS3_v2",
             (4, 16): "Standard_E4s_v3"}
    for (cpu, memory), sku in cases.items():
        assert sku_for_v1_size(cpu, memory) == sku, f"cpu {cpu} / memory {memory} should map to {sku}"


def test_one_core_with_more_memory_than_ds1_fits_the_next_row():
    assert sku_for_v1_size(1, 2) == "Standard_DS2_v2"


def test_beyond_the_table_there_is_no_suggestion():
    assert sku_for_v1_size(8, 8) is None
    assert sku_for_v1_size(2, 32) is None


def test_sku_lookup_ignores_case_and_knows_the_family():
    sku = find_sku("standard_f4s_v2")
    assert sku is not None and sku.family == "standardFSv2Family" and sku.cores == 4


def test_reservation_is_ceil_of_1_2_times_instances():
    sku = find_sku("Standard_F4s_v2")
    assert [reserved_instances(n, sku) for n in (1, 3, 5, 10)] == [2, 4, 6, 12]


def test_skus_exempt_from_the_reservation_hold_their_instances_only():
    assert reserved_instances(3, find_sku("Standard_NC24ads_A100_v4")) == 3


def _endpoint(**deployments):
    return ManagedEndpointSettings(target="managed", deployments=deployments)


def test_quota_counts_autoscale_maximum_per_family():
    service = _endpoint(
        blue=DeploymentSettings(image="x", instance_type="Standard_F4s_v2", instance_count=2, traffic_percent=100,
                                autoscale_enabled=True, autoscale_min_replicas=2, autoscale_max_replicas=5),
        green=DeploymentSettings(image="x", cpu_cores=1, memory_gb=1))
    usage = {u.family: u.cores for u in quota_usage([("web", service)])}
    assert usage == {"standardFSv2Family": 6 * 4, "standardDSv2Family": 2 * 1}, usage


def test_traffic_and_mirror_maps():
    service = _endpoint(blue=DeploymentSettings(image="x", traffic_percent=100),
                        shadow=DeploymentSettings(image="x", mirror_percent=20))
    assert traffic(service) == {"blue": 100, "shadow": 0}
    assert mirror_traffic(service) == {"shadow": 20}


def test_managed_instance_type_defaults_to_azures_default():
    assert managed_instance_type(DeploymentSettings(image="x"), "k").name == "Standard_F4s_v2"


def test_kubernetes_sizes_name_an_instance_type_by_size():
    dep = DeploymentSettings(image="x", cpu_cores=0.5, memory_gb=2)
    assert kubernetes_instance_type(dep, "k") == "mldeploy-500m-2048mi", \
        "named by size (the deployment's name is no input): one InstanceType per size"


def test_kubernetes_without_sizes_uses_the_default_instance_type():
    assert kubernetes_instance_type(DeploymentSettings(image="x"), "k") == "defaultinstancetype"


@pytest.mark.parametrize("given, size, quantities", [
    ({"cpu_cores": 2}, (2, 0.5), ("2000m", "512Mi")),
    ({"memory_gb": 4}, (0.1, 4), ("100m", "4096Mi")),
    ({"cpu_cores": 1, "memory_gb": 1}, (1, 1), ("1000m", "1024Mi")),
])
def test_one_of_cpu_cores_and_memory_gb_gets_v1s_default_for_the_other_on_both_v2_paths(given, size, quantities):
    # v1's deploy_configuration defaults (cpu_cores 0.1, memory_gb 0.5; online_endpoint/settings.py cites them):
    # the managed SKU and the Kubernetes InstanceType are sized from the same (cores, GB).
    dep = DeploymentSettings(image="x", **given)
    assert dep.v1_size() == size
    assert instance_size(dep) == quantities, "kubernetes-endpoint requests what managed sizes its SKU from"
    both = DeploymentSettings(image="x", cpu_cores=size[0], memory_gb=size[1])
    assert managed_instance_type(dep, "k") == managed_instance_type(both, "k")
    assert kubernetes_instance_type(dep, "k") == kubernetes_instance_type(both, "k")


def test_endpoint_name_is_stable_and_short():
    name = endpoint_name("managed", "rg-x", "diabetes")
    assert name == endpoint_name("managed", "rg-x", "diabetes") and name.startswith("diabetes-")
    assert 3 <= len(endpoint_name("s", "g", "a" * 32)) <= 32


def test_iso_durations():
    assert iso_ms(5000) == "PT5S" and iso_ms(500) == "PT0.5S"


# Microsoft's table as published (MicrosoftDocs/azure-ai-docs@12579eb3 migrate-to-v2-managed-online-endpoints.md,
# "Resource requirements"): ((cpu low, cpu high], (memory low, memory high], SKU).
MICROSOFT_V1_SIZE_ROWS = (
    ((0, 1), (0, 1.2), "Standard_DS1_v2"), ((1, 2), (1.2, 1.7), "Standard_F2s_v2"),
    ((1, 2), (1.7, 4.7), "Standard_DS2_v2"), ((1, 2), (4.7, 13.7), "Standard_E2s_v3"),
    ((2, 4), (0, 5.7), "Standard_F4s_v2"), ((2, 4), (5.7, 11.7), "Standard_DS3_v2"),
    ((2, 4), (11.7, 16), "Standard_E4s_v3"),
)


def test_every_size_inside_a_row_of_microsofts_table_gets_that_rows_sku():
    for cores in range(1, 41):
        for tenth_gb in range(1, 161):
            cpu, memory = cores / 10, tenth_gb / 10
            rows = [sku for (cl, ch), (ml, mh), sku in MICROSOFT_V1_SIZE_ROWS if cl < cpu <= ch and ml < memory <= mh]
            if rows:
                assert sku_for_v1_size(cpu, memory) == rows[0], f"cpu {cpu} / memory {memory}: table says {rows[0]}"


def test_sizes_the_table_leaves_out_get_the_smallest_row_that_holds_them():
    # Not in Microsoft's table: mldeploy's rule (plan/managed_skus.py V1_SIZE_TO_SKU).
    assert sku_for_v1_size(2, 1) == "Standard_F2s_v2"
    assert sku_for_v1_size(1, 1.5) == "Standard_F2s_v2"
    assert sku_for_v1_size(0.5, 5) == "Standard_E2s_v3"
