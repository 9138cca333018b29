"""The AKS kubeconfig with a non-interactive kubelogin login mode.

`listClusterUserCredential` with `format=exec` returns an exec kubeconfig whose kubelogin
arguments end in `--login devicecode`: every Kubernetes call would wait for a person to type a
code in a browser, which a `pulumi up` in CI never does. This rewrites the exec arguments the way
`kubelogin convert-kubeconfig --login <mode>` does (Azure/kubelogin
pkg/internal/converter/convert.go, docs/book/src/concepts/login-modes/*.md, checked 2026-11-25):
every mode keeps `--server-id` (the AKS AAD server application) and `--environment`; `spn`
keeps `--tenant-id`; the credentials come from the environment, never from the kubeconfig.
`msi` may name one of the machine's user-assigned identities: `--client-id <guid>` or
`--identity-resource-id <ARM id>` (kubelogin pkg/internal/token/options.go flags, msicredential.go:
the client id wins when both are set, so mldeploy writes one; docs/book/src/concepts/login-modes/msi.md).
kubelogin lets AZURE_CLIENT_ID in the environment override `--client-id` (options.go `UpdateFromEnv`).

| mode | where the token comes from |
|---|---|
| `azurecli` | the Azure CLI's login (`az login`, or `azure/login` in GitHub Actions) |
| `workloadidentity` | AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_FEDERATED_TOKEN_FILE (federated token) |
| `spn` | AAD_SERVICE_PRINCIPAL_CLIENT_ID/_SECRET or AZURE_CLIENT_ID/AZURE_CLIENT_SECRET |
| `msi` | the managed identity of the machine running `pulumi up`; with several user-assigned ones, `kubeloginIdentity` picks one |
| `azd` | the Azure Developer CLI's login |
"""
from __future__ import annotations

from typing import Any

import yaml

LOGIN_MODES = ("azurecli", "workloadidentity", "spn", "msi", "azd")


def _arg(args: list[str], flag: str) -> str | None:
    for i, arg in enumerate(args):
        if arg == flag and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith(flag + "="):
            return arg.split("=", 1)[1]
    return None


def _identity_args(identity: str) -> list[str]:
    return ["--identity-resource-id", identity] if identity.startswith("/") else ["--client-id", identity]


def login_args(args: list[str], mode: str, identity: str | None = None) -> list[str]:
    """kubelogin `get-token` arguments for `mode`, keeping what identifies the cluster's AAD app."""
    if mode not in LOGIN_MODES:
        raise ValueError(f"kubelogin mode {mode!r}: allowed {', '.join(LOGIN_MODES)}")
    server_id = _arg(args, "--server-id")
    if not server_id:
        raise ValueError("the kubeconfig's kubelogin arguments have no --server-id")
    new = ["get-token", "--login", mode, "--server-id", server_id]
    environment = _arg(args, "--environment")
    if environment:
        new += ["--environment", environment]
    tenant = _arg(args, "--tenant-id")
    if mode == "spn" and tenant:
        new += ["--tenant-id", tenant]
    if identity:
        if mode != "msi":
            raise ValueError(f"a kubelogin identity applies to mode msi only, not {mode!r}")
        new += _identity_args(identity)
    return new


def with_login_mode(kubeconfig: str, mode: str, identity: str | None = None) -> str:
    """`kubeconfig` with every kubelogin exec user switched to `mode` (msi: as `identity` if given);
    other users unchanged."""
    doc: dict[str, Any] = yaml.safe_load(kubeconfig)
    for user in doc.get("users") or []:
        exec_ = (user.get("user") or {}).get("exec")
        if not exec_ or not str(exec_.get("command", "")).endswith("kubelogin"):
            continue
        exec_["args"] = login_args([str(a) for a in exec_.get("args") or []], mode, identity)
    return yaml.safe_dump(doc, sort_keys=False)
