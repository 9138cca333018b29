"""The declare step: validated StackSettings in, Pulumi resources and stack outputs out.

`pulumi up` reaches this through `__main__.py` -> `run_from_pulumi_config()`; `mldeploy synth`
calls the same function under Pulumi's mocks, so both see exactly one program.
"""
from __future__ import annotations

import os
from datetime import date
from dataclasses import replace
from pathlib import Path
from typing import Any

import pulumi
from pulumi_azure_native import containerregistry
from pulumi_azure_native import machinelearningservices as ml
from pulumi_azure_native import resources

from mldeploy.components.image import ScoringImage
from mldeploy.components.registry import ExistingWorkspace, ModelRegistry
from mldeploy.azure.arm import arm_part
from mldeploy.config import ConfigError, StackSettings, read_stack_file, stack_file
from mldeploy.config.load import decode_config_value, mark_secure_leaves
from mldeploy.contract import stack_file_path
from mldeploy.plan import naming
from mldeploy.plan.models import ResolvedModel, resolve_model
from mldeploy.plan.model_libraries import model_library_warnings
from mldeploy.plan.paths import state_path
from mldeploy.plan.stack import stack_notes
from mldeploy.targets.stack import parse_settings, target_notes, target_warnings
from mldeploy.render.build_context import BuildContext, render_build_context
from mldeploy.plan.conda import unpinned_environment_notes
from mldeploy.plan.versions import stack_warnings
from mldeploy.plan.tags import resource_tags, service_markers
from mldeploy.plan.tls import serves_tls
from mldeploy.pulumi_internals import config_from_engine
from mldeploy.targets.foundation import BUILD_DIR_ENV, Foundation, RunContext, ServiceOutputs, build_dir
from mldeploy.targets import SECTION_TARGETS, premium_registry_services, registry_sku, target_of

__all__ = ["BUILD_DIR_ENV", "PROJECT_ROOT_ENV", "Foundation", "RunContext", "ServiceOutputs", "build_dir",
           "deploy", "run_from_pulumi_config"]

PROJECT_ROOT_ENV = "MLDEPLOY_PROJECT_ROOT"


def deploy(settings: StackSettings, project_root: Path, run: RunContext | None = None) -> dict[str, Any]:
    """Declare every resource of the stack; return the stack outputs. `run`: this run's state
    (a fresh one by default); its `gateway_confs` gets the nginx.conf declared for each gateway
    container, by service name (synth writes them: in the resources they sit masked)."""
    run = run or RunContext()
    for warning in [*stack_warnings(settings, date.today()), *target_warnings(settings),
                    *model_library_warnings(settings, project_root)]:
        pulumi.log.warn(warning)
    for note in [*stack_notes(settings), *unpinned_environment_notes(settings, project_root), *target_notes(settings)]:
        pulumi.log.info(note)
    models = {name: resolve_model(name, m, project_root) for name, m in sorted(settings.models.items())}
    contexts = _write_contexts(settings, models, project_root)
    outputs: dict[str, Any] = {
        "models": {n: {"name": m.registered_name, "version": m.version} for n, m in models.items()},
        "images": {n: {"tag": c.tag} for n, c in contexts.items()},
    }
    group_name, registry, images = None, None, {}
    if settings.needs_azure:
        group_name, registry, images = _declare_azure(settings, models, contexts, project_root, run)
        outputs = {
            "resourceGroup": group_name,
            "workspace": registry.workspace_name,
            "registryLoginServer": registry.registry_login_server,
            "models": {n: {"name": m.registered_name, "version": m.version, "id": registry.models[n].id,
                           "uri": registry.models[n].uri}
                       for n, m in models.items()},
            "images": {n: {"imageName": i.image_name, "repoDigest": i.repo_digest, "tag": contexts[n].tag}
                       for n, i in images.items()},
        }
    foundation = Foundation(settings, project_root, group_name, registry, models, contexts, images, run)

    services: dict[str, Any] = {}
    keys: dict[str, Any] = {}
    for name, service in sorted(settings.services.items()):
        step = replace(foundation, service_tags=_service_tags(name, service, foundation))
        result = target_of(service).deploy(name, service, step)
        if result.gateway_conf is not None:
            run.gateway_confs[name] = result.gateway_conf
        services[name] = {"scoringUri": result.scoring_uri, "swaggerUri": result.swagger_uri, **result.extra}
        if result.primary_key is not None:
            keys[name] = {"primaryKey": result.primary_key, "secondaryKey": result.secondary_key}
    if services:
        outputs["services"] = services
    if keys:
        outputs["serviceKeys"] = pulumi.Output.secret(keys)

    for target in SECTION_TARGETS:
        entries = target.entries(settings)
        if entries:
            outputs[target.section] = {name: target.deploy(name, entry, foundation)
                                       for name, entry in sorted(entries.items())}
    return outputs


