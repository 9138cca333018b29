"""The plan layer's rules over a whole stack, each target's own checks among them (handed in from
the target table by the one load entry, mldeploy/targets/stack.py, which runs them all): a stack
either passes them all or stops with one ConfigError naming the key. Only what needs an Azure
look-up (an existing workspace, an attached cluster) is checked later, at deploy."""
from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from mldeploy.config.base import reserved_name_problem
from mldeploy.config.errors import ConfigError
from mldeploy.config.load import LOCATION_KEY
from mldeploy.config.requirements import read_requirements
from mldeploy.config.service import ServiceSettings
from mldeploy.config.stack import StackSettings
from mldeploy import PROJECT
from mldeploy.contract import AZUREML_BASE_IMAGE, AZUREML_IMAGE_REPOSITORY
from mldeploy.plan.assets import endpoint_asset_name, is_azureml_image
from mldeploy.plan.base_images import moving_base_image_notes
from mldeploy.plan.conda import ENDPOINT_PYTHON
from mldeploy.plan.cluster import cluster_name
from mldeploy.plan.cluster_check import check_cluster, check_fits_node
from mldeploy.plan.endpoint import kubernetes_compute_name
from mldeploy.plan.kubernetes_compute import kubernetes_endpoint_clusters
from mldeploy.plan.batching import service_load
from mldeploy.plan.memory import check_body_limit
from mldeploy.plan.mirrors import check_mirrors
from mldeploy.plan.versions import region_problem
from mldeploy.scoring.environment import installed_names

# (service name, its settings, the stack) -> None, or a ConfigError naming the key.
TargetCheck = Callable[[str, Any, StackSettings], None]
# (the stack) -> None, or a ConfigError naming the key.
StackCheck = Callable[[StackSettings], None]


def stack_rules(settings: StackSettings, target_checks: Mapping[str, TargetCheck],
                stack_checks: Iterable[StackCheck] = (), today: date | None = None) -> list[Callable[[], None]]:
    """Every plan rule over the stack as a call of its own (each raises a ConfigError naming the
    key, or returns), in the order they run. `target_checks`: target name -> its load-time checks
    (the target table's `check`); `stack_checks`: the targets' stack-wide ones (`check_stack`),
    after every entry's."""
    today = today or date.today()
    rules: list[Callable[[], None]] = [lambda: _check_location(settings), lambda: check_cloud(settings)]
    for name, cluster in settings.clusters.items():
        rules.append(lambda name=name, cluster=cluster: check_cluster(name, cluster, today))  # version, vCPUs
    for name, service in settings.services.items():
        if isinstance(service, ServiceSettings):  # a scorer behind mldeploy's gateway
            rules.append(lambda name=name, service=service: check_body_limit(name, service, service_load(
                settings.images, service)))
        rules.append(lambda name=name, service=service: target_checks[service.target](name, service, settings))
        # One source per mirror/<name>:<tag> in the workspace registry, whichever targets copy it.
        rules.append(lambda name=name, service=service: check_mirrors(name, service, settings))
        # A pod larger than a node never runs.
        rules.append(lambda name=name, service=service: check_fits_node(name, service, settings.clusters))
    rules += [lambda check=check: check(settings) for check in stack_checks]
    rules += [lambda: check_workspace_names(settings), lambda: check_mode_keys(settings),
              lambda: check_existing_workspace_group(settings),
              lambda: check_azure_built_image_keys(settings)]
    return rules


def _check_location(settings: StackSettings) -> None:
    if settings.location is not None:
        problem = region_problem(settings.location, settings.cloud, tuple(settings.extra_regions))
        if problem is not None:
            raise ConfigError(LOCATION_KEY, problem)


def check_cloud(settings: StackSettings) -> None:
    """What mldeploy cannot deploy outside the public cloud yet: the Azure ML v2 code assets (online
    endpoints' and batch deployments' code versions) point at their blobs with the public storage
    suffix (components/assets.py, `blob.core.windows.net`), which no sovereign cloud serves."""
    if settings.cloud == "public":
        return
    p = f"{PROJECT}:"
    why = (f"is not supported on the {settings.cloud} cloud (azure-native:environment) yet: mldeploy writes its "
           "code asset's URI with the public cloud's storage suffix; v1 targets (aci, aks, fpga), edge and "
           "local deploy there")
    for name, service in sorted(settings.services.items()):
        if service.images_built_in_azure():
            raise ConfigError(f"{p}services.{name}.target", f"{service.target} {why}")
    for section, entries in settings.sections.items():  # a section entry with an Azure ML endpoint has code assets
        for name, entry in sorted(entries.items()):
            if entry.endpoint_name_claim(name, settings.stack, settings.resource_group_name) is not None:
                raise ConfigError(f"{p}{section}.{name}", f"{section} {why}")


