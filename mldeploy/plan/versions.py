"""THE dated table of facts that expire: which Kubernetes and IoT Edge versions are supported,
and until when. Every version rule in mldeploy reads this table; nothing else hard-codes a date.

As of 2026-11-25. Update the table (and AS_OF) when the sources change:

- AKS: https://learn.microsoft.com/azure/aks/supported-kubernetes-versions, "AKS Kubernetes
  release calendar" and "LTS Versions" (MicrosoftDocs/azure-aks-docs
  articles/aks/supported-kubernetes-versions.md, ms.date 2026-08-05). Months without a day are
  read as the month's last day. After end of life a minor is in "platform support" (N-3), where
  "Cluster creation: Not supported" (same page, platform support table). Long-term support adds a
  year and "requires moving your cluster to the Premium tier and explicitly selecting the LTS
  support plan" (articles/aks/long-term-support.md).
- IoT Edge: Azure/azure-iotedge release notes 1.5.0 ("serviced ... through November 10, 2026")
  and 1.6.0 ("through November 14, 2028"); learn.microsoft.com/azure/iot-edge/version-history.
- Azure regions (public cloud): learn.microsoft.com/azure/reliability/regions-list, "Azure regions
  list", column "Programmatic name" (MicrosoftDocs/reliability-docs articles/reliability/regions-list.md,
  ms.date 2025-09-23), restricted and coming-soon regions included; Sweden South appears there as a
  paired region only. Azure opens regions often: a stack naming a newer one is refused until the
  table knows it (update REGIONS and REGIONS_AS_OF).
- Sovereign clouds (CLOUD_REGIONS and plan/clouds.py's DNS suffixes), checked CLOUDS_AS_OF: Azure
  China's "Azure regions list" (docs.azure.cn/en-us/reliability/regions-list, column "Programmatic
  name"); Azure Government's regions from the Azure SDK region tables (Azure/azure-sdk-for-java
  azure-core-management Region.java: usgovvirginia, usgoviowa, usgovarizona, usgovtexas, usdodeast,
  usdodcentral) less US Gov Iowa, which Microsoft closed on 2020-04-30 (Azure Government blog,
  reported by ZDNet, "Microsoft is closing its US Government Iowa Azure region"). Azure Government
  Secret/Top Secret (ussec*, usnat*) are other clouds the azure-native provider does not name.
- Default images (DEFAULT_IMAGES), checked IMAGES_AS_OF: which image reference mldeploy writes when
  the stack names none, whether it is pinned (digest, dated tag) or floats, and the primary source
  of the value. Azure ML's base image: the newest dated tag Microsoft's own environment
  definitions build on (Azure/azureml-assets, branch `release`); its tag history:
  Azure/AzureML-Containers images/openmpi4.1.0-ubuntu22.04/release-notes.md.
- Toolchain (TOOLCHAIN_AS_OF): what a project's `pulumi preview`/`up` runs on besides the images - the
  Python packages of its deploy virtualenv (DEPLOY_PACKAGES: the Pulumi SDK, the provider packages that
  fix each plugin's version, mldeploy's other dependencies), the Pulumi CLI the workflows install (the
  SDK's own release), the GitHub Actions by commit SHA and kubelogin. Dependabot proposes updates of the
  files that mirror them (constraints.txt, .github/workflows/); tests/test_pins.py and
  tests/test_workflows.py fail until this table says the same.
- Scoring environments (CONDA_PYTHONS, checked CONDA_AS_OF): the exact python and pip every conda file
  mldeploy writes names, from conda-forge's own feedstocks (the entry's comment has the commits).
"""
from __future__ import annotations

import calendar
import difflib
from dataclasses import dataclass
from datetime import date


AS_OF = date(2026, 11, 25)
AKS_SOURCE = "https://learn.microsoft.com/azure/aks/supported-kubernetes-versions"
IOT_EDGE_SOURCE = "https://learn.microsoft.com/azure/iot-edge/version-history"


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


