"""The AKS kubeconfig logs in without a person (issue 9 item 2): kubelogin's devicecode mode,
which AKS hands out, is replaced by the cluster's kubeloginMode."""
from __future__ import annotations


import pytest
import yaml

from mldeploy.azure.kubeconfig import LOGIN_MODES, with_login_mode
from mldeploy.targets.aks.mocks import AKS_SERVER_APP, TENANT_ID, mock_kubeconfig as _mock_kubeconfig

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
    import mldeploy.components.aks_cluster as aks_cluster
    from tests.harness import stack_values, synth

    seen: list[str] = []
    real = aks_cluster.with_login_mode
    monkeypatch.setattr(aks_cluster, "with_login_mode", lambda *a: seen.append(real(*a)) or seen[-1])
    values, keys = stack_values("prod")
    values["mldeploy:clusters"]["prod"]["kubeloginMode"] = "workloadidentity"
    synth("prod", tmp_path, values, keys)
    assert seen, "the cluster's kubeconfig never went through with_login_mode"
    assert _exec(seen[0])["args"][:3] == ["get-token", "--login", "workloadidentity"]


def test_kubelogin_mode_defaults_to_azure_cli():
    from mldeploy.config.cluster import ClusterSettings

    assert ClusterSettings().kubelogin_mode == "azurecli"


CLIENT_ID = "5b0ab4c1-0f5e-4e6c-9a53-0d3c1e7a9f10"
IDENTITY_ID = ("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-runners/providers/"
               "Microsoft.ManagedIdentity/userAssignedIdentities/id-deployer")


@pytest.mark.parametrize(("identity", "flag"), [(CLIENT_ID, "--client-id"), (IDENTITY_ID, "--identity-resource-id")])
def test_msi_names_the_user_assigned_identity(identity, flag):
    """Issue 20 item 10: a runner with several user-assigned identities picks one (kubelogin msi.md)."""
    args = _exec(with_login_mode(AKS_EXEC, "msi", identity))["args"]
    assert args[args.index(flag) + 1] == identity, args
    other = {"--client-id", "--identity-resource-id"} - {flag}
    assert not other & set(args), "one of the two: kubelogin uses the client id when both are given"
    assert args[args.index("--server-id") + 1] == AKS_SERVER_APP


def test_msi_without_an_identity_uses_the_machines_own():
    args = _exec(with_login_mode(AKS_EXEC, "msi"))["args"]
    assert "--client-id" not in args and "--identity-resource-id" not in args, args


def test_the_cluster_key_reaches_the_kubeconfig(tmp_path, monkeypatch):
    import mldeploy.components.aks_cluster as aks_cluster
    from tests.harness import stack_values, synth

    seen: list[str] = []
    real = aks_cluster.with_login_mode
    monkeypatch.setattr(aks_cluster, "with_login_mode", lambda *a: seen.append(real(*a)) or seen[-1])
    values, keys = stack_values("prod")
    values["mldeploy:clusters"]["prod"].update(kubeloginMode="msi", kubeloginIdentity=IDENTITY_ID)
    synth("prod", tmp_path, values, keys)
    args = _exec(seen[0])["args"]
    assert args[args.index("--identity-resource-id") + 1] == IDENTITY_ID


@pytest.mark.parametrize(("mode", "identity", "message"), [
    ("azurecli", CLIENT_ID, "applies to kubeloginMode msi only"),
    ("msi", "not-a-guid", "client id \\(a GUID\\) or its resource id"),
    ("msi", "/subscriptions/x/resourceGroups/g/providers/Microsoft.Compute/virtualMachines/vm", "resource id"),
])
def test_a_wrong_identity_is_refused_naming_the_key(mode, identity, message):
    from pydantic import ValidationError

    from mldeploy.config.cluster import ClusterSettings

    with pytest.raises(ValidationError, match=message):
        ClusterSettings.model_validate({"kubeloginMode": mode, "kubeloginIdentity": identity})
