"""What every target's deployer is handed: the Foundation (what the shared part of the program
declared) and the RunContext it carries (state of one program run, created per run)."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import pulumi

from mldeploy.azure.acr_login import exchange_for_refresh_token
from mldeploy.config import StackSettings
from mldeploy.plan.models import ResolvedModel
from mldeploy.plan.tags import resource_tags
from mldeploy.render.build_context import BuildContext

if TYPE_CHECKING:
    from mldeploy.components.aks_cluster import AksCluster
    from mldeploy.components.image import ScoringImage
    from mldeploy.components.kubernetes_compute import KubernetesCompute
    from mldeploy.components.mirrored_image import MirroredImage
    from mldeploy.components.registry import ModelRegistry

BUILD_DIR_ENV = "MLDEPLOY_BUILD_DIR"


@dataclass
class RunContext:
    """State of one program run, shared by every deployer: what is declared once per stack
    however many services use it, and the hooks a run may replace (synth: no network)."""

    # (login server, tenant id, Entra ID access token) -> ACR refresh token: see azure/acr_login.py.
    acr_exchange: Callable[[str, str, str], str] = exchange_for_refresh_token
    clusters: dict[str, AksCluster] = field(default_factory=dict)
    computes: dict[str, KubernetesCompute] = field(default_factory=dict)  # cluster -> its Azure ML compute
    mirrors: dict[str, MirroredImage] = field(default_factory=dict)  # source image -> its registry copy
    gateway_confs: dict[str, str] = field(default_factory=dict)  # service -> the nginx.conf it declared


@dataclass
class ServiceOutputs:
    """What every scoring service exports: URIs in clear, keys as secrets."""

    scoring_uri: pulumi.Input[str]
    swagger_uri: pulumi.Input[str]
    primary_key: pulumi.Input[str] | None = None
    secondary_key: pulumi.Input[str] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    gateway_conf: str | None = None  # the nginx.conf declared for a gateway container (synth writes it)


def given_keys(service: Any) -> tuple[pulumi.Output[str], pulumi.Output[str]] | None:
    """The service's keys from secure config, as secret Outputs; None: generate them (or auth off)."""
    if service.keys is None:
        return None
    return pulumi.Output.secret(service.keys.primary.reveal()), pulumi.Output.secret(service.keys.secondary.reveal())


def given_tls(service: Any) -> tuple[pulumi.Output[str], pulumi.Output[str]] | None:
    """The service's PEM certificate and key from secure config, as secret Outputs; None: no TLS files."""
    if service.tls is None:
        return None
    return pulumi.Output.secret(service.tls.certificate.reveal()), pulumi.Output.secret(service.tls.key.reveal())


@dataclass
class Foundation:
    """What the shared part of the program declared, handed to each target's deployer."""

    settings: StackSettings
    project_root: Path
    resource_group_name: pulumi.Output[str] | None  # None: a local-only stack, nothing in Azure
    registry: ModelRegistry | None
    models: dict[str, ResolvedModel]
    contexts: dict[str, BuildContext]
    images: dict[str, ScoringImage]
    run: RunContext  # one per program run; every service's copy of the Foundation shares it
    # Set while a service deploys: its name, model(s) and auth/TLS markers for the policy pack.
    service_tags: dict[str, str] = field(default_factory=dict)

    def tags(self, **extra: str) -> dict[str, str]:
        return resource_tags(self.settings.stack, {**self.settings.tags, **self.service_tags},
                             production=self.settings.production, **extra)


def build_dir(settings: StackSettings, project_root: Path) -> Path:
    return Path(os.environ.get(BUILD_DIR_ENV) or project_root / ".mldeploy" / "build" / settings.stack / "images")