@dataclass(frozen=True)
class KubernetesSupport:
    """One AKS minor version: end of (community) support, and end of long-term support."""

    end_of_life: date
    lts_end_of_life: date


# Minor -> dates, from the AKS release calendar (community support) and the LTS table.
AKS_KUBERNETES: dict[str, KubernetesSupport] = {
    "1.29": KubernetesSupport(_month_end(2025, 3), _month_end(2026, 4)),
    "1.30": KubernetesSupport(date(2025, 8, 22), _month_end(2026, 7)),
    "1.31": KubernetesSupport(date(2025, 11, 1), _month_end(2026, 11)),
    "1.32": KubernetesSupport(_month_end(2026, 3), _month_end(2027, 3)),
    "1.33": KubernetesSupport(_month_end(2026, 7), _month_end(2027, 7)),
    "1.34": KubernetesSupport(_month_end(2026, 11), _month_end(2027, 11)),
    "1.35": KubernetesSupport(_month_end(2027, 3), _month_end(2028, 3)),
    "1.36": KubernetesSupport(_month_end(2027, 6), _month_end(2028, 6)),
    "1.37": KubernetesSupport(_month_end(2027, 10), _month_end(2028, 10)),
}

# IoT Edge runtime (edgeAgent/edgeHub) LTS releases -> end of servicing.
IOT_EDGE_RUNTIME: dict[str, date] = {
    "1.4": date(2024, 11, 12),
    "1.5": date(2026, 11, 10),
    "1.6": date(2028, 11, 14),
}

REGIONS_AS_OF = date(2026, 12, 4)
REGIONS_SOURCE = "https://learn.microsoft.com/azure/reliability/regions-list"
# Programmatic names (`azure-native:location`); display names ("West Europe") compare without spaces.
REGIONS: frozenset[str] = frozenset({
    "australiacentral", "australiacentral2", "australiaeast", "australiasoutheast", "austriaeast",
    "belgiumcentral", "brazilsouth", "brazilsoutheast", "canadacentral", "canadaeast", "centralindia",
    "centralus", "chilecentral", "denmarkeast", "eastasia", "eastus", "eastus2", "francecentral",
    "francesouth", "germanynorth", "germanywestcentral", "indonesiacentral", "israelcentral", "italynorth",
    "japaneast", "japanwest", "koreacentral", "koreasouth", "malaysiawest", "mexicocentral",
    "newzealandnorth", "northcentralus", "northeurope", "norwayeast", "norwaywest", "polandcentral",
    "qatarcentral", "southafricanorth", "southafricawest", "southcentralus", "southindia", "southeastasia",
    "spaincentral", "swedencentral", "swedensouth", "switzerlandnorth", "switzerlandwest", "uaecentral",
    "uaenorth", "uksouth", "ukwest", "westcentralus", "westeurope", "westindia", "westus", "westus2",
    "westus3",
})


# The sovereign clouds, each its own ARM with its own regions; the azure-native provider talks to one
# cloud, chosen by `azure-native:environment` (public, usgovernment, china; "Defaults to public" -
# pulumi-azure-native's provider configuration, also read from ARM_ENVIRONMENT). Sources and the date
# checked: the module docstring and CLOUDS_AS_OF. chinaeast3 is "access restricted to support specific
# customer scenarios, such as in-country disaster recovery" (docs.azure.cn regions list) - kept, as
# the public table keeps its restricted regions.
CLOUDS_AS_OF = date(2026, 12, 5)
CLOUD_REGION_SOURCES = {
    "public": REGIONS_SOURCE,
    "usgovernment": ("https://github.com/Azure/azure-sdk-for-java/blob/main/sdk/core/azure-core-management/src/main/"
                     "java/com/azure/core/management/Region.java, less usgoviowa (closed 2020-04-30)"),
    "china": "https://docs.azure.cn/en-us/reliability/regions-list",
}
CLOUD_REGIONS: dict[str, frozenset[str]] = {
    "public": REGIONS,
    "usgovernment": frozenset({"usgovvirginia", "usgovtexas", "usgovarizona", "usdodeast", "usdodcentral"}),
    "china": frozenset({"chinaeast", "chinaeast2", "chinaeast3", "chinanorth", "chinanorth2", "chinanorth3"}),
}


