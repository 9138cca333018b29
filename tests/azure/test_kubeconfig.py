"""The AKS kubeconfig logs in without a person (issue 9 item 2): kubelogin's devicecode mode,
which AKS hands out, is replaced by the cluster's kubeloginMode."""
from __future__ import annotations


import pytest
import yaml

from mldeploy.azure.kubeconfig import LOGIN_MODES, with_login_mode
from mldeploy.synth.mocks import AKS_SERVER_APP, TENANT_ID, _mock_kubeconfig

AKS_EXEC = _mock_kubeconfig("aks-prod-prod", "exec")  # the shape AKS returns for format=exec


def _exec(kubeconfig: str) -> dict:
    return yaml.safe_load(kubeconfig)["users"][0]["user"]["exec"]


def test_aks_hands_out_the_interactive_devicecode_mode():
    assert _exec(AKS_EXEC)["args"][-2:] == ["--login", "devicecode"]


@pytest.mark.parametrize("mode", LOGIN_MODES)
def test_every_mode_is_non_interactive_and_keeps_the_server_id(mode):
    args = _exec(with_login_mode(AKS_EXEC, mode))["args"]
    assert args[:3] == ["get-token", "--login", mode], args
    assert "devicecode" not in args and "interactive" not in args, args
    assert args[args.index("--server-id") + 1] == AKS_SERVER_APP, args
    assert args[args.index("--environment") + 1] == "AzurePublicCloud", args


def test_azurecli_drops_the_device_code_client_and_tenant():
    args = _exec(with_login_mode(AKS_EXEC, "azurecli"))["args"]
    assert "--client-id" not in args and "--tenant-id" not in args, args


def test_spn_keeps_the_tenant_and_takes_its_credentials_from_the_environment():
    args = _exec(with_login_mode(AKS_EXEC, "spn"))["args"]
    assert args[args.index("--tenant-id") + 1] == TENANT_ID
    assert "--client-id" not in args and "--client-secret" not in args, "no credential in the kubeconfig"


def test_clusters_and_contexts_are_unchanged():
    before, after = yaml.safe_load(AKS_EXEC), yaml.safe_load(with_login_mode(AKS_EXEC, "azurecli"))
    assert before["clusters"] == after["clusters"] and before["contexts"] == after["contexts"]


def test_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="allowed"):
        with_login_mode(AKS_EXEC, "devicecode")


def test_the_cluster_provider_gets_the_configured_mode(tmp_path, monkeypatch):
    """The program's kubeconfig (what the Kubernetes provider and the output get) is rewritten."""
    import components.aks_cluster as aks_cluster
    from tests.harness import stack_values, synth

    seen: list[str] = []
    real = aks_cluster.with_login_mode
    monkeypatch.setattr(aks_cluster, "with_login_mode", lambda k, mode: seen.append(real(k, mode)) or seen[-1])
    values, keys = stack_values("prod")
    values["mldeploy:clusters"]["prod"]["kubeloginMode"] = "workloadidentity"
    synth("prod", tmp_path, values, keys)
    assert seen, "the cluster's kubeconfig never went through with_login_mode"
    assert _exec(seen[0])["args"][:3] == ["get-token", "--login", "workloadidentity"]


def test_kubelogin_mode_defaults_to_azure_cli():
    from mldeploy.config.aks import ClusterSettings

    assert ClusterSettings().kubelogin_mode == "azurecli"
