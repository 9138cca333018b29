"""The contract every layer shares: ports, paths, file names, pinned images, name patterns and
the mask; and the one wire format that config (to size it) and render (to write it) both need,
an IoT Edge module's createOptions. This module imports nothing from mldeploy, so anything may
import it.
"""
from __future__ import annotations

import json
import re
from typing import Any

# -- the scoring path ---------------------------------------------------------------------------
SCORE_PATH = "/score"
SWAGGER_PATH = "/swagger.json"
LIVENESS_PATH = "/healthz"  # the gateway's own liveness: 200 while nginx runs
READINESS_PATH = "/readyz"  # the scorer's `GET /` through the gateway: 200 once init() finished
SCORER_PORT = 5001  # azmlinfsrv's default port, inside every image and pod
DEFAULT_SCORING_SERVER = "mldeploy"  # an image's `scoringServer` when the stack does not say
GATEWAY_PORT = 8890  # the gateway's port in a pod and the local target's default

# -- the project's files -------------------------------------------------------------------------
STACKS_DIR = "stacks"  # Pulumi.yaml's stackConfigDir: where every stack's file lives


def stack_file_path(stack: str) -> str:
    """`stacks/Pulumi.<stack>.yaml`: a stack's file, relative to the project's root."""
    return f"{STACKS_DIR}/Pulumi.{stack}.yaml"


# -- files the gateway reads -------------------------------------------------------------------
KEYS_MAP_NAME = "keys.map"
TLS_CERT_NAME = "tls.crt"
TLS_KEY_NAME = "tls.key"
CONTAINER_RUN_DIR = "/tmp/nginx"
CONTAINER_CONFIG_DIR = "/etc/mldeploy/gateway"
CONTAINER_TLS_DIR = "/etc/mldeploy/tls"
POD_KEYS_DIR = "/etc/mldeploy/keys"  # AKS: the keys Secret, mounted apart from the gateway's ConfigMap
POD_TRAFFIC_DIR = "/etc/mldeploy/traffic"  # AKS canary: the service's traffic ConfigMap (weights), reloaded live

# -- pinned images -------------------------------------------------------------------------------
# The one gateway image of every target (local Docker, ACI, AKS), pinned by version and digest:
# Docker Hub rebuilds a tag such as 1.27.4-alpine in place (base-image updates), a digest never
# moves. ACI and AKS pull it mirrored into the workspace registry (mldeploy/targets/mirrors.py).
# The official image, not nginx-unprivileged: ACI has no port mapping (a container listens on
# the group's public port, 80/443), and binding below 1024 needs root at bind time; on AKS the
# same image runs as a non-root user on port 8890 (the pod's runAsUser).
GATEWAY_IMAGE = "nginx:1.27.4-alpine@sha256:4ff102c5d78d254a6f0da062b3cf39eaf07f01eec0927fd21e219d0af8bc0591"
# The Azure ML base image a conda environment is built on where Azure ML builds it: batch jobs and
# v2 online endpoints (managed, kubernetes-endpoint) alike, unless the stack names its own
# (batch.<name>.baseImage, images.<name>.baseImage). A dated tag, not `latest`: the same commit
# builds the same environment a month later. Where the tag comes from and when it was checked:
# mldeploy/plan/versions.py DEFAULT_IMAGES, the dated table (a test keeps the two equal).
AZUREML_BASE_IMAGE = "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:20260715.v1"
# Azure ML's own base images (mcr.microsoft.com/azureml/...) bring conda, which Azure ML's
# environment build runs (`conda env create`): a stack may name another of them, e.g. a newer dated tag.
AZUREML_IMAGE_REPOSITORY = "mcr.microsoft.com/azureml/"

# -- name patterns -------------------------------------------------------------------------------
# Keys go into an nginx config file: a safe alphabet keeps quoting trivial and matches what
# `RandomPassword(special=False)` and base64/url-safe tokens produce.
KEY_RE = re.compile(r"^[A-Za-z0-9._~+/=-]{16,256}$")
ORIGIN_RE = re.compile(r"^(\*|https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?)$")
HOST_RE = re.compile(r"^[A-Za-z0-9.-]+$")
UNIX_SOCKET_RE = re.compile(r"^/[^\s;{}'\"]+$")
# sun_path holds 108 bytes on Linux (104 on macOS): a longer socket path cannot be bound.
UNIX_SOCKET_PATH_MAX = 100

# -- Azure ---------------------------------------------------------------------------------------
# Built-in role "AcrPull" (learn.microsoft.com/azure/role-based-access-control/built-in-roles/containers#acrpull).
ACR_PULL_ROLE_ID = "7f951dda-4ed3-4680-a7ca-43fe172d538d"


def workspace_blob_container(workspace_id: str) -> str:
    """The blob container of a workspace's default datastore (`workspaceblobstore`)."""
    return f"azureml-blobstore-{workspace_id}"