def region_problem(location: str, cloud: str = "public", extra: tuple[str, ...] = ()) -> str | None:
    """Why `location` is no region of `cloud` (with the closest names), or None. `extra`: regions the
    stack names as newer than this table (`mldeploy:extraRegions`), accepted as they are."""
    name = location.replace(" ", "").lower()
    known = CLOUD_REGIONS[cloud] | {e.replace(" ", "").lower() for e in extra}
    if name in known:
        return None
    home = next((c for c, regions in CLOUD_REGIONS.items() if name in regions), None)
    if home is not None:  # a real region of another cloud: the provider would talk to the wrong ARM
        return (f"{location!r} is a region of Azure's {home} cloud, but this stack deploys to the {cloud} cloud: "
                f"set azure-native:environment: {home} (the azure-native provider's cloud; it also reads "
                "ARM_ENVIRONMENT), or name a region of the " + cloud + " cloud")
    close = difflib.get_close_matches(name, sorted(known), n=3, cutoff=0.6)
    hint = f"did you mean {' or '.join(close)}? " if close else ""
    as_of = REGIONS_AS_OF if cloud == "public" else CLOUDS_AS_OF
    return (f"{location!r} is not an Azure region of the {cloud} cloud: {hint}use a region's programmatic name "
            f"({CLOUD_REGION_SOURCES[cloud]}, as of {as_of.isoformat()}; `az account list-locations -o table` lists "
            "yours; a region newer than this table: list it in mldeploy:extraRegions)")


IMAGES_AS_OF = date(2026, 12, 5)


@dataclass(frozen=True)
class DefaultImage:
    """An image mldeploy writes when the stack names none: the reference, how it is fixed
    (`digest`, `dated tag`, `version tag`, `rolling tag`) and the source of the value (why nothing
    more stable is used, where so). The config key that replaces each: docs/deploying.md."""

    reference: str
    pinned_by: str
    source: str


