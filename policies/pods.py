"""A workload's pod as the auth/TLS checks read it, for Kubernetes workloads and ACI container
groups alike: its containers, the gateway among them (`nginx -c <config>`), and where a file a
container reads comes from (which volume, ConfigMap or Secret, under which key)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from mldeploy.policies.reading import ACI, POD_SPEC_PATHS, UNKNOWN, Unknown, get, opaque, plain

_NGINX_CONF = re.compile(r"\bnginx\b(?:.*?\s)?-c\s+(\S+)")


@dataclass(frozen=True)
class Pod:
    """The containers and volumes of one workload, in plain form."""

    urn: str
    where: str  # "Deployment diabetes-stable", "container group group"
    aci: bool
    namespace: Any
    labels: dict
    containers: list
    volumes: Any  # {name: volume}, or UNKNOWN / MASK
    public_ports: list  # ACI: the group's IP address ports


@dataclass(frozen=True)
class Source:
    """Where a file a container reads comes from."""

    kind: str  # "configMap" / "secret" (Kubernetes), "aci-secret", or another volume kind
    ref: Any  # the ConfigMap or Secret name (Kubernetes)
    key: str  # the key holding the file
    volume: dict


def pod_of(r) -> Pod | None:
    """The pod of a Kubernetes workload or ACI container group; None for other resources."""
    props = plain(r.props)
    if r.resource_type == ACI:
        spec, labels, namespace = props, {}, None
        where, ports = f"container group {r.name}", get(props, "ipAddress", "ports") or []
    elif r.resource_type in POD_SPEC_PATHS:
        path = POD_SPEC_PATHS[r.resource_type]
        spec, labels = get(props, *path), get(props, *path[:-1], "metadata", "labels") or {}
        namespace = get(props, "metadata", "namespace") or "default"
        where, ports = f"{r.resource_type.rsplit(':', 1)[-1]} {r.name}", []
    else:
        return None
    if not isinstance(spec, dict) or not isinstance(spec.get("containers"), list):
        return None
    volumes = spec.get("volumes")
    if not opaque(volumes):
        volumes = {v.get("name"): v for v in volumes or [] if isinstance(v, dict)}
    return Pod(r.urn, where, r.resource_type == ACI, namespace, labels if isinstance(labels, dict) else {},
               [c for c in spec["containers"] if isinstance(c, dict)], volumes,
               ports if isinstance(ports, list) else [])


def gateway_of(pod: Pod) -> tuple[dict, str] | Unknown | None:
    """(container, config path) of the container running `nginx -c <config>`."""
    unknown = False
    for c in pod.containers:
        parts = [c.get("command") or [], c.get("args") or []]
        if any(not isinstance(p, list) or UNKNOWN in p for p in parts):
            unknown = True
            continue
        m = _NGINX_CONF.search(" ".join(str(x) for p in parts for x in p))
        if m:
            return c, m.group(1).strip("'\";")
    return UNKNOWN if unknown else None


def mount_of(container: dict, path: str) -> tuple[dict, str] | None:
    """(volume mount, path inside the volume) of the deepest mount holding `path`."""
    best: tuple[dict, str, int] | None = None
    for m in container.get("volumeMounts") or []:
        where = m.get("mountPath") if isinstance(m, dict) else None
        if not isinstance(where, str):
            continue
        base = where.rstrip("/")
        if isinstance(m.get("subPath"), str) and m["subPath"]:
            rel = m["subPath"] if path == base else None
        else:
            rel = path[len(base) + 1:] if path.startswith(base + "/") else None
        if rel is not None and (best is None or len(base) > best[2]):
            best = (m, rel, len(base))
    return (best[0], best[1]) if best else None


def locate(pod: Pod, container: dict, path: str) -> Source | str | None:
    """Where `path` comes from; a problem (a sentence), or None when that cannot be read."""
    cname = container.get("name", "?")
    found = mount_of(container, path)
    if found is None:
        return f"{path} is on no volume mounted in its container {cname}"
    mount, rel = found
    if opaque(pod.volumes):
        return None
    vol = pod.volumes.get(mount.get("name"))
    if vol is None:
        return f"container {cname} mounts volume {mount.get('name')!r} for {path}, which is not declared"
    if pod.aci and "secret" in vol:
        return Source("aci-secret", None, rel, vol)
    for kind, ref_key in (("configMap", "name"), ("secret", "secretName")):
        src = vol.get(kind)
        if src is UNKNOWN:
            return None
        if isinstance(src, dict):
            items = src.get("items")
            if items is UNKNOWN:
                return None
            key = rel
            if isinstance(items, list):
                keys = [i.get("key") for i in items if isinstance(i, dict) and i.get("path") == rel]
                if not keys:
                    return f"the {kind} volume {vol.get('name')!r} maps no item to {rel} ({path})"
                key = keys[0]
            return Source(kind, src.get(ref_key), key, vol)
    return Source(next((k for k in vol if k != "name"), "unknown"), None, rel, vol)