def check_azure_built_environments(settings: StackSettings, project_root: Path) -> None:
    """An image that Azure ML builds (a v2 endpoint's environment) gets one conda file: its
    requirements file's `-r` includes are inlined there, but a `-c` constraints file has no place in it."""
    for name, service in sorted(settings.services.items()):
        for image in sorted(service.images_built_in_azure()):
            value = settings.images[image].requirements_file
            if value is not None and read_requirements(value, project_root).constraints:
                raise ConfigError(f"{PROJECT}:images.{image}.requirementsFile",
                                  f"{value} includes a constraints file (`-c`), but services.{name} ({service.target}) "
                                  "has Azure ML build this image's environment from one conda file, where pip finds no "
                                  "other file: pin those versions in the requirements instead")


# Azure ML runs a v2 online deployment's score.py with azmlinfsrv from the environment it builds (the conda
# file on its base image, which has no server): without the package the container stops at start with
# "A required package azureml-inference-server-http is missing." (Azure ML's deployment log, reported in
# Azure/azureml-examples issue 2760). azureml-defaults depends on it.
INFERENCE_SERVER_PACKAGES = ("azureml-inference-server-http", "azureml-defaults")


def check_azure_built_servers(settings: StackSettings, project_root: Path) -> None:
    """An image whose environment Azure ML builds for a v2 endpoint installs the inference server itself
    (mldeploy adds it only to the images it builds: scoring/environment.py scorer_pins)."""
    for name, service in sorted(settings.services.items()):
        for image_name in sorted(service.images_built_in_azure()):
            image = settings.images[image_name]
            if image.conda_file is not None:
                key, value = "condaFile", image.conda_file
                names = installed_names("conda", (project_root / value).read_text(encoding="utf-8"))
            else:
                key, value = "requirementsFile", image.requirements_file
                names = installed_names("pip", "\n".join(read_requirements(value, project_root).requirements))
            if not names & set(INFERENCE_SERVER_PACKAGES):
                raise ConfigError(f"{PROJECT}:images.{image_name}.{key}",
                                  f"{value} does not install azureml-inference-server-http, which serves score.py on "
                                  f"services.{name} ({service.target}): Azure ML builds this environment as it is and "
                                  "the deployment would stop with \"A required package azureml-inference-server-http "
                                  "is missing\"; add it")


def check_azure_built_image_keys(settings: StackSettings) -> None:
    """An image only v2 endpoints use is never built by mldeploy: Azure ML builds its environment from the
    conda file on an Azure ML base image with Python ENDPOINT_PYTHON (plan/assets.endpoint_base_image,
    plan/conda.py), so a baseImage that is no Azure ML image, or a pythonVersion of its own, would apply to
    the local rehearsal only and be dropped in Azure, silently. An Azure ML image (a dated tag of the
    team's choosing) is what Azure ML builds on."""
    p = f"{PROJECT}:"
    built_here = {i for s in settings.services.values() for i in s.images_built()}
    built_here |= {i for entries in settings.sections.values() for e in entries.values() for i in e.images_built()}
    users: dict[str, list[str]] = {}
    for name, service in sorted(settings.services.items()):
        for image in service.images_built_in_azure():
            users.setdefault(image, []).append(f"services.{name} ({service.target})")
    for image_name in sorted(built_here):
        image = settings.images[image_name]
        if image.base_image and is_azureml_image(image.base_image) and image.conda_file is not None:
            # render/build_context.py installs a condaFile with micromamba; Azure ML's images bring conda only.
            raise ConfigError(f"{p}images.{image_name}.baseImage", f"{image.base_image} is an Azure ML base image, "
                              "for environments Azure ML builds (managed, kubernetes-endpoint, batch); mldeploy "
                              "builds this image itself and installs its condaFile with micromamba, which that "
                              "image lacks: omit baseImage (mldeploy's pinned micromamba) or name a micromamba image")
    for image_name in sorted(set(users) - built_here):
        image = settings.images[image_name]
        why = (f"image {image_name!r} is used only by {', '.join(users[image_name])}, whose environment Azure ML builds "
               f"from the conda file on Azure ML's base image ({AZUREML_BASE_IMAGE}) with Python {ENDPOINT_PYTHON}")
        if image.base_image is not None and not is_azureml_image(image.base_image):
            raise ConfigError(f"{p}images.{image_name}.baseImage", f"{image.base_image} is no Azure ML base image: {why}, "
                              f"so it would be dropped there (the local rehearsal alone would use it): remove it, or "
                              f"name an Azure ML image ({AZUREML_IMAGE_REPOSITORY}..., e.g. another dated tag)")
        if "python_version" in image.model_fields_set and image.python_version != ENDPOINT_PYTHON:
            raise ConfigError(f"{p}images.{image_name}.pythonVersion", f"{image.python_version} would be dropped: {why}; "
                              f"remove it (or set {ENDPOINT_PYTHON})")