DEFAULT_IMAGES: dict[str, DefaultImage] = {
    # Microsoft publishes openmpi4.1.0-ubuntu22.04 as `latest` plus one `<yyyymmdd>.v1` tag per
    # rebuild (mostly CVE fixes). `latest` would give two `pulumi up`s a month apart two
    # different environments from one commit; a dated tag is one build. The value is the one
    # Microsoft's own curated environments build on: Azure/azureml-assets, branch `release`
    # (commit 61470ae0dd69, 2026-07-23), latest/environment/mlflow-model-inference/context/
    # Dockerfile and the four other environments on this image: `FROM mcr.microsoft.com/azureml/
    # openmpi4.1.0-ubuntu22.04:20260715.v1` (main writes `{{latest-image-tag}}`, which the release
    # pipeline resolves: scripts/azureml-assets/azureml/assets/environment/pin_image_versions.py).
    # No digest: none is published in a source readable here.
    "azureml-base": DefaultImage(
        "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:20260715.v1", "dated tag",
        "https://github.com/Azure/azureml-assets/blob/release/latest/environment/mlflow-model-inference/"
        "context/Dockerfile"),
    # mldeploy/contract.py GATEWAY_IMAGE says why a digest (Docker Hub rebuilds 1.27.4-alpine in place).
    "gateway": DefaultImage(
        "nginx:1.27.4-alpine@sha256:4ff102c5d78d254a6f0da062b3cf39eaf07f01eec0927fd21e219d0af8bc0591", "digest",
        "https://hub.docker.com/_/nginx"),
    # Vector publishes one image per release under its version tag; no digest of it is published in a
    # source readable offline, so the tag is what can be pinned here. A stack pins a digest with
    # collectorImage (ImageRef takes `name:tag@sha256:...`).
    "collector": DefaultImage(
        "timberio/vector:0.46.1-distroless-static", "version tag",
        "https://hub.docker.com/r/timberio/vector"),
    # mamba-org/micromamba-docker docs/tags.rst: "Tags that do not contain git are rolling tags, meaning
    # these tags get reassigned to new images each time these images are built" and "the best practice
    # is for the Dockerfile FROM command to reference the image's sha256 digest". 1.5.10-* tags are
    # reassigned only by builds of micromamba 1.5.10: the repository moved to 2.0.0 on 2024-09-28
    # (commit efe28dc), so this tag has not moved since. No digest is published in the repository.
    "micromamba": DefaultImage(
        "mambaorg/micromamba:1.5.10-jammy", "rolling tag (frozen: 1.5.10 superseded 2024-09-28)",
        "https://github.com/mamba-org/micromamba-docker/blob/main/docs/tags.rst"),
    # Docker's official python image rebuilds `3.11-slim` for every Python patch release and Debian
    # point release, and moves it to the next Debian release when one comes out: the stack chooses the
    # Python (pythonVersion), and a team that wants one build pins it with baseImage
    # (`python:3.11.x-slim-<debian>@sha256:...`). A table of patch versions would expire monthly.
    "python-slim": DefaultImage(
        "python:<pythonVersion>-slim", "rolling tag",
        "https://github.com/docker-library/official-images/blob/master/library/python"),
    # The IoT Edge runtime's rolling minor tags (`1.6` follows the newest 1.6.x): servicing releases are
    # security and bug fixes that devices are meant to take (IOT_EDGE_SOURCE). A device pins one release
    # with runtimeVersion `1.6.<patch>` (the image tag is the runtimeVersion as written).
    "iot-edge-runtime": DefaultImage(
        "mcr.microsoft.com/azureiotedge-agent:<runtimeVersion>, mcr.microsoft.com/azureiotedge-hub:<runtimeVersion>",
        "rolling tag", IOT_EDGE_SOURCE),
}



@dataclass(frozen=True)
class PinnedBase:
    """One build of a rolling base image, by digest: the reference to write as `baseImage`, the Python it
    holds, the day Docker built it and where the digest is published."""

    reference: str
    python: str
    built: date
    source: str


# Builds of `python:<pythonVersion>-slim` (DEFAULT_IMAGES "python-slim", the base of a requirementsFile image)
# by digest, for a stack to pin with baseImage (the synth/preview note of plan/base_images.py names the row).
# Not the default: a digest in FROM cannot be met by a local stand-in image (`serve --containers` on a machine
# without registry access, tests/containers), and the row goes stale with every Debian security rebuild that a
# team may want. Source, checked PYTHON_SLIM_AS_OF: docker-library/repo-info, which records the manifest-list
# digest of every official-image tag after each build (repos/python/remote/<tag>.md, "docker pull
# python@sha256:..."), at the commit named in each row; Python version and build date are that file's
# `ENV PYTHON_VERSION` and history. Docker Hub keeps a digest pullable after the tag moves on.
PYTHON_SLIM_AS_OF = date(2026, 12, 6)
PYTHON_SLIM_PINS: dict[str, PinnedBase] = {
    "3.11": PinnedBase(
        "python:3.11.15-slim-trixie@sha256:90744cff8f32887f075c47d747a173ff333e9e98801667af93c357fa9f5e28ff",
        "3.11.15", date(2026, 8, 5),
        "https://github.com/docker-library/repo-info/blob/2477d553d2fdfa57b4ec11f63c8376eca8b7a253/repos/python/"
        "remote/3.11-slim-trixie.md"),
    "3.12": PinnedBase(
        "python:3.12.13-slim-trixie@sha256:229a2c5bfa27522db7815ea81f9bed70af17ccb9de9fc7ad142b1877b5830d36",
        "3.12.13", date(2026, 8, 5),
        "https://github.com/docker-library/repo-info/blob/2986dca3a80cb11b70fc4599941096374ea9e509/repos/python/"
        "remote/3.12-slim-trixie.md"),
}


