"""Pulumi mocks that behave like the providers where the program needs it, and record every
resource registration (type, name, parent, inputs) for synth and tests.

Mocks are not providers: they do not invent names or mark outputs secret. So this
module returns realistic outputs for the few types whose outputs feed other resources, marks
generated secrets secret, and remembers every secret value it handed out so the recorder can
mask them wherever they end up.
"""
from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass, field
from typing import Any, Callable

import pulumi
from pulumi.runtime.mocks import MockCallArgs, MockResourceArgs

from mldeploy.pulumi_internals import MockMonitor, deserialize_properties, registered_options, wrap_wire_secret
from mldeploy.synth.provider_ids import (KUBERNETES_AUTONAMED, kubernetes_autonamed, kubernetes_object_name,
                                         provider_id, random_id_bytes, remote_image_id)
from mldeploy.targets import TARGETS
from mldeploy.targets.fakes import SUBSCRIPTION_ID, TENANT_ID, fake, stable_uuid
from mldeploy.targets.target import OutputMaker


@dataclass(frozen=True)
class Registration:
    urn: str
    type: str
    name: str
    parent: str
    custom: bool
    inputs: dict[str, Any]
    dependencies: tuple[str, ...] = ()  # URNs of depends_on (and input) dependencies
    # The resource options the program set (ignoreChanges, replaceOnChanges, deleteBeforeReplace,
    # protect, retainOnDelete, aliases): what `pulumi up` will do differently with this resource.
    options: dict[str, Any] = field(default_factory=dict)


class SecretLedger:
    """Every secret value the mocks or the config produced; used to mask synthesized files."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: set[str] = set()

    def add(self, value: str) -> str:
        if isinstance(value, str) and len(value) >= 6:
            with self._lock:
                self._values.add(value)
        return value

    def values(self) -> list[str]:
        with self._lock:
            return sorted(self._values, key=len, reverse=True)


def _secret(value: Any) -> Any:
    return wrap_wire_secret(value)


def offline_acr_exchange(ledger: SecretLedger) -> Callable[[str, str, str], str]:
    """Stand-in for the run's ACR token exchange (RunContext.acr_exchange) under synth: no network; the token is a ledger secret."""
    return lambda server, tenant, token: ledger.add(fake("acr-refresh-token", server, tenant))


class SynthMocks(pulumi.runtime.Mocks):
    """Echo inputs, add the outputs real providers compute, and mark generated secrets."""

    def __init__(self, stack: str, ledger: SecretLedger, lookups: dict[str, dict] | None = None):
        self.stack = stack
        self.ledger = ledger
        # Canned answers for get_* invokes (e.g. an attached AKS cluster), by invoke token.
        self.lookups = dict(lookups or {})
        self.outputs: dict[str, OutputMaker] = {}
        self.calls: dict[str, Callable[[dict, "SynthMocks"], dict]] = {}
        # The metadata.name each Kubernetes object got here, by (type, Pulumi name): what refers to it saw this
        # name, and the written manifests must show the same one. It cannot be derived again afterwards from the
        # recorded inputs: those are masked, and a Secret's name is derived from its content (provider_ids.py
        # _REPLACED_ON), so the masked content would give another name than the Deployment refers to.
        self.kubernetes_names: dict[tuple[str, str], str | None] = {}
        _register_defaults(self)

    # -- resources --------------------------------------------------------------------------

    def new_resource(self, args: MockResourceArgs):
        inputs = dict(args.inputs)
        name = args.name
        maker = self.outputs.get(args.typ)
        extra = maker(name, inputs, self) if maker else {}
        state = {**inputs, **extra}
        if args.typ.startswith("kubernetes:"):
            state["metadata"] = kubernetes_metadata(args.typ, inputs, name, self.stack)
            given = state["metadata"].get("name")
            key = (args.typ, name)
            # Two objects of one type and Pulumi name (under different parents) with other names: none recorded.
            self.kubernetes_names[key] = given if self.kubernetes_names.get(key, given) == given else None
        rid = args.resource_id or self.resource_id(args.typ, inputs, name)
        return rid, state

    def resource_id(self, typ: str, inputs: dict, name: str) -> str:
        """The id the resource's provider would give it (synth/provider_ids.py)."""
        real = provider_id(typ, inputs, name, self.stack)
        if real is not None:
            return real
        if typ.startswith("azure-native:"):  # a type no stack creates yet (tests/synth/test_arm_ids.py)
            rg = inputs.get("resourceGroupName", "rg")
            return (f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{rg}/providers/"
                    f"Microsoft.{typ.split(':')[1]}/{typ.split(':')[2]}/{name}")
        return f"{name}-id"

    # -- invokes ----------------------------------------------------------------------------

    def call(self, args: MockCallArgs):
        if args.token in self.lookups:
            return self.lookups[args.token]
        handler = self.calls.get(args.token)
        if handler is not None:
            return handler(dict(args.args), self)
        return {}

    def secret(self, value: str) -> Any:
        """Remember a generated secret and return it marked secret."""
        return _secret(self.ledger.add(value))