# Stack keys about what the stack creates in Azure: a stack whose services are all `local` creates
# nothing there (StackSettings.needs_azure), so each would be silently ignored.
AZURE_ONLY_KEYS = ("resource_group", "workspace", "deployer_principal_type", "role_propagation_timeout_seconds",
                   "endpoint_quota", "extra_regions")


def check_mode_keys(settings: StackSettings) -> None:
    """Keys that apply only in another mode of the stack, and clusters claimed twice."""
    p = f"{PROJECT}:"
    if not settings.needs_azure:
        for field in AZURE_ONLY_KEYS:
            if field in settings.model_fields_set:
                key = StackSettings.model_fields[field].alias or field
                raise ConfigError(f"{p}{key}", "applies only to a stack that deploys to Azure; every service of this "
                                  "stack is local (it runs on this machine and creates nothing in Azure): remove it")
    created = {(settings.resource_group_name.lower(), cluster_name(settings.stack, n).lower()): n
               for n, c in settings.clusters.items() if c.attach is None}
    if settings.deployer_principal_type is not None and not created:
        raise ConfigError(f"{p}deployerPrincipalType", "applies only to a stack that creates an AKS cluster (the "
                          "deployer gets a role on it); every cluster of this stack is attached, or there is none: remove it")
    for name, cluster in sorted(settings.clusters.items()):
        if cluster.attach is None:
            continue
        other = created.get((cluster.attach.resource_group.lower(), cluster.attach.name.lower()))
        if other is not None:
            raise ConfigError(f"{p}clusters.{name}.attach", f"cluster {cluster.attach.name!r} in "
                              f"{cluster.attach.resource_group!r} is the one clusters.{other} creates in this stack; "
                              f"an attached cluster is looked up before anything is created: use clusters.{other}")


def check_existing_workspace_group(settings: StackSettings) -> None:
    """An existing workspace (create: false) cannot sit in the resource group the stack creates
    (mldeploy:resourceGroup, the program's first resource): azure-native reads a resource before it
    creates it and refuses one that exists - "cannot create already existing resource"
    (pulumi-azure-native provider/pkg/provider/crud: CanCreate; a resource group answers its HEAD with
    204) - so `pulumi up` would stop there, after `preview` passed. The workspace's group must be
    named (its default is the stack's own group) and differ from the stack's."""
    ws = settings.workspace
    if ws.create or not settings.needs_azure:
        return
    group = ws.resource_group or settings.resource_group_name
    if group.lower() != settings.resource_group_name.lower():
        return
    told = "" if ws.resource_group is not None else " (workspace.resourceGroup omitted: the stack's own)"
    raise ConfigError(f"{PROJECT}:workspace.resourceGroup",
                      f"the existing workspace {ws.name!r} (create: false) is looked up in resource group {group!r}"
                      f"{told}, which this stack creates (mldeploy:resourceGroup"
                      f"{'' if settings.resource_group else ', by default'}): a group "
                      "that already holds the workspace cannot be created (azure-native: \"cannot create already "
                      "existing resource\"), so `pulumi up` would stop at its first resource; set "
                      "workspace.resourceGroup to the workspace's group and mldeploy:resourceGroup to a new one for "
                      "what the stack creates outside the workspace")


def existing_workspace_notes(settings: StackSettings) -> list[str]:
    """What a stack deploying into an existing workspace (workspace.create: false) cannot know offline. The
    stack registers model versions there, not containers (components/registry.py: as azure-ai-ml does, so a
    model SDK v1's Model.register left under the same name simply gets one more version), but azure-native
    refuses to create a version that exists ("cannot create already existing resource", pulumi-azure-native
    crud CanCreate): an explicit version v1 already numbered (1, 2, ...) stops `pulumi up` there."""
    ws = settings.workspace
    if ws.create or not settings.needs_azure or not settings.models:
        return []
    explicit = sorted({f"{m.registered_name or n}:{m.version}" for n, m in settings.models.items()
                       if m.version is not None})
    if not explicit:
        return []
    return [f"{PROJECT}:workspace: the stack registers model version(s) {', '.join(explicit)} in the existing "
            f"workspace {ws.name!r} (a name already there, e.g. from SDK v1's Model.register, gets the version "
            "added); a version the workspace already holds stops `pulumi up` at its ModelVersion (azure-native does "
            "not create what exists): give a version above the last (`az ml model list --name <model>`), or omit "
            "`version` (the content's digest)"]