def _service_tags(name: str, service: Any, f: Foundation) -> dict[str, str]:
    """What every resource of one service says: the service's markers and, for a service of one
    image, that image's model(s) (an online endpoint's deployments name their own: `tag_image`)."""
    image = service.tag_image
    served = [] if image is None else [f.models[m] for m in f.settings.images[image].models]
    models = {
        # "_" never occurs in a model name and is valid in Azure tags and Kubernetes labels alike.
        "model": "_".join(m.registered_name for m in served),
        "model-version": "_".join(m.version for m in served),
    } if served else {}
    return {
        **models,
        # The plan's one TLS decision (plan/tls.py), as the gateway and the Service apply it.
        **service_markers(name, auth_enabled=service.auth_enabled,
                          tls_enabled=serves_tls(service, f.settings.production)),
    }


def _write_contexts(settings: StackSettings, models: dict[str, ResolvedModel],
                    project_root: Path) -> dict[str, BuildContext]:
    """Render each image's build context and write it where docker (or `serve`) reads it."""
    contexts = {}
    out_dir = build_dir(settings, project_root)
    for name, image in sorted(settings.images.items()):
        contexts[name] = render_build_context(name, image, [models[m] for m in image.models], project_root)
        contexts[name].write(out_dir / name)
    return contexts


def _declare_azure(settings: StackSettings, models: dict[str, ResolvedModel], contexts: dict[str, BuildContext],
                   project_root: Path, run: RunContext) -> tuple[pulumi.Output[str], ModelRegistry, dict]:
    """The guide's first two steps in Azure: register the models, build and push the images."""
    tags = resource_tags(settings.stack, settings.tags, production=settings.production)
    entries = [e for section in settings.sections.values() for e in section.values()]  # batch, edge, ...
    group = resources.ResourceGroup(
        "resource-group",
        resource_group_name=settings.resource_group_name,
        location=settings.location,
        tags=tags,
    )
    registry = ModelRegistry(
        "registry",
        stack=settings.stack,
        location=settings.location,
        resource_group_name=group.name,
        name_seed=settings.resource_group_name,
        workspace_name=settings.workspace.name or naming.workspace(settings.stack),
        workspace_sku=settings.workspace.sku,
        models=list(models.values()),
        model_tags={n: {**resource_tags(settings.stack, settings.tags, model=models[n].registered_name,
                                        version=models[n].version,
                                        production=settings.production),
                        **m.tags} for n, m in settings.models.items()},
        model_descriptions={n: m.description for n, m in settings.models.items()},
        tags=tags,
        admin_user_need=next((e.registry_admin_user_need for e in entries if e.registry_admin_user_need), None),
        production=settings.production,
        existing=None if settings.workspace.create else existing_workspace(settings),
        registry_sku=registry_sku(settings),
        token_exchange=run.acr_exchange,
    )
    out_dir = build_dir(settings, project_root)
    # v2 online endpoints build their environment in Azure from the conda file: an image only
    # they use is not built here.
    services = settings.services.values()
    endpoint_only = set().union(*(s.images_built_in_azure() for s in services)) - set().union(
        *(s.images_built() for s in services), *(e.images_built() for e in entries))
    built = set(contexts) - endpoint_only
    images = {
        name: ScoringImage(
            f"image-{name}",
            context=context,
            context_dir=state_path(out_dir / name),
            registry_login_server=registry.registry_login_server,
            registry_password=registry.push_password,
        )
        for name, context in contexts.items() if name in built
    }
    return group.name, registry, images