TOOLCHAIN_AS_OF = date(2026, 12, 6)

# A project's deploy virtualenv (`pulumi install`, the workflows' pip install): mldeploy's own dependencies
# (pyproject.toml [project] dependencies), each at the version mldeploy's tests run with - the repository
# installs with `-c constraints.txt`, which lists the same (tests/test_pins.py keeps constraints.txt, this
# table and the test virtualenv equal). `mldeploy init` writes them into the project's requirements.txt,
# where the user's Dependabot proposes updates.
# Each provider package fixes its plugin: the Python language host asks the engine for the plugin named in
# the package's pulumi-plugin.json, at the package's version (pulumi/pulumi#5787, "Implement
# GetRequiredPlugins for Python"; e.g. pulumi_azure_native/pulumi-plugin.json of 3.29.0 says
# {"resource": true, "name": "azure-native", "version": "3.29.0"}), so `pulumi install`/`preview`
# download exactly that plugin. Sources: https://pypi.org/project/<name>/<version>/ (pulumi 3.272.0 the
# newest on PyPI on TOOLCHAIN_AS_OF).
DEPLOY_PACKAGES: dict[str, str] = {
    "pulumi": "3.272.0",
    "pulumi-azure-native": "3.29.0",
    "pulumi-kubernetes": "4.34.2",
    "pulumi-docker": "5.2.0",
    "pulumi-random": "4.21.4",
    "pulumi-policy": "1.21.0",
    "pydantic": "2.12.5",
    "PyYAML": "6.0.4",
    "click": "8.5.1",
    "azure-core": "1.41.0",
    "azure-mgmt-core": "1.6.0",
    "azure-identity": "1.27.0",
    "kubernetes": "35.0.0",
    "packaging": "26.4",
    "pathspec": "1.1.1",
    "publicsuffixlist": "1.1.2.20261023",
}
# The build backend of mldeploy's own package (pyproject.toml [build-system] requires, exact). pip builds mldeploy
# in an isolated environment - `make install`'s editable install, `pip wheel` of a checkout, a project's `pulumi
# install` of the vendored sdist or of a `git+https://` line - filled with whatever [build-system] allows:
# `setuptools>=68` took PyPI's newest at every build (84.2.1 on 2026-12-06, measured with `pip install -v
# --no-deps -e .` in a fresh virtualenv). pip's constraints do not reach that environment: `-c` never did
# (pypa/pip#8439), and PIP_CONSTRAINT no longer does since pip 25.3 (its changelog, pypa/pip#13534: "Use the
# --build-constraint option or the PIP_BUILD_CONSTRAINT environment variable instead"; measured with pip 26.3:
# PIP_CONSTRAINT=constraints.txt, which says setuptools==65.5.0, still built with 84.2.1). So the pin is in
# pyproject.toml, which every frontend reads and the sdist carries. setuptools alone: it builds wheels itself
# since 70.1 (its changelog, v70.1.0: bdist_wheel adopted from `wheel`; measured: the wheel and the editable
# install build with setuptools only), and it has no dependencies, so the build environment is this one package
# (`wheel` brought `packaging` along, unpinned). 84.2.1: the newest on PyPI on TOOLCHAIN_AS_OF (`pip index
# versions setuptools`; https://pypi.org/project/setuptools/84.2.1/). tests/test_pins.py keeps pyproject.toml equal.
BUILD_BACKEND: dict[str, str] = {"setuptools": "84.2.1"}
# The Pulumi CLI the workflows install: the release of the pulumi SDK above. pulumi/pulumi releases the CLI
# and the language SDKs together under one tag (https://github.com/pulumi/pulumi/releases/tag/v3.272.0;
# the CLI archive get.pulumi.com/releases/sdk/pulumi-v3.272.0-linux-x64.tar.gz). Without `pulumi-version`,
# pulumi/actions v7.0.0 keeps whatever Pulumi 3.x the runner has on PATH or downloads the newest
# (src/config.ts makeConfig, src/libs/pulumi-cli.ts downloadCli). The workflows read the version from the
# virtualenv (`importlib.metadata.version("pulumi")`) rather than repeating it, so a Dependabot update of
# the pin moves SDK and CLI together.
PULUMI_CLI = DEPLOY_PACKAGES["pulumi"]


