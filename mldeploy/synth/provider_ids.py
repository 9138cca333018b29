"""The id each provider gives a resource, for the offline synth's mocks: what `pulumi up` writes
in the state and what an `.id` passed on to another resource holds.

- azure-native: the ARM path of the REST spec (mldeploy/synth/arm_ids.py).
- kubernetes: `<namespace>/<name>`, or `<name>` for an object without a namespace
  (pulumi/pulumi-kubernetes provider/pkg/provider/provider.go Create: `Id: FqObjName(initialized)`;
  clients/unstructured.go `FqName`); an object without metadata.name (nor generateName) is named by
  the provider: its Pulumi name + "-" + 8 characters of [a-f0-9], annotated `pulumi.com/autonamed:
  "true"` (provider/pkg/metadata/naming.go `AssignNameIfAutonamable`: `resource.NewUniqueName(seed,
  urn.Name()+"-", 0, 0, nil)`, whose defaults are 8 characters of "0123456789abcdef", pulumi/pulumi
  sdk/go/common/resource; naming_test.go: "foo" -> 12 characters).
- random: a RandomPassword's id is the constant "none" (hashicorp/terraform-provider-random
  internal/provider/resource_password.go Create, `types.StringValue("none")`, which pulumi-random
  bridges); a RandomId's is its bytes in unpadded URL-safe base64, without the prefix
  (resource_id.go: `base64.RawURLEncoding.EncodeToString(bytes)`).
- docker: an Image is its `imageName` (pulumi/pulumi-docker provider/image.go, dockerBuild returns
  `img.Name`); a Container and a Network the 64-hex id the Docker engine gives; a RemoteImage the
  image id + its name (kreuzwerker/terraform-provider-docker resource_docker_image_funcs.go:
  `d.SetId(foundImage.ID + d.Get("name"))`).
- a provider resource (`pulumi:providers:*`): a UUID (pulumi/pulumi
  pkg/resource/deploy/providers/registry.go Create, `uuid.NewV4()`).
- mldeploy's dynamic providers: the id their own `create` returns, from the same function.

Where the provider draws random characters, they are derived from the stack and the name here, so
two synths of one tree are byte-identical; the shape is the provider's.
"""
from __future__ import annotations

import base64
import hashlib
import json
from typing import Any, Callable

from mldeploy.components.endpoint_keys import keys_id
from mldeploy.components.endpoint_traffic import traffic_id
from mldeploy.components.iot_edge_provider import resource_id as edge_deployment_id
from mldeploy.components.propagation import propagation_id
from mldeploy.synth.arm_ids import arm_id
from mldeploy.targets.fakes import stable_uuid


def _hex(*parts: str) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()


def remote_image_id(stack: str, name: str) -> str:
    """A docker RemoteImage's `imageId` under synth (`docker inspect`'s image id); its resource id is that id
    followed by the image's name, as the provider makes it (below)."""
    return f"sha256:{_hex(stack, 'docker:index/remoteImage:RemoteImage', name)}"


def random_id_bytes(stack: str, name: str, length: int) -> bytes:
    """The bytes a RandomId holds under synth (its `hex` and its id read the same bytes)."""
    return bytes.fromhex(_hex(stack, name))[:length]


def _random_id(typ: str, inputs: dict, name: str, stack: str) -> str:
    data = random_id_bytes(stack, name, int(inputs.get("byteLength", 8)))
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


# pulumi-kubernetes' annotation on an object it named (provider/pkg/metadata/annotations.go AnnotationAutonamed).
KUBERNETES_AUTONAMED = "pulumi.com/autonamed"