# -- secrets in anything written for review --------------------------------------------------------
MASK = "[secret]"

# -- version defaults ------------------------------------------------------------------------------
# Defaults of the config keys `minKubernetesVersion` and `runtimeVersion` (IoT Edge). Choices, not
# dates: mldeploy/plan/versions.py is the dated table they must stay inside (a test checks them
# against its AS_OF); they live here so that config, which the plan reads, reads no plan module.
DEFAULT_MIN_KUBERNETES = "1.35"
DEFAULT_IOT_EDGE_RUNTIME = "1.6"

# -- scaling ---------------------------------------------------------------------------------------
# The guide's default autoscale target (`autoscale_target_utilization`), for AKS services, v2
# Kubernetes deployments and the replica calculator alike.
DEFAULT_TARGET_UTILIZATION = 70


# -- IoT Edge: a module's name, environment and Docker createOptions --------------------------------
MODULE_NAME_RE = re.compile(r"^[a-zA-Z0-9_-]+$")
# The edge agent splits a twin string value at 512 characters (TwinValueMaxSize); Microsoft's
# tooling writes at most 8 chunks (createOptions .. createOptions07), i.e. 4,096 characters.
CREATE_OPTIONS_CHUNK = 512
CREATE_OPTIONS_MAX_CHUNKS = 8
CREATE_OPTIONS_MAX = CREATE_OPTIONS_CHUNK * CREATE_OPTIONS_MAX_CHUNKS
# edgeHub's own host ports, as every reference deployment manifest binds them (HTTPS, AMQP, MQTT):
# no module may bind them again on the device.
EDGE_HUB_HOST_PORTS = (443, 5671, 8883)
# Devices have small disks: keep the module's container logs bounded.
LOG_CONFIG = {"Type": "json-file", "Config": {"max-size": "10m", "max-file": "3"}}


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        out[key] = _merge(out[key], value) if isinstance(out.get(key), dict) and isinstance(value, dict) else value
    return out


def module_create_options(port: int, host_port: int, env: dict[str, str],
                          extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Docker create options: the port binding, the environment, bounded logs, then the user's
    own `createOptions` merged on top (theirs win)."""
    base: dict[str, Any] = {
        "ExposedPorts": {f"{port}/tcp": {}},
        "HostConfig": {"PortBindings": {f"{port}/tcp": [{"HostPort": str(host_port)}]}, "LogConfig": LOG_CONFIG},
    }
    if env:
        base["Env"] = [f"{k}={v}" for k, v in sorted(env.items())]
    return _merge(base, extra or {})


def serialize_create_options(options: dict[str, Any]) -> str:
    return json.dumps(options, separators=(",", ":"), sort_keys=True)


def chunk_create_options(options: dict[str, Any]) -> dict[str, str]:
    """`createOptions`, `createOptions01`, ... each at most 512 characters.

    Raises ValueError when the options need more than 8 chunks (4,096 characters)."""
    text = serialize_create_options(options)
    if len(text) > CREATE_OPTIONS_MAX:
        raise ValueError(
            f"createOptions is {len(text)} characters as JSON; IoT Edge takes at most {CREATE_OPTIONS_MAX} "
            f"({CREATE_OPTIONS_MAX_CHUNKS} chunks of {CREATE_OPTIONS_CHUNK}: createOptions, createOptions01.."
            f"createOptions{CREATE_OPTIONS_MAX_CHUNKS - 1:02d}); move large settings to env or the image"
        )
    pieces = [text[i:i + CREATE_OPTIONS_CHUNK] for i in range(0, len(text), CREATE_OPTIONS_CHUNK)] or ["{}"]
    return {("createOptions" if i == 0 else f"createOptions{i:02d}"): piece for i, piece in enumerate(pieces)}


CREATE_OPTIONS_CHUNK_KEY = re.compile(r"^createOptions(0[1-9]|[1-9][0-9])?$")


def join_create_options(settings: dict[str, Any]) -> str | None:
    """The createOptions JSON text of a module's `settings`, its chunks joined in order (the inverse
    of chunk_create_options); None when `settings` has no createOptions string."""
    chunks = {k: v for k, v in settings.items() if CREATE_OPTIONS_CHUNK_KEY.match(k)}
    if not isinstance(chunks.get("createOptions"), str) or not all(isinstance(v, str) for v in chunks.values()):
        return None
    return "".join(chunks[k] for k in sorted(chunks, key=lambda k: int(k.removeprefix("createOptions") or 0)))


# -- ACI -------------------------------------------------------------------------------------------
# The gateway's share of an ACI container group; the scorer gets the rest (config checks there is
# room for it, the plan splits the group).
ACI_GATEWAY_CPU = 0.1
ACI_GATEWAY_MEMORY_GB = 0.1
