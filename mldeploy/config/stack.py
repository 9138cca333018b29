"""The whole stack: every key a stack file may declare under the `mldeploy:` namespace."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from mldeploy.config.cluster import ClusterSettings
from mldeploy.config.batching import BatchingSettings
from mldeploy.config.base import ImageRef, Name, SecretScorerEnvVars, ResourceGroupName, Settings, Tags, listed_twice, matching
from mldeploy.config.files import (CondaFile, ExistingPath, JsonFile, RequirementsFile, SourceDirectory,
                                   SUPPORTED_PYTHONS, conda_python_spec)
from mldeploy.config.requirements import read_requirements
from mldeploy.config.section import SectionSettings
from mldeploy.config.source_directory import ShipsSourceDirectory, check_entry_script
from mldeploy.config.strict_yaml import parse_yaml
from mldeploy.config.service import TargetSettings
from mldeploy.contract import DEFAULT_SCORING_SERVER
from mldeploy.scoring.environment import pin_clash, pin_conflict


class WorkspaceSettings(Settings):
    """The Azure ML workspace: created with its dependencies (default), or an existing one."""

    name: str | None = Field(None, pattern=r"^[a-zA-Z0-9][a-zA-Z0-9_-]{2,32}$",
                             description="workspace name (3-33 characters); default `mlw-<stack>`")
    create: bool = Field(True, description="`true`: create the workspace, its storage account, key vault, "
                         "Application Insights and container registry; `false`: use an existing workspace")
    resource_group: ResourceGroupName | None = Field(None, description="resource group of an existing workspace "
                                       "(create: false); another than the stack's `resourceGroup`, which the stack "
                                       "creates (azure-native refuses to create a group that exists)")
    sku: Literal["Basic"] = Field("Basic", description="workspace SKU")

    @model_validator(mode="after")
    def _existing_needs_name(self):
        if not self.create and not self.name:
            raise ValueError("an existing workspace (create: false) needs its name")
        if not self.create and "sku" in self.model_fields_set:
            raise ValueError("sku applies only to a workspace the stack creates; an existing workspace (create: "
                             "false) keeps its own")
        if self.create and self.resource_group is not None:
            raise ValueError("resourceGroup applies only to an existing workspace (create: false); a created "
                             "workspace goes into the stack's own mldeploy:resourceGroup")
        return self


class ModelSettings(Settings):
    """A trained model to register (guide: `Model.register(path, name, tags, description)`)."""

    path: ExistingPath = Field(description="the model file or folder to upload and register")
    registered_name: Name | None = Field(
        None, description="the registered model this entry is a version of (`az ml`'s `azureml:<name>:<version>`); "
        "a name like `<name>` (2-32 lowercase letters, digits and `-`); omitted: the entry's key. Two entries with one registeredName and different versions are two versions "
        "of one model (blue on `diabetes:1`, green on `diabetes:2`)")
    version: int | None = Field(
        None, ge=1, le=2_147_483_647, description="explicit version (1, 2, ...); omitted: the first 12 hex digits of "
        "the content's SHA-256, so new content always registers a new version"
    )
    tags: Tags = Field(default_factory=dict, description="tags of the model version (guide: `tags`)")
    description: str = Field("", description="description of the model (guide: `description`)")


def _fits_a_dockerfile(parts: list[str]) -> None:
    for i, name in enumerate(parts):
        if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", name):
            what = "file name" if i == len(parts) - 1 else "folder name"  # online/score.py: `online` is a folder
            raise ValueError(f"the entry script's {what} {name!r} may hold only letters, digits, "
                             "'_', '.' and '-' (it is written into the image's Dockerfile)")


class ImageSettings(ShipsSourceDirectory, Settings):
    """A scoring image (guide: `ContainerImage.image_configuration`)."""

    # Before entryScript, which is relative to it (its validator reads it).
    source_directory: SourceDirectory | None = Field(
        None, description="a folder shipped whole beside the entry script, as v1's `InferenceConfig(source_directory=...)` "
        "and v2's `CodeConfiguration(code=...)` ship it: the modules next to score.py (helpers.py, a features/ package) "
        "import as they did there. `entryScript` is then a path inside it, relative to it (v1's `entry_script`, v2's "
        "`scoring_script`). Its `.amlignore` (else its `.gitignore`) leaves files out; `__pycache__/`, `*.pyc` and "
        "`.git/` never ship; at most 2000 files and 300 MB (Azure ML's snapshot limits)")
    entry_script: str = Field(description="the scoring script with `init()` and `run(data)` "
                                       "(guide: `execution_script`); with `sourceDirectory`, relative to it")
    runtime: Literal["python"] = Field("python", description="the guide's `runtime`; only `python` is served")
    conda_file: CondaFile | None = Field(None, description="conda environment file (guide: `conda_file`, "
                                            "`myenv.yml`); exactly one of `condaFile` and `requirementsFile`")
    requirements_file: RequirementsFile | None = Field(None, description="pip requirements file, instead of `condaFile`; may include others (`-r`, `-c`) as pip does")
    models: list[str] = Field(min_length=1, description="names of entries in `models` baked into the image")
    base_image: ImageRef | None = Field(
        None, description="base image; omitted: pinned micromamba for `condaFile`, "
        "`python:<pythonVersion>-slim` for `requirementsFile`. On an image only v2 endpoints use (`managed`, "
        "`kubernetes-endpoint`), an Azure ML image (`mcr.microsoft.com/azureml/...`) Azure ML builds the "
        "environment on; omitted: mldeploy's dated Azure ML base image"
    )
    version: int = Field(1, ge=1, le=2_147_483_647, description="the guide's image version (`myimage:1`); the tag is "
                         "`<version>-<content digest>`")
    python_version: str = Field("3.11", pattern=r"^3\.\d+$", description="Python of the slim base image "
                                "(`requirementsFile` only)")
    sample_request: JsonFile | None = Field(None, description="JSON request used by the smoke test and "
                                                "`mldeploy test` for services of this image")
    description: str = Field("", description="free text, for people")
    scoring_server: Literal["azmlinfsrv", "mldeploy"] = Field(
        DEFAULT_SCORING_SERVER, description="what serves the entry script: `mldeploy` (azmlinfsrv's own app and contract, "
        "its `/score` route without Flask, on the granian HTTP server: 2x and more the requests/s, see docs/performance.md) "
        "or `azmlinfsrv` (Azure ML's server exactly as its command runs it, gunicorn)")
    environment_variables: SecretScorerEnvVars = Field(
        default_factory=dict, description="environment variables of the scorer wherever this image runs, as v1's "
        "`Environment.environment_variables` (`OMP_NUM_THREADS: \"4\"`, a feature flag, a log level): values are "
        "strings; a service's or a deployment's own `environmentVariables` (IoT Edge: `env`) override them. A "
        "secret only as a `secure:` value (aci, aks, fpga, containerapp, local: docs/scoring.md), no names mldeploy sets (WORKER_COUNT, SCORING_TIMEOUT_MS, AZUREML_*, MLDEPLOY_*, ...)")
    batching: BatchingSettings | None = Field(
        None, description="adaptive batching (opt-in): requests arriving together are scored in one run() call "
        "on their concatenated rows; run() must return one result per row (see docs/scoring.md, Batching)")

    @field_validator("entry_script")
    @classmethod
    def _entry_script(cls, value: str, info: ValidationInfo) -> str:
        parts = check_entry_script(value, info.data.get("source_directory"),
                                   Path((info.context or {}).get("root", ".")), "python")
        # Its path in the app folder is written into the Dockerfile (COPY, ENV, CMD): plain names only.
        _fits_a_dockerfile(parts)
        return value

    @field_validator("models")
    @classmethod
    def _each_model_once(cls, models: list[str]) -> list[str]:
        twice = listed_twice(models)
        if twice is not None:
            raise ValueError(f"model {twice!r} is listed twice; an image bakes each model once")
        return models

    @model_validator(mode="after")
    def _one_environment(self):
        if (self.conda_file is None) == (self.requirements_file is None):
            raise ValueError("set exactly one of condaFile or requirementsFile")
        if self.conda_file is not None and "python_version" in self.model_fields_set:
            raise ValueError("pythonVersion applies only with requirementsFile; with condaFile the conda "
                             "file's own `python=` dependency picks the Python")
        if self.base_image is not None and "python_version" in self.model_fields_set:
            # pythonVersion picks the default base image (render/build_context.py: python:<v>-slim); a
            # baseImage of one's own brings its own Python, and the value would be ignored silently.
            raise ValueError("pythonVersion picks the python:<version>-slim base image; with baseImage set the "
                             "base image's own Python runs: remove pythonVersion (or baseImage)")
        if self.python_version not in SUPPORTED_PYTHONS:
            # The same rule as a conda file's `python=` (config/files.py): the scorer host's Pythons.
            raise ValueError(f"pythonVersion {self.python_version}: the scorer host runs on Python "
                             f"{', '.join(SUPPORTED_PYTHONS)} (azureml-inference-server-http needs >= 3.9)")
        if self.batching is not None and self.scoring_server != "mldeploy":
            raise ValueError("batching needs scoringServer mldeploy (the default): azmlinfsrv's gunicorn workers "
                             "take one request at a time")
        if self.batching is not None and self.sample_request is None:
            raise ValueError("batching needs sampleRequest: the scorer checks run()'s batching contract on it "
                             "before it serves (the sample batched twice must give its own results twice)")
        return self

    @model_validator(mode="after")
    def _scorer_host_versions(self, info: ValidationInfo):
        """The environment file may not exclude the versions the scorer host was tested against
        (mldeploy/scoring/environment.py); the file itself was read and checked already."""
        key, env_file, kind = (("condaFile", self.conda_file, "conda") if self.conda_file is not None
                               else ("requirementsFile", self.requirements_file, "pip"))
        root = Path((info.context or {}).get("root", "."))
        try:
            if kind == "pip":  # with the files it includes: a pin in base.txt or constraints.txt counts
                tree = read_requirements(env_file, root)
                text = "".join(line + "\n" for line in tree.requirements + tree.constraints)
            else:
                text = (root / env_file).read_text(encoding="utf-8")
            conflict = pin_conflict(kind, text, self.scoring_server) or pin_clash(kind, text)
        except (OSError, ValueError):  # unreadable: the file's own check has said so
            return self
        if conflict:
            raise ValueError(f"{key}: {env_file}: {conflict}")
        if kind == "conda" and self.base_image is None:
            # The default base (render/build_context.py's micromamba image) has no Python of its own:
            # the conda file's `python` dependency is the interpreter the scorer runs on.
            doc = parse_yaml((root / env_file).read_text(encoding="utf-8"))
            if isinstance(doc, dict) and conda_python_spec(doc) is None:
                raise ValueError(f"condaFile: {env_file} lists no `python` dependency; the image's micromamba base has "
                                 "no Python of its own: add e.g. `- python=3.11` (and `- pip`)")
        return self


MAX_USER_TAGS = 40
AZURE_TAG_PREFIXES = ("microsoft", "azure", "windows")
STORAGE_TAG_NAME_MAX = 128
STACK_SET_TAGS = {"model", "model-version"}  # plan/tags.py's MODEL_TAG, MODEL_VERSION_TAG
DEFAULT_TAG_NAMES = ("environment", "managed-by")  # plan/tags.py resource_tags: on every resource, a user tag may replace the value


class StackSettings(Settings):
    """Everything one stack declares. Built once, validated once, then only read."""

    stack: str = Field(description="the stack's name (from the file name)")
    location: str | None = Field(None, description="the Azure region (`azure-native:location`); "
                                 "required unless every service is `local`")
    cloud: Literal["public", "usgovernment", "china"] = Field(
        "public", description="the Azure cloud (`azure-native:environment`, the provider's own key): its regions "
        "are the ones `azure-native:location` may name")
    extra_regions: list[Annotated[str, matching(r"[a-z][a-z0-9]{2,39}", "a region's programmatic name: lowercase "
                                                "letters and digits, e.g. westeurope")]] = Field(
        default_factory=list, max_length=20, description="regions newer than mldeploy's dated region table "
        "(plan/versions.py) that `azure-native:location` and `fpgaRegions` may name; every other name is still "
        "checked against the table (a misspelt region is refused with the closest names)")
    production: bool = Field(False, description="marks a production stack: ACI refused, TLS on by "
                             "default, stricter policies")
    resource_group: ResourceGroupName | None = Field(None, description="resource group the stack creates; "
                                       "default `rg-mldeploy-<stack>`")
    workspace: WorkspaceSettings = Field(WorkspaceSettings(), description="the Azure ML workspace")
    deployer_principal_type: Literal["User", "ServicePrincipal"] | None = Field(
        None, description="what runs `pulumi up` (it gets a role on created AKS clusters): `User` or "
        "`ServicePrincipal` (also a managed identity); omitted: `ServicePrincipal` when ARM_CLIENT_ID or "
        "AZURE_CLIENT_ID is set (CI, OIDC), else `User`")
    role_propagation_timeout_seconds: int = Field(
        600, ge=30, le=3600, description="the longest `pulumi up` waits for a new role assignment to read "
        "back from ARM (5 reads in a row, as Terraform azurerm does) before the resources that need it; "
        "Azure documents up to 10 minutes")
    tags: Tags = Field(default_factory=dict, description="extra tags on every Azure resource "
                                 "(environment, model and version tags are added for you)")
    models: dict[Name, ModelSettings] = Field(default_factory=dict, description="models to register")
    images: dict[Name, ImageSettings] = Field(default_factory=dict, description="scoring images to build")
    # Each service is parsed by its target's model (config/load.py, the models from the target table).
    services: dict[Name, TargetSettings] = Field(default_factory=dict, description="web services; `target` "
                                                 "picks where each runs (tables below)")
    clusters: dict[Name, ClusterSettings] = Field(default_factory=dict, description="AKS clusters, "
                                                  "created or attached")
    # Each section target's entries, by its stack key (`batch`, `edge`): the stack file sets those keys
    # (not `sections`), each entry parsed by that target's model from the target table (config/load.py),
    # so a new section target adds no field here. The config reference lists one row per key in this place.
    sections: dict[str, dict[Name, SectionSettings]] = Field(
        default_factory=dict, description="each section target's entries, by its stack key")
    endpoint_quota: dict[str, Annotated[int, Field(ge=0, le=1_000_000)]] = Field(default_factory=dict, description="cores per VM family (e.g. "
                                           "`standardFSv2Family: 32`) the managed online endpoints may use in "
                                           "this region; synth refuses a stack needing more")

    @field_validator("tags")
    @classmethod
    def _storage_account_tag_names(cls, tags: dict[str, str], info: ValidationInfo) -> dict[str, str]:
        # The stack's tags go on every resource it creates, the workspace's storage account among them
        # (workspace.create): "For storage accounts, the tag name is limited to 128 characters"
        # (learn.microsoft.com/azure/azure-resource-manager/management/tag-resources, "Limitations").
        taken = sorted(n for n in tags if n.lower() in STACK_SET_TAGS)
        if taken:
            raise ValueError(f"tag name {taken[0]!r} is set by mldeploy on every resource of a model (plan/tags.py: "
                             f"{', '.join(sorted(STACK_SET_TAGS))}), which would replace yours: choose another name")
        workspace = info.data.get("workspace")
        long = sorted(n for n in tags if len(n) > STORAGE_TAG_NAME_MAX)
        if long and (workspace is None or workspace.create):
            raise ValueError(f"tag name {long[0][:40]!r}... has {len(long[0])} characters; the stack creates the "
                             f"workspace's storage account, whose tag names are at most {STORAGE_TAG_NAME_MAX}")
        return tags

    @field_validator("extra_regions")
    @classmethod
    def _each_region_once(cls, regions: list[str]) -> list[str]:
        # As an fpgaRegions entry twice (targets/fpga): a region listed twice is a copy-paste slip, never two regions.
        twice = listed_twice(regions)
        if twice is not None:
            raise ValueError(f"region {twice!r} is listed twice; list each region once")
        return regions

    @field_validator("tags")
    @classmethod
    def _stack_tags_kept_whole(cls, tags: dict[str, str]) -> dict[str, str]:
        # plan/tags.py resource_tags starts every resource's tags with `environment` (the stack's name) and
        # `managed-by`; a user tag of the same name replaces the value, which is the point of setting it. Written
        # in another case it would be a second tag beside ours, and "Tag names are case-insensitive for
        # operations" (learn.microsoft.com/azure/azure-resource-manager/management/tag-resources, "Limitations"):
        # one resource cannot hold both. An empty `environment` leaves every resource without one, which the
        # policy pack's required-tags policy refuses at synth (policies/rules.py required_tags: exit 1).
        for name, value in tags.items():
            ours = next((t for t in DEFAULT_TAG_NAMES if t == name.lower()), None)
            if ours is not None and name != ours:
                raise ValueError(f"tag name {name!r} is mldeploy's own {ours!r} in another case; Azure tag names are "
                                 f"case-insensitive, so a resource cannot hold both: write {ours!r} to set its value")
            if name == "environment" and not value:
                raise ValueError("tag 'environment' is empty: every resource carries an environment tag (default: the "
                                 "stack's name) and the required-tags policy needs a value; give one, or leave it out")
        return tags

    @field_validator("tags")
    @classmethod
    def _no_azure_prefix(cls, tags: dict[str, str]) -> dict[str, str]:
        # The stack's tags are ARM tags of every resource it creates, and a resource's tag names are the
        # subscription's tag names (Tags_List: "a union of predefined and resource tag names"), of which ARM
        # says: "Tag names cannot have the following prefixes which are reserved for Azure use: 'microsoft',
        # 'azure', 'windows'" (azure-rest-api-specs, specification/resources/resource-manager/
        # Microsoft.Resources/stable/2024-03-01/resources.json, Tags_CreateOrUpdate). Model tags are Azure ML
        # asset tags, not ARM tags: not checked here.
        reserved = sorted(n for n in tags if n.lower().startswith(AZURE_TAG_PREFIXES))
        if reserved:
            raise ValueError(f"tag name {reserved[0]!r} starts with a prefix ARM reserves for Azure's own tags "
                             f"({', '.join(AZURE_TAG_PREFIXES)}): choose another name")
        return tags

    @field_validator("tags")
    @classmethod
    def _room_for_our_tags(cls, tags: dict[str, str]) -> dict[str, str]:
        # Azure: "Each resource, resource group, and subscription can have a maximum of 50 tag
        # name/value pairs" (tag-resources, "Limitations"); mldeploy adds up to 10 of its own
        # (plan/tags.py: environment, managed-by, mldeploy-stack, mldeploy-production, model,
        # model-version, the three service markers, the registry's admin-user need).
        if len(tags) > MAX_USER_TAGS:
            raise ValueError(f"{len(tags)} tags; at most {MAX_USER_TAGS}: Azure allows 50 per resource and "
                             "mldeploy adds up to 10 of its own")
        return tags

    @property
    def needs_azure(self) -> bool:
        """False for a stack whose services are all `local` (and nothing else): it runs on this
        machine only, so nothing is registered or pushed in Azure."""
        local_only = bool(self.services) and not any(s.in_azure for s in self.services.values())
        return not (local_only and not (self.clusters or any(self.sections.values())))

    @property
    def resource_group_name(self) -> str:
        # A resource group name is 1-90 characters, not ending in '.' (learn.microsoft.com/azure/azure-resource-manager/
        # management/resource-name-rules, Microsoft.Resources/resourcegroups); a Pulumi stack name may end with '.'.
        return self.resource_group or f"rg-mldeploy-{self.stack}"[:90].rstrip(".")


# The keys a stack file may set under `mldeploy:` besides each section target's own (the target
# table's; config/load.py adds them); the rest of StackSettings is derived.
STACK_KEYS = ("production", "resourceGroup", "workspace", "deployerPrincipalType", "rolePropagationTimeoutSeconds",
              "tags", "models", "images", "services", "clusters", "endpointQuota", "extraRegions")
SECTIONS_FIELD = "sections"  # where the section targets' entries are kept, by stack key
