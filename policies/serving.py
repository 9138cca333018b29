"""What a scoring service's resources actually do about auth and TLS, beside what its markers
claim: the gateway's nginx.conf (policies/gateway.py), the Secrets its container mounts for the
keys map and the certificate, and no port that reaches the scorer around the gateway.

Props are what `pulumi preview` hands a stack policy: inputs, with secret values readable (the
engine passes them to analyzers) and values not known yet as unknowns. `mldeploy synth` hands
the same shapes with secrets masked ("[secret]"). What cannot be read (masked, or unknown until
`pulumi up`, which runs the policies again with every value known) is skipped, never guessed.
"""
from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Any

from mldeploy.render.k8s_pod import SECRET_KEYS_ANNOTATION
from mldeploy.policies import gateway, nginx
from mldeploy.policies.pods import Pod, Source, gateway_of, locate, pod_of
from mldeploy.policies.reading import CONFIG_MAP, UNKNOWN, get, number, opaque, plain, same

SECRET = "kubernetes:core/v1:Secret"
SERVICE = "kubernetes:core/v1:Service"
CERTIFICATE_KEYS = {"tls.crt", "tls.key", "ca.crt"}  # what cert-manager writes into its Secret
EXTERNAL_SERVICE_TYPES = {"LoadBalancer", "NodePort"}
AUTH, TLS = "auth", "tls"


def _is_certificate(type_: str) -> bool:
    return type_.startswith("kubernetes:cert-manager.io/") and type_.endswith(":Certificate")


@dataclass(frozen=True)
class Finding:
    aspects: tuple[str, ...]  # AUTH and/or TLS: the declared property this contradicts
    urn: str  # the resource that lacks it
    problem: str  # what is missing, naming the resources


@dataclass(frozen=True)
class _Object:
    urn: str
    name: str  # Pulumi's name
    type: str
    props: dict

    @property
    def namespace(self) -> Any:
        return get(self.props, "metadata", "namespace") or "default"

    def named(self, ref: str) -> bool:
        # An object without metadata.name in its inputs is named by pulumi-kubernetes `<Pulumi name>-<8 of
        # [a-f0-9]>` (provider/pkg/metadata/naming.go; mldeploy/synth/provider_ids.py), which is what a
        # reference to it holds; a reference holding the Pulumi name alone is matched too.
        explicit = get(self.props, "metadata", "name")
        if explicit not in (None, UNKNOWN):
            return explicit == ref
        return isinstance(ref, str) and (ref == self.name or re.fullmatch(re.escape(self.name) + "-[0-9a-f]{8}", ref) is not None)


def _secret_keys(secret: _Object) -> set[str] | None:
    """The keys a Secret holds: from its data, else (masked) from mldeploy's annotation."""
    keys: set[str] = set()
    readable = False
    for field in ("data", "stringData"):
        value = secret.props.get(field)
        if isinstance(value, dict):
            keys |= set(value)
            readable = True
    if readable:
        return keys
    listed = get(secret.props, "metadata", "annotations", SECRET_KEYS_ANNOTATION)
    return set(listed.split(",")) if isinstance(listed, str) else None


def _decoded(value: str) -> str | None:
    try:
        return base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None


