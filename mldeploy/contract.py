"""The contract every layer shares: ports, paths, file names, pinned images, name patterns and
the mask. Constants only; this module imports nothing from mldeploy, so anything may import it.
"""
from __future__ import annotations

import re

# -- the scoring path ---------------------------------------------------------------------------
SCORE_PATH = "/score"
SWAGGER_PATH = "/swagger.json"
LIVENESS_PATH = "/healthz"  # the gateway's own liveness: 200 while nginx runs
READINESS_PATH = "/readyz"  # the scorer's `GET /` through the gateway: 200 once init() finished
SCORER_PORT = 5001  # azmlinfsrv's default port, inside every image and pod
GATEWAY_PORT = 8890  # the gateway's port in a pod and the local target's default

# -- files the gateway reads -------------------------------------------------------------------
KEYS_MAP_NAME = "keys.map"
TLS_CERT_NAME = "tls.crt"
TLS_KEY_NAME = "tls.key"
CONTAINER_RUN_DIR = "/tmp/nginx"
CONTAINER_CONFIG_DIR = "/etc/mldeploy/gateway"
CONTAINER_TLS_DIR = "/etc/mldeploy/tls"

# -- pinned images -------------------------------------------------------------------------------
# The one gateway image of every target (local Docker, ACI, AKS), pinned by version and digest:
# Docker Hub rebuilds a tag such as 1.27.4-alpine in place (base-image updates), a digest never
# moves. ACI and AKS pull it mirrored into the workspace registry (mldeploy/program/mirrors.py).
# The official image, not nginx-unprivileged: ACI has no port mapping (a container listens on
# the group's public port, 80/443), and binding below 1024 needs root at bind time; on AKS the
# same image runs as a non-root user on port 8890 (the pod's runAsUser).
GATEWAY_IMAGE = "nginx:1.27.4-alpine@sha256:4ff102c5d78d254a6f0da062b3cf39eaf07f01eec0927fd21e219d0af8bc0591"

# -- name patterns -------------------------------------------------------------------------------
# Keys go into an nginx config file: a safe alphabet keeps quoting trivial and matches what
# `RandomPassword(special=False)` and base64/url-safe tokens produce.
KEY_RE = re.compile(r"^[A-Za-z0-9._~+/=-]{16,256}$")
ORIGIN_RE = re.compile(r"^(\*|https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?)$")
HOST_RE = re.compile(r"^[A-Za-z0-9.-]+$")
UNIX_SOCKET_RE = re.compile(r"^/[^\s;{}'\"]+$")

# -- Azure ---------------------------------------------------------------------------------------
# Built-in role "AcrPull" (learn.microsoft.com/azure/role-based-access-control/built-in-roles/containers#acrpull).
ACR_PULL_ROLE_ID = "7f951dda-4ed3-4680-a7ca-43fe172d538d"


def workspace_blob_container(workspace_id: str) -> str:
    """The blob container of a workspace's default datastore (`workspaceblobstore`)."""
    return f"azureml-blobstore-{workspace_id}"


# -- secrets in anything written for review --------------------------------------------------------
MASK = "[secret]"

# -- scaling ---------------------------------------------------------------------------------------
# The guide's default autoscale target (`autoscale_target_utilization`), for AKS services, v2
# Kubernetes deployments and the replica calculator alike.
DEFAULT_TARGET_UTILIZATION = 70
