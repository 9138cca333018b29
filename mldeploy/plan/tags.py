"""The one tag helper: every Azure resource says which stack, environment, model and version."""
from __future__ import annotations

from typing import Mapping

MANAGED_BY = "mldeploy"
# Markers the policy pack reads (policies/), since policies see resources, not stack config.
PRODUCTION_TAG = "mldeploy-production"
SERVICE_TAG = "mldeploy-service"
AUTH_TAG = "mldeploy-auth"
TLS_TAG = "mldeploy-tls"
# What a resource serves: the registered model's name and its version.
MODEL_TAG = "model"
MODEL_VERSION_TAG = "model-version"
# On a resource that splits traffic between deployments of different models (an online
# endpoint and its identity): it names no model; each deployment names its own.
SPLIT_TAG = "mldeploy-split"
SPLIT_BETWEEN_DEPLOYMENTS = "deployments"
# On a container registry whose admin user is on: the documented need (e.g. "iot-edge").
ADMIN_USER_NEED_TAG = "mldeploy-admin-user-need"


def resource_tags(
    stack: str,
    extra: Mapping[str, str] | None = None,
    *,
    model: str | None = None,
    version: str | None = None,
    production: bool = False,
) -> dict[str, str]:
    """Stack tags first, then the user's `mldeploy:tags`, then model/version where known."""
    tags = {"environment": stack, "managed-by": MANAGED_BY, "mldeploy-stack": stack}
    tags.update(extra or {})
    if production:
        tags[PRODUCTION_TAG] = "true"
    if model is not None:
        tags[MODEL_TAG] = model
    if version is not None:
        tags[MODEL_VERSION_TAG] = str(version)
    return dict(sorted(tags.items()))


def service_markers(service: str, *, auth_enabled: bool, tls_enabled: bool) -> dict[str, str]:
    """What a scoring service's resources declare about it, for the policy pack."""
    return {
        SERVICE_TAG: service,
        AUTH_TAG: "enabled" if auth_enabled else "disabled",
        TLS_TAG: "enabled" if tls_enabled else "disabled",
    }