class Stack:
    """The stack's Kubernetes objects, indexed once; `verify` checks one workload against them."""

    def __init__(self, resources):
        self.objects = [_Object(r.urn, r.name, r.resource_type, plain(r.props)) for r in resources
                        if r.resource_type in (CONFIG_MAP, SECRET, SERVICE) or _is_certificate(r.resource_type)]

    def _find(self, type_: str, namespace: Any, ref: str) -> _Object | None:
        return next((o for o in self.objects if o.type == type_ and same(o.namespace, namespace) and o.named(ref)),
                    None)

    def verify(self, r, *, auth: bool, tls: bool) -> list[Finding]:
        """What workload `r` (Kubernetes or ACI) lacks for the auth / TLS asked about."""
        aspects = tuple(a for a, on in ((AUTH, auth), (TLS, tls)) if on)
        pod = pod_of(r)
        if not aspects or pod is None:
            return []
        gw = gateway_of(pod)
        if gw is UNKNOWN:
            return []
        if gw is None:
            return [Finding(aspects, pod.urn, f"{pod.where} has no gateway: no container runs nginx with a config "
                                              "file (`nginx -c <file>`), so nothing in front of the scorer checks "
                                              "keys or terminates TLS")]
        container, conf_path = gw
        found = self._bypasses(pod, container, aspects)
        if tls:
            found += self._plain_probes(pod, container)
        src = locate(pod, container, conf_path)
        if isinstance(src, str):
            return found + [Finding(aspects, pod.urn, f"{pod.where} does not provide its gateway config: {src}")]
        if src is None:
            return found
        texts, problems = self._conf_texts(pod, src)
        found += [Finding(aspects, urn, problem) for problem, urn in problems]
        for text, label, urn in texts:
            try:
                top = nginx.parse(text)
            except nginx.NginxSyntaxError as e:
                found.append(Finding(aspects, urn, f"{label} does not parse ({e}), so what it enforces is unknown"))
                continue
            for aspect, check, what in ((AUTH, gateway.auth_problems, "the keys map it includes"),
                                        (TLS, gateway.tls_problems, "its TLS certificate and key")):
                if aspect not in aspects:
                    continue
                problems_, files = check(top)
                found += [Finding((aspect,), urn, f"{label}: {p}") for p in problems_]
                for path in files:
                    missing = self._secret_file(pod, container, path, tls=aspect == TLS)
                    if missing is not None:
                        found.append(Finding((aspect,), missing[1], f"{pod.where} does not provide {what} from a "
                                                                    f"Secret: {missing[0]}"))
        return list(dict.fromkeys(found))

    def unserved_certificates(self, r) -> list[Finding]:
        """Workload `r`'s gateway listens with `ssl` but its pod does not provide the certificate
        and key nginx names (a mounted Secret, or one a cert-manager Certificate issues): nginx
        refuses to start without them, so the pod would crash-loop. Checked in every stack,
        whatever the markers say (issue 20 item 11)."""
        pod = pod_of(r)
        if pod is None:
            return []
        gw = gateway_of(pod)
        if gw is UNKNOWN or gw is None:
            return []
        container, conf_path = gw
        src = locate(pod, container, conf_path)
        if src is None or isinstance(src, str):
            return []
        texts, _ = self._conf_texts(pod, src)
        found = []
        for text, label, urn in texts:
            try:
                top = nginx.parse(text)
            except nginx.NginxSyntaxError:
                continue  # reported by production-auth-and-tls where it matters; nothing to follow here
            if not gateway.listens_with_ssl(top):
                continue
            problems, files = gateway.tls_problems(top)
            found += [Finding((TLS,), urn, f"{label} listens with ssl but {p}") for p in problems
                      if "ssl_certificate" in p]
            for path in files:
                missing = self._secret_file(pod, container, path, tls=True)
                if missing is not None:
                    found.append(Finding((TLS,), missing[1], f"{label} listens with ssl but {pod.where} does not "
                                                             f"provide {path}: {missing[0]}"))
        return list(dict.fromkeys(found))

    def _conf_texts(self, pod: Pod, src: Source) -> tuple[list[tuple[str, str, str]], list[tuple[str, str]]]:
        """([(nginx.conf text, label, urn)], [(problem, urn)]) for the gateway config."""
        if src.kind == "aci-secret":
            label = f"the gateway config of {pod.where} (secret volume {src.volume.get('name')!r}, {src.key})"
            files = src.volume.get("secret")
            if opaque(files) or not isinstance(files, dict):
                return [], []
            value = files.get(src.key)
            if value is None:
                return [], [(f"{pod.where}: its secret volume {src.volume.get('name')!r} has no {src.key}", pod.urn)]
            if opaque(value):
                return [], []
            text = _decoded(str(value))
            if text is None:
                return [], [(f"{label} is not base64, as ACI secret volumes must be", pod.urn)]
            return [(text, label, pod.urn)], []
        if src.kind not in ("configMap", "secret"):
            return [], [(f"{pod.where} reads its gateway config from the {src.kind} volume "
                         f"{src.volume.get('name')!r}, which the policy cannot read; mount it from a ConfigMap",
                         pod.urn)]
        type_ = CONFIG_MAP if src.kind == "configMap" else SECRET
        kind = "ConfigMap" if src.kind == "configMap" else "Secret"
        if opaque(src.ref):
            # Name not known before `pulumi up`: every config of that key in the namespace must hold.
            holders = [o for o in self.objects if o.type == type_ and same(o.namespace, pod.namespace)
                       and isinstance(o.props.get("data"), dict) and src.key in o.props["data"]]
        else:
            obj = self._find(type_, pod.namespace, src.ref)
            if obj is None:
                return [], [(f"{pod.where} mounts {kind} {src.ref!r} as its gateway config, which this stack does "
                             f"not declare, so what it enforces cannot be checked", pod.urn)]
            holders = [obj]
        texts, problems = [], []
        for obj in holders:
            label = f"the gateway config of {pod.where} ({kind} {obj.name}, {src.key})"
            plain_value = get(obj.props, "stringData" if type_ == SECRET else "data", src.key)
            encoded = get(obj.props, "data" if type_ == SECRET else "binaryData", src.key)
            if isinstance(plain_value, str) and not opaque(plain_value):
                texts.append((plain_value, label, obj.urn))
            elif isinstance(encoded, str) and not opaque(encoded):
                text = _decoded(encoded)
                if text is None:
                    problems.append((f"{label} is not base64", obj.urn))
                else:
                    texts.append((text, label, obj.urn))
            elif not any(opaque(v) for v in (plain_value, encoded, obj.props.get("data"),
                                              obj.props.get("stringData"))):
                problems.append((f"{kind} {obj.name} has no {src.key}, the gateway config {pod.where} runs", obj.urn))
        return texts, problems

    def _secret_file(self, pod: Pod, container: dict, path: str, *, tls: bool) -> tuple[str, str] | None:
        """(problem, urn) when `path` is not in a Secret this stack declares (for TLS: or that a
        cert-manager Certificate issues); None when it is, or cannot be told."""
        src = locate(pod, container, path)
        if src is None:
            return None
        if isinstance(src, str):
            return src, pod.urn
        if src.kind == "aci-secret":
            files = src.volume.get("secret")
            if opaque(files) or not isinstance(files, dict) or src.key in files:
                return None
            return f"its secret volume {src.volume.get('name')!r} has no {src.key} ({path})", pod.urn
        if src.kind != "secret":
            return f"{path} comes from the {src.kind} volume {src.volume.get('name')!r}, not a Secret", pod.urn
        if opaque(src.ref):
            return None
        secret = self._find(SECRET, pod.namespace, src.ref)
        if secret is not None:
            keys = _secret_keys(secret)
            if keys is not None and src.key not in keys:
                return f"Secret {secret.name} has no {src.key} (mounted as {path})", secret.urn
            return None
        if tls:
            for o in self.objects:
                if (_is_certificate(o.type) and same(o.namespace, pod.namespace)
                        and get(o.props, "spec", "secretName") == src.ref):
                    if src.key in CERTIFICATE_KEYS:
                        return None
                    return f"cert-manager writes no {src.key} into Secret {src.ref!r} (mounted as {path})", o.urn
        issued = " and no cert-manager Certificate issues" if tls else ""
        return f"it mounts Secret {src.ref!r} for {path}, which this stack does not declare{issued}", pod.urn

    def _bypasses(self, pod: Pod, gateway_container: dict, aspects: tuple[str, ...]) -> list[Finding]:
        """Ports that reach a container other than the gateway from outside the pod/group."""
        by_number: dict[int, str] = {}
        by_name: dict[str, str] = {}
        for c in pod.containers:
            if c is gateway_container:
                continue
            for p in c.get("ports") or []:
                if isinstance(p, dict):
                    port = number(p.get("containerPort", p.get("port")))
                    if port is not None:
                        by_number[port] = c.get("name", "?")
                    if isinstance(p.get("name"), str):
                        by_name[p["name"]] = c.get("name", "?")
        found = []
        if pod.aci:
            for p in pod.public_ports:
                port = number(p.get("port")) if isinstance(p, dict) else None
                if port in by_number:
                    found.append(Finding(aspects, pod.urn, f"{pod.where} exposes port {port} of its container "
                                                           f"{by_number[port]} on its IP address, around the gateway"))
            return found
        for svc in self.objects:
            spec = svc.props.get("spec") if svc.type == SERVICE else None
            if not isinstance(spec, dict) or spec.get("type") not in EXTERNAL_SERVICE_TYPES:
                continue
            selector = spec.get("selector")
            if (not isinstance(selector, dict) or not selector or not same(svc.namespace, pod.namespace)
                    or any(pod.labels.get(k) != v for k, v in selector.items())):
                continue
            for port in spec.get("ports") or []:
                if not isinstance(port, dict):
                    continue
                target = port.get("targetPort", port.get("port"))
                reached = by_name.get(target) if isinstance(target, str) and not target.isdigit() \
                    else by_number.get(number(target))
                if reached is not None:
                    found.append(Finding(aspects, svc.urn, f"Service {svc.name} ({spec['type']}) sends port "
                                                           f"{number(port.get('port'))} straight to container "
                                                           f"{reached} of {pod.where}, around the gateway"))
        return found

    @staticmethod
    def _plain_probes(pod: Pod, container: dict) -> list[Finding]:
        plain_http = [name for name in ("startupProbe", "readinessProbe", "livenessProbe")
                      if isinstance(get(container, name, "httpGet"), dict)
                      and str(get(container, name, "httpGet", "scheme") or "HTTP").upper() == "HTTP"]
        if not plain_http:
            return []
        return [Finding((TLS,), pod.urn, f"{pod.where}: the gateway's {', '.join(plain_http)} use plain HTTP, so "
                                         "it does not listen with TLS (or fails those probes)")]