# A replaced auto-named object gets a new name: pulumi-kubernetes' autonaming test replaces a Pod by a changed
# image and asserts "replaced ... with allocating a new name" (step1Name != step2Name), and an in-place update
# keeps it (step3) (pulumi/pulumi-kubernetes tests/sdk/nodejs/autonaming/autonaming_test.go, step2/index.ts:
# "triggering a replace. Because `.metadata.name` is not specified, Pulumi again will provide a name"). What
# replaces the objects mldeploy lets the provider name: a Secret's `type`, `stringData`, `data`
# (provider/pkg/provider/diff.go forceNew, core/v1 "Secret"); a ConfigMap's `data`, `binaryData` only when it
# is `immutable`, as mldeploy's cluster providers set enableConfigMapMutable (components/aks_cluster.py;
# mldeploy/cli/replacement.py cites the provider's rule). Synth cannot draw the provider's random characters, so
# it derives them from these fields too: the same content keeps its name, content that replaces the object
# gets another, as `pulumi up` gives it one - and what refers to it by name (a Deployment's secretKeyRef, a
# volume's secretName) changes with it in `mldeploy diff`, as it does in Azure. Only a digest of a digest of
# the values enters the name (synth's secure values are placeholders already).
_REPLACED_ON = {"kubernetes:core/v1:Secret": ("type", "stringData", "data"),
                "kubernetes:core/v1:ConfigMap": ("data", "binaryData")}


def _replacing_content(typ: str, inputs: dict) -> str:
    fields = _REPLACED_ON.get(typ, ())
    if typ == "kubernetes:core/v1:ConfigMap" and not inputs.get("immutable"):
        fields = ()
    if not any(inputs.get(f) for f in fields):
        return ""
    content = json.dumps({f: inputs.get(f) for f in fields}, sort_keys=True, default=str)
    return hashlib.sha256(content.encode()).hexdigest()


def kubernetes_object_name(typ: str, inputs: dict, name: str, stack: str) -> str:
    """metadata.name of a Kubernetes object after `pulumi up`: the program's, else the provider's
    auto-name `<Pulumi name>-<8 of [a-f0-9]>` (above), its characters derived from the stack, the type,
    the name and what would replace the object (_REPLACED_ON): stable between runs and updates, new when
    the provider would replace it (`pulumi up` picks other characters)."""
    meta = inputs.get("metadata") or {}
    if meta.get("name"):
        return str(meta["name"])
    parts = [stack, typ, name]
    if (content := _replacing_content(typ, inputs)):
        parts.append(content)
    return f"{name}-{_hex(*parts)[:8]}"


def kubernetes_autonamed(inputs: dict) -> bool:
    """Whether the provider names this object (no metadata.name, no generateName)."""
    meta = inputs.get("metadata") or {}
    return not meta.get("name") and not meta.get("generateName")


def _kubernetes(typ: str, inputs: dict, name: str, stack: str) -> str:
    meta = inputs.get("metadata") or {}
    object_name = kubernetes_object_name(typ, inputs, name, stack)
    return f"{meta['namespace']}/{object_name}" if meta.get("namespace") else object_name


# Dynamic providers: type token -> the provider's own id of its inputs.
DYNAMIC_IDS: dict[str, Callable[[dict], str]] = {
    "pulumi-python:dynamic/mldeploy:EndpointTraffic": traffic_id,
    "pulumi-python:dynamic/mldeploy:EndpointKeys": keys_id,
    "pulumi-python:dynamic/azure:RolePropagation": propagation_id,
    "pulumi-python:dynamic/iotedge:Deployment": edge_deployment_id,
}

_BY_TYPE: dict[str, Callable[[str, dict, str, str], str]] = {
    "random:index/randomPassword:RandomPassword": lambda t, i, n, s: "none",
    "random:index/randomId:RandomId": _random_id,
    "docker:index/image:Image": lambda t, i, n, s: str(i.get("imageName") or n),
    "docker:index/container:Container": lambda t, i, n, s: _hex(s, t, n),
    "docker:index/network:Network": lambda t, i, n, s: _hex(s, t, n),
    "docker:index/remoteImage:RemoteImage": lambda t, i, n, s: f"{remote_image_id(s, n)}{i.get('name', n)}",
}


def provider_id(typ: str, inputs: dict[str, Any], name: str, stack: str) -> str | None:
    """The id the resource's provider gives it, or None for a type this module does not know."""
    if typ.startswith("azure-native:"):
        return arm_id(typ, inputs, name, stack)
    if typ.startswith("kubernetes:"):
        return _kubernetes(typ, inputs, name, stack)
    if typ.startswith("pulumi:providers:"):
        return stable_uuid("provider", stack, typ, name)
    if typ in DYNAMIC_IDS:
        return DYNAMIC_IDS[typ](inputs)
    maker = _BY_TYPE.get(typ)
    return maker(typ, inputs, name, stack) if maker else None