@dataclass(frozen=True)
class ActionPin:
    """A GitHub Action by the full commit SHA its release tag pointed to, with the tag (`@<sha> # <tag>`:
    what Dependabot's github-actions updater rewrites together)."""

    sha: str
    version: str


# Every action a workflow runs (this repository's and `mldeploy init`'s, which take them from here). A tag
# can be moved or re-pushed by whoever controls the action's repository; a SHA cannot (GitHub, "Security
# hardening for GitHub Actions", "Using third-party actions": "Pin actions to a full length commit SHA").
# Each SHA is the commit the major tag the workflows used (`@v5` ...) resolved to in the action's own
# repository (git rev-parse <tag>^{commit} on a snapshot of it, checked 2026-12-05; pulumi/actions v7.0.0 is
# 8e5e406, "prepare v7.0.0 release (#1407)", checked again 2026-12-06); azure/use-kubelogin's `v1` is its
# release v1.2.
ACTION_PINS: dict[str, ActionPin] = {
    "actions/checkout": ActionPin("fbc6f3992d24b796d5a048ff273f7fcc4a7b6c09", "v5.1.0"),
    "actions/setup-python": ActionPin("ece7cb06caefa5fff74198d8649806c4678c61a1", "v6.3.0"),
    "actions/upload-artifact": ActionPin("b7c566a772e6b6bfb58ed0dc250532a479d7789f", "v6.0.0"),
    "actions/download-artifact": ActionPin("37930b1c2abaa49bbe596cd826c3c89aef350131", "v7.0.0"),
    "azure/login": ActionPin("f5d393ae46f8fde4be8b75f32e3fc50e654ad0ca", "v3.0.1"),
    "azure/use-kubelogin": ActionPin("76597ae0fcbaace21b05e13a2cbf8daee2c6e820", "v1.2"),
    "pulumi/actions": ActionPin("8e5e406f4007fca908480587cb9893c07090f58d", "v7.0.0"),
}
# The kubelogin release azure/use-kubelogin installs (its `kubelogin-version` input): AKS kubeconfigs exec it.
# Source, checked KUBELOGIN_AS_OF: Azure/kubelogin's own release tags (git for-each-ref refs/tags on a snapshot
# of https://github.com/Azure/kubelogin whose newest commit is of 2026-08-17): v0.2.19 is the newest tag,
# commit a9b10fbf8422 "Update changelog for v0.2.19 (#787)", 2026-06-23; its change log's section [0.2.19]
# (https://github.com/Azure/kubelogin/releases/tag/v0.2.19). The release before it: v0.2.18, 2026-05-29.
KUBELOGIN_VERSION = "v0.2.19"
KUBELOGIN_SOURCE = "https://github.com/Azure/kubelogin/releases/tag/v0.2.19"
KUBELOGIN_AS_OF = date(2026, 12, 6)


@dataclass(frozen=True)
class CondaPython:
    """The interpreter and pip of a scoring environment's conda file, as conda-forge builds them: an exact
    patch release of python and the pip version for it."""

    python: str
    pip: str