def kubernetes_metadata(typ: str, inputs: dict, name: str, stack: str, given: str | None = None) -> dict:
    """An object's metadata as the provider returns it: a name it was not given is the provider's
    auto-name (`given`: the one the mocks gave it during the run), with its annotation
    (synth/provider_ids.py kubernetes_object_name)."""
    meta = dict(inputs.get("metadata") or {})
    if kubernetes_autonamed(inputs):
        meta["name"] = given or kubernetes_object_name(typ, inputs, name, stack)
        meta["annotations"] = {**(meta.get("annotations") or {}), KUBERNETES_AUTONAMED: "true"}
    return meta


def _register_defaults(m: SynthMocks) -> None:
    """The shared part's answers (resource group, workspace, registry, images, identities), then
    every target's own (mldeploy/targets/<name>/mocks.py), whatever targets the stack uses."""
    m.outputs.update(_FOUNDATION_OUTPUTS)
    m.calls.update(_FOUNDATION_CALLS)
    for target in TARGETS:
        m.outputs.update(target.mocks.outputs)
        m.calls.update(target.mocks.calls)


def _app_insights(n: str, i: dict, m: SynthMocks) -> dict:
    return {
        "name": i.get("resourceName", n),
        "instrumentationKey": m.secret(stable_uuid("ikey", m.stack, n)),
        "connectionString": m.secret(
            f"InstrumentationKey={stable_uuid('ikey', m.stack, n)};IngestionEndpoint=https://westeurope-5.in.applicationinsights.azure.com/"
        ),
    }


def _image(n: str, i: dict, m: SynthMocks) -> dict:
    return {
        "imageName": i.get("imageName"),
        "repoDigest": str(i.get("imageName", n)).split(":")[0] + "@sha256:"
        + hashlib.sha256(json.dumps(i, sort_keys=True, default=str).encode()).hexdigest(),
    }


_FOUNDATION_OUTPUTS: dict[str, OutputMaker] = {
    "azure-native:resources:ResourceGroup": lambda n, i, m: {"name": i.get("resourceGroupName", n)},
    "azure-native:storage:StorageAccount": lambda n, i, m: {
        "name": i.get("accountName", n),
        "primaryEndpoints": {"blob": f"https://{i.get('accountName', n)}.blob.core.windows.net/"},
    },
    "azure-native:containerregistry:Registry": lambda n, i, m: {
        "name": i.get("registryName", n),
        "loginServer": f"{i.get('registryName', n).lower()}.azurecr.io",
    },
    "azure-native:keyvault:Vault": lambda n, i, m: {"name": i.get("vaultName", n)},
    "azure-native:applicationinsights:Component": _app_insights,
    "azure-native:machinelearningservices:Workspace": lambda n, i, m: {
        "name": i.get("workspaceName", n),
        "workspaceId": stable_uuid("workspace", m.stack, i.get("workspaceName", n)),
        "discoveryUrl": f"https://{i.get('location', 'westeurope')}.api.azureml.ms/discovery",
    },
    "azure-native:machinelearningservices:ModelContainer": lambda n, i, m: {"name": i.get("name", n)},
    "azure-native:machinelearningservices:ModelVersion": lambda n, i, m: {"name": i.get("version", n)},
    # A workspace compute: batch clusters and attached Kubernetes computes alike.
    "azure-native:machinelearningservices:Compute": lambda n, i, m: {"name": i.get("computeName", n)},
    "docker:index/image:Image": _image,
    # The local gateway's container runs the pulled image by its id (components/local.py): without it the
    # Container's `image` input was unknown, and resources.json showed the gateway container with no image.
    "docker:index/remoteImage:RemoteImage": lambda n, i, m: {"imageId": remote_image_id(m.stack, n)},
    "azure-native:managedidentity:UserAssignedIdentity": lambda n, i, m: {
        "principalId": stable_uuid("principal", m.stack, n), "clientId": stable_uuid("client", m.stack, n),
        "tenantId": TENANT_ID,
    },
    "random:index/randomPassword:RandomPassword": lambda n, i, m: {
        "result": m.secret(fake("password", m.stack, n)),
    },
    "random:index/randomId:RandomId": lambda n, i, m: {
        "hex": random_id_bytes(m.stack, n, int(i.get("byteLength", 8))).hex(),
    },
}


