"""The one way in: a stack's config parsed into settings (mldeploy/config: shape, names,
references), then checked against the plan layer's rules, all before anything is declared.
`mldeploy synth`, the other CLI commands and the Pulumi program load through here, so a stack
either loads whole or stops with one ConfigError naming the file and the key. Only what needs
an Azure look-up (an existing workspace, an attached cluster) is checked later, at deploy."""
from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any, Iterable

from mldeploy.config import load as config_load
from mldeploy.config.errors import ConfigError
from mldeploy.config.service import ServiceSettings
from mldeploy.config.stack import StackSettings
from mldeploy import PROJECT
from mldeploy.plan import batch as batch_plan
from mldeploy.plan.aks import check_service
from mldeploy.plan.batching import check_batching
from mldeploy.plan.cluster_check import check_cluster, check_fits_node
from mldeploy.plan.endpoint import check_stack_endpoints, endpoint_name, is_endpoint, kubernetes_compute_name
from mldeploy.plan.fpga_regions import check_service_region
from mldeploy.plan.memory import check_body_limit
from mldeploy.plan.v1_script import check_entry_scripts
from mldeploy.plan.models import check_model_versions, resolve_model


def check_stack(settings: StackSettings, today: date | None = None) -> None:
    """Raise a ConfigError (key named, no file) for the first plan rule the stack breaks."""
    today = today or date.today()
    for name, cluster in settings.clusters.items():
        check_cluster(name, cluster, today)  # Kubernetes version, vCPUs
    for name, service in settings.services.items():
        if isinstance(service, ServiceSettings):  # a scorer behind mldeploy's gateway
            check_body_limit(name, service)
        if service.target == "fpga":
            check_service_region(name, service, settings.location)
        if service.target in ("aks", "fpga"):
            check_service(name, service, settings.production)  # TLS that can be issued, replicas
        check_fits_node(name, service, settings.clusters)  # a pod larger than a node never runs
    check_stack_endpoints(settings)
    check_workspace_names(settings)


def check_workspace_names(settings: StackSettings) -> None:
    """Names the program derives must stay distinct where Azure wants them unique: endpoints
    (online and batch share `<name>.<region>.inference.ml.azure.com`, unique per region) and the
    workspace's computes (batch clusters, attached Kubernetes computes). Explicit names and derived
    ones (truncated, hashed) are compared alike."""
    p = f"{PROJECT}:"
    rg = settings.resource_group_name
    endpoints: dict[str, str] = {}
    computes: dict[str, str] = {}

    def claim(seen: dict[str, str], value: str, key: str, what: str) -> None:
        other = seen.setdefault(value.lower(), key)
        if other != key:
            raise ConfigError(key, f"{what} {value!r} is also {other.removeprefix(p)}'s; {what}s are unique "
                                   f"{'per region' if seen is endpoints else 'per workspace'}: rename one")

    for name, service in sorted(settings.services.items()):
        if is_endpoint(service):
            key = f"{p}services.{name}" + (".endpointName" if service.endpoint_name else "")
            claim(endpoints, service.endpoint_name or endpoint_name(settings.stack, rg, name), key, "endpoint name")
    for name in sorted(settings.batch):
        claim(endpoints, batch_plan.endpoint_name(settings.stack, rg, name), f"{p}batch.{name}", "endpoint name")
        claim(computes, batch_plan.compute_name(name), f"{p}batch.{name}", "compute name")
    for cluster in sorted({s.cluster for s in settings.services.values() if s.target == "kubernetes-endpoint"}):
        claim(computes, kubernetes_compute_name(cluster), f"{p}clusters.{cluster}", "compute name")


def parse_settings(stack: str, config: dict[str, Any], secret_keys: Iterable[str], project_root: Path,
                   source: str) -> StackSettings:
    """A stack's config map (`namespace:key` -> value) into settings every rule holds for."""
    settings = config_load.parse_settings(stack, config, secret_keys, project_root, source)
    try:
        check_stack(settings)
        check_entry_scripts(settings, project_root)
        check_batching(settings, project_root)
        check_model_versions({n: resolve_model(n, m, project_root) for n, m in settings.models.items()})
    except ConfigError as err:
        raise err.with_source(source) from None
    return settings


def load_stack(project_root: Path, stack: str) -> StackSettings:
    """`stacks/Pulumi.<stack>.yaml` into settings every rule holds for."""
    values, secret_keys = config_load.read_stack(project_root, stack)
    return parse_settings(stack, values, secret_keys, project_root, config_load.stack_source(project_root, stack))