# Every conda file mldeploy writes (init's environment.yml, the conda file of a v2 endpoint or batch
# deployment given a requirementsFile: plan/conda.py) says `python==<patch>` and `pip==<version>` from here, so
# the same commit solves the same interpreter and pip when the image is rebuilt months later (`python=3.11`
# would take conda-forge's newest 3.11.x then, `pip` its newest pip). Keyed by the minor a stack chooses
# (pythonVersion; config/files.py SUPPORTED_PYTHONS). Sources, checked CONDA_AS_OF: conda-forge's feedstocks,
# whose recipes are what the conda-forge channel publishes (snapshots of their git repositories):
# - python: conda-forge/python-feedstock, each minor's branch (3.9 ... 3.13), recipe/meta.yaml
#   `{% set version = ... %}`: 3.9.23 (fc64ecea, 2025-06-04), 3.10.20 (888e71e2, 2026-06-11), 3.11.15
#   (d6174105, 2026-06-11), 3.12.13 (2553c29d, 2026-03-05), 3.13.14 (c1905e43, 2026-06-12).
# - pip: conda-forge/pip-feedstock main, recipe/meta.yaml 26.0.1 (baf223dd, 2026-02-05), a noarch package
#   built with python_min 3.10 (.ci_support/*.yaml, since 2025-11-02): Python 3.9 gets 25.2 (9051bc8,
#   2025-07-31), the newest pip built with python_min 3.9.
# A patch pin is a version, not a build: conda-forge may publish a new build of 3.11.15 (a build number),
# which the solver would prefer; a team that needs byte-identical environments locks them (conda-lock,
# `micromamba env export --explicit`) - docs/deploying.md.
CONDA_AS_OF = date(2026, 12, 6)
CONDA_SOURCES = ("https://github.com/conda-forge/python-feedstock", "https://github.com/conda-forge/pip-feedstock")
CONDA_PYTHONS: dict[str, CondaPython] = {
    "3.9": CondaPython("3.9.23", "25.2"),
    "3.10": CondaPython("3.10.20", "26.0.1"),
    "3.11": CondaPython("3.11.15", "26.0.1"),
    "3.12": CondaPython("3.12.13", "26.0.1"),
    "3.13": CondaPython("3.13.14", "26.0.1"),
}


# The azureml-core a batch deployment's environment needs (Azure ML's batch driver imports it: config/files.py
# BATCH_EXECUTOR_PACKAGES), which mldeploy adds to a batch requirementsFile that does not name it: exact, or a
# rebuild later installs another release. 1.61.0.post4: the newest on PyPI on CONDA_AS_OF (`pip index versions
# azureml-core`; https://pypi.org/project/azureml-core/1.61.0.post4/), a py3-none-any wheel with
# Requires-Python ">=3.8,< 4.0" (its METADATA): every pythonVersion of CONDA_PYTHONS.
BATCH_EXECUTOR_PIN = "azureml-core==1.61.0.post4"


def conda_python_lines(minor_version: str) -> tuple[str, str]:
    """The conda file's two dependency lines for Python `minor_version` (`3.11`): exact python and pip. `==`,
    conda's exact match: `pip=25.2` would be the fuzzy `25.2.*`, which a 25.2.1 would satisfy."""
    pinned = CONDA_PYTHONS[minor_version]
    return f"python=={pinned.python}", f"pip=={pinned.pip}"


# The config defaults DEFAULT_MIN_KUBERNETES and DEFAULT_IOT_EDGE_RUNTIME (in the contract, so
# config reads no plan module) must stay inside this table's window: tests/plan/test_versions.py.


def minor(version: str) -> str:
    """`1.35.2` / `v1.35` -> `1.35`."""
    parts = version.strip().lstrip("v").split(".")
    return ".".join(parts[:2])


def _key(version: str) -> tuple[int, int]:
    major, minor_ = minor(version).split(".")
    return int(major), int(minor_)


def kubernetes_end(version: str, long_term_support: bool = False) -> date | None:
    """When AKS stops supporting `version` (None: newer than the table, not known yet). A minor
    older than the table's oldest has ended: it is reported as ended on the oldest's date."""
    known = AKS_KUBERNETES.get(minor(version))
    if known is None:
        oldest = min(AKS_KUBERNETES, key=_key)
        if _key(version) < _key(oldest):
            known = AKS_KUBERNETES[oldest]
        else:
            return None
    return known.lts_end_of_life if long_term_support else known.end_of_life