def existing_workspace(settings: StackSettings) -> ExistingWorkspace:
    """Look the existing workspace up (`workspace.create: false`) and check it can host the stack.

    Azure ML creates a workspace's container registry lazily, and a workspace may have none at all
    (its `containerRegistry` property is optional in the Workspace API); mldeploy pushes the
    scoring images there, so one without a registry is a config error, not a traceback."""
    ws = settings.workspace
    group = ws.resource_group or settings.resource_group_name
    found = ml.get_workspace(resource_group_name=group, workspace_name=ws.name)
    missing = [key for key, value in (("containerRegistry", found.container_registry),
                                      ("storageAccount", found.storage_account),
                                      ("applicationInsights", found.application_insights)) if not value]
    if missing:
        raise ConfigError("mldeploy:workspace.name",
                          f"the existing workspace {group}/{ws.name} has no {', '.join(missing)}: mldeploy pushes "
                          "the scoring images to the workspace's container registry and uploads models to its "
                          "storage; attach them (`az ml workspace update --container-registry <id>`) or let "
                          "mldeploy create the workspace (create: true)")
    premium = premium_registry_services(settings)
    if premium:
        registry = containerregistry.get_registry(
            resource_group_name=arm_part("resourceGroups")(found.container_registry),
            registry_name=arm_part("registries")(found.container_registry))
        sku = registry.sku.name if registry.sku else None
        if sku != "Premium":
            raise ConfigError(f"mldeploy:services.{premium[0]}.target",
                              f"target {settings.services[premium[0]].target} pulls its image with a managed identity, "
                              "which needs a Premium container registry "
                              f"(Microsoft's prerequisite); the existing workspace's registry is {sku or 'unknown'}: "
                              "upgrade it (`az acr update --sku Premium`) or deploy to another target")
    return ExistingWorkspace(name=found.name, resource_group=group, workspace_id=found.workspace_id,
                             container_registry=found.container_registry, storage_account=found.storage_account,
                             application_insights=found.application_insights)


def settings_from_pulumi(project_root: Path) -> StackSettings:
    """The stack's settings from the config the Pulumi engine handed to this program."""
    config, secret_keys = config_from_engine()
    stack = pulumi.get_stack()
    path = stack_file(project_root, stack)
    if path.exists():
        # Which leaves were `secure:` is known only from the file: the secret rule per value.
        template, _ = read_stack_file(path)
        config = {k: mark_secure_leaves(decode_config_value(k, v), template.get(k)) for k, v in config.items()}
    return parse_settings(stack, config, secret_keys, project_root, stack_file_path(stack))


def run_from_pulumi_config(*, engine_errors: bool = True, run: RunContext | None = None,
                           settings: StackSettings | None = None) -> dict[str, Any]:
    """The Pulumi program's entry point. `engine_errors=False` (synth) lets ConfigError through;
    `run` is the run's state and hooks (synth: no network, and it reads the gateway configs back);
    `settings` (synth) were parsed by the caller from this config: not parsed a second time."""
    from mldeploy.config.source_directory import walks_cached

    project_root = Path(os.environ.get(PROJECT_ROOT_ENV) or Path.cwd())
    try:
        with walks_cached():  # `pulumi up`: the load-time rule and the build contexts walk each folder once
            outputs = deploy(settings or settings_from_pulumi(project_root), project_root, run)
    except ConfigError as err:
        if err.source is None:  # raised by a target's own checks: name the stack file too
            err = err.with_source(stack_file_path(pulumi.get_stack()))
        if not engine_errors:
            raise err from None
        # A user mistake: one clear line from the engine, no Python traceback.
        raise pulumi.RunError(str(err)) from None
    for key, value in outputs.items():
        pulumi.export(key, value)
    return outputs