def unused_image_notes(settings: StackSettings) -> list[str]:
    """An image no service, deployment or section entry names is still built and pushed (the guide's
    Image.create: an image exists on its own), so a stack whose deployments all moved to another image
    builds the old one on. Valid, but rarely meant: said once, naming the entry."""
    if not settings.needs_azure:
        return []
    users = [*settings.services.values(), *(e for section in settings.sections.values() for e in section.values())]
    used = {image for user in users for _, image in user.image_references()}
    used |= {image for user in users for image in user.images_built()}
    used |= {image for service in settings.services.values() for image in service.images_built_in_azure()}
    return [f"{PROJECT}:images.{name}: no service or entry uses it; it is still built and pushed to the registry "
            "(as the guide's Image.create): remove the entry if nothing should run it"
            for name in sorted(set(settings.images) - used)]


def stack_notes(settings: StackSettings) -> list[str]:
    """What synth and `pulumi preview` say about a stack beside the targets' own notes."""
    return [*existing_workspace_notes(settings), *unused_image_notes(settings), *moving_base_image_notes(settings)]


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
        claimed = service.endpoint_name_claim(name, settings.stack, rg)
        if claimed is not None:
            suffix, value = claimed
            claim(endpoints, value, f"{p}services.{name}{suffix}", "endpoint name")
            _endpoint_name_not_reserved(value, f"{p}services.{name}{suffix}", suffix)
    for section, entries in settings.sections.items():  # in the table's order (config/load.py)
        for name, entry in sorted(entries.items()):
            claimed = entry.endpoint_name_claim(name, settings.stack, rg)
            if claimed is not None:
                suffix, value = claimed
                claim(endpoints, value, f"{p}{section}.{name}{suffix}", "endpoint name")
                _endpoint_name_not_reserved(value, f"{p}{section}.{name}{suffix}", suffix)
            claimed = entry.compute_name_claim(name)
            if claimed is not None:
                suffix, value = claimed
                claim(computes, value, f"{p}{section}.{name}{suffix}", "compute name")
    for cluster in sorted(kubernetes_endpoint_clusters(settings)):
        claim(computes, kubernetes_compute_name(cluster), f"{p}clusters.{cluster}", "compute name")
    # The environment and code assets Azure ML keeps per workspace (plan/assets.py): `mldeploy-<service>` of a
    # v2 endpoint is also `mldeploy-batch-<entry>` of service `batch-<entry>` (synth stopped on duplicate URNs, exit 1).
    assets: dict[str, str] = {}
    for name, service in sorted(settings.services.items()):
        keys = dict((image, key) for key, image in reversed(service.image_references()))
        for image in sorted(service.images_built_in_azure()):
            asset = endpoint_asset_name(name)
            key = f"{p}services.{name}.{keys[image]}" if image in keys else f"{p}services.{name}"
            other = assets.setdefault(asset, key)
            if other != key and not (other.startswith(f"{p}services.{name}.") or other == f"{p}services.{name}"):
                raise ConfigError(key, f"Azure ML asset name {asset!r} (the environment and code of service {name!r}) "
                                       f"is also {other.removeprefix(p)}'s; an environment's name is "
                                       "one asset per workspace: rename the service")
    for section, entries in settings.sections.items():
        for name, entry in sorted(entries.items()):
            asset, key = entry.asset_name_claim(name), f"{p}{section}.{name}"
            if asset is not None and assets.setdefault(asset, key) != key:
                raise ConfigError(key, f"Azure ML asset name {asset!r} (the environment and code of {section} entry "
                                       f"{name!r}) is also {assets[asset].removeprefix(p)}'s; an environment's name is "
                                       "one asset per workspace: rename the entry, or that service or image")


def _endpoint_name_not_reserved(value: str, key: str, suffix: str) -> None:
    """An Azure ML endpoint is public (`<name>.<region>.inference.ml.azure.com`): ARM's reserved-word rule
    applies to its name, written out (`endpointName`) or derived from the entry's name (`suffix` "")."""
    # Also Azure ML's own rule: letters and digits with single dashes (how-to-manage-quotas.md, "Azure Machine
    # Learning online endpoints and batch endpoints": "Single dashes like `my-endpoint-name` are accepted").
    problem = reserved_name_problem(value) or ("--" in value and (
        f"endpoint name {value!r} has '--': Azure ML's endpoint names are letters and digits with single dashes "
        "between them (my-endpoint-name)"))
    if problem:
        derived = "" if suffix else "the endpoint name derived from the entry's name: "
        raise ConfigError(key, f"{derived}{problem}")