def cluster_creation_problem(version: str, long_term_support: bool, today: date) -> str | None:
    """Why AKS would not create a cluster on `version` today, or None."""
    end = kubernetes_end(version, long_term_support)
    supported = ", ".join(v for v in sorted(AKS_KUBERNETES, key=_key)
                          if today <= AKS_KUBERNETES[v].end_of_life)
    if end is None:
        # Newer than the release calendar: AKS creates clusters only on the minors it lists (`az aks
        # get-versions`); `9.99` or a minor not yet released would fail at deploy. The table is updated
        # when AKS announces a minor.
        return (f"Kubernetes {minor(version)} is newer than every version in AKS's release calendar as "
                f"mldeploy's dated table has it: use one of {supported} ({AKS_SOURCE}, as of {AS_OF.isoformat()}; "
                "a newly released minor: add it to mldeploy/plan/versions.py AKS_KUBERNETES)")
    if today <= end:
        return None
    plan = "long-term support" if long_term_support else "support"
    lts_hint = "" if long_term_support else (
        f" (with longTermSupport and tier Premium until {kubernetes_end(version, True)})"
        if today <= (kubernetes_end(version, True) or today) else "")
    return (f"Kubernetes {minor(version)} left AKS {plan} on {end.isoformat()}{lts_hint}: AKS creates no "
            f"cluster on it; use one of {supported} ({AKS_SOURCE}, as of {AS_OF.isoformat()})")


def iot_edge_end(version: str) -> date | None:
    return IOT_EDGE_RUNTIME.get(minor(version))


def stack_warnings(settings, today: date) -> list[str]:
    """What a stack relies on that is past its date (or unknown to the table): one line each,
    naming the key. Refusals (creating a cluster on an ended version) happen at load
    (plan/cluster_check.py, run by plan/stack.py); a target's own dated values are its row's
    warnings (the IoT Edge runtime: mldeploy/targets/edge/checks.py)."""
    warnings = []
    for name, cluster in sorted(settings.clusters.items()):
        if cluster.attach is None:
            continue
        end = kubernetes_end(cluster.min_kubernetes_version)
        if end is not None and today > end:
            warnings.append(
                f"mldeploy:clusters.{name}.minKubernetesVersion: {cluster.min_kubernetes_version} accepts an "
                f"attached cluster on a Kubernetes version AKS stopped supporting on {end.isoformat()}; raise it "
                f"({AKS_SOURCE}, as of {AS_OF.isoformat()})")
    return warnings


def iot_edge_runtime_problem(version: str) -> str | None:
    """Why `version` names no IoT Edge runtime release of the table, or None. The devices pull
    mcr.microsoft.com/azureiotedge-agent:<version> and azureiotedge-hub:<version>: a version that was never
    released (`9.9`) is an image no device can pull, so the deployment would never start."""
    if iot_edge_end(version) is not None:
        return None
    return (f"IoT Edge runtime {version} is not a release mldeploy's dated table knows: use one of "
            f"{', '.join(sorted(IOT_EDGE_RUNTIME, key=_key))} ({IOT_EDGE_SOURCE}, as of {AS_OF.isoformat()}; a newer "
            "release: add it to mldeploy/plan/versions.py IOT_EDGE_RUNTIME)")


def iot_edge_runtime_warning(key: str, version: str, today: date) -> str | None:
    """The line for an IoT Edge runtime `version` (set at `key`) past its date, or None (a version
    unknown to the table is refused at load: iot_edge_runtime_problem)."""
    end = iot_edge_end(version)
    if end is None:
        return None
    if today > end:
        newest = max(IOT_EDGE_RUNTIME, key=_key)
        return (f"{key}: IoT Edge runtime {version} left support on {end.isoformat()}; "
                f"use {newest} (supported until {IOT_EDGE_RUNTIME[newest].isoformat()}; "
                f"{IOT_EDGE_SOURCE}, as of {AS_OF.isoformat()})")
    return None