def _existing_workspace(a: dict, m: SynthMocks) -> dict:
    """An existing workspace (workspace.create: false) with its registry, storage and insights,
    named after the lookup so a stack synthesizes without canned answers (tests pass others)."""
    group, name = a.get("resourceGroupName"), a.get("workspaceName")
    base = f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{group}/providers"
    short = "".join(ch for ch in str(name).lower() if ch.isalnum())[:20]
    return {"name": name, "workspaceId": stable_uuid("workspace", str(group), str(name)),
            "containerRegistry": f"{base}/Microsoft.ContainerRegistry/registries/cr{short}",
            "storageAccount": f"{base}/Microsoft.Storage/storageAccounts/st{short}",
            "applicationInsights": f"{base}/Microsoft.Insights/components/appi-{name}",
            "keyVault": f"{base}/Microsoft.KeyVault/vaults/kv-{short}"[:200]}


_FOUNDATION_CALLS: dict[str, Callable[[dict, SynthMocks], dict]] = {
    "azure-native:machinelearningservices:getWorkspace": _existing_workspace,
    "azure-native:containerregistry:getRegistry": lambda a, m: {
        "name": a.get("registryName"), "loginServer": f"{str(a.get('registryName')).lower()}.azurecr.io",
        "sku": {"name": "Standard"}},
    "azure-native:applicationinsights:getComponent": lambda a, m: {
        "name": a.get("resourceName"),
        "instrumentationKey": m.secret(stable_uuid("ikey", str(a.get("resourceName")))),
        "connectionString": m.secret(f"InstrumentationKey={stable_uuid('ikey', str(a.get('resourceName')))}")},
    # The deployer's Entra ID access token (components/registry.py exchanges it for ACR push rights).
    "azure-native:authorization:getClientToken": lambda a, m: {
        "token": m.secret(fake("aad-access-token", m.stack, str(a.get("endpoint") or "arm")))},
    "azure-native:authorization:getClientConfig": lambda a, m: {
        "subscriptionId": SUBSCRIPTION_ID, "tenantId": TENANT_ID,
        "clientId": stable_uuid("client"), "objectId": stable_uuid("object"),
    },
    "azure-native:containerregistry:listRegistryCredentials": lambda a, m: {
        "username": a.get("registryName", "registry"),
        "passwords": [
            {"name": "password", "value": m.secret(fake("acr", m.stack, a.get("registryName", ""), "1"))},
            {"name": "password2", "value": m.secret(fake("acr", m.stack, a.get("registryName", ""), "2"))},
        ],
    },
}


class RecordingMonitor(MockMonitor):
    """The mock monitor, also keeping each registration's URN, parent, raw inputs and options."""

    def __init__(self, mocks: SynthMocks):
        super().__init__(mocks)
        self._lock = threading.Lock()
        self.registrations: list[Registration] = []
        self._by_urn: dict[str, Registration] = {}
        self.duplicates: list[tuple[Registration, Registration]] = []

    def RegisterResource(self, request):
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            inputs = deserialize_properties(request.object)
            self._record(Registration(
                urn=response.urn, type=request.type, name=request.name,
                parent=request.parent, custom=bool(request.custom), inputs=inputs,
                dependencies=tuple(sorted(request.dependencies)), options=registered_options(request),
            ))
        return response

    def _record(self, reg: Registration) -> None:
        # The engine refuses a program that registers one URN twice ("Duplicate resource URN");
        # Pulumi's MockMonitor does not check, so the recorder does, keeping both declarations.
        with self._lock:
            first = self._by_urn.setdefault(reg.urn, reg)
            if first is not reg:
                self.duplicates.append((first, reg))
            self.registrations.append(reg)

    def ReadResource(self, request):
        response = super().ReadResource(request)
        state = deserialize_properties(request.properties)
        self._record(Registration(
            urn=response.urn, type=request.type, name=request.name,
            parent=request.parent, custom=True, inputs={"id": request.id, **state},
        ))
        return response
