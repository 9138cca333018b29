"""`target: containerapp`'s stack-file model: a scoring service on Azure Container Apps.

Every key reads as the Container Apps API names it (azure-rest-api-specs, specification/app/
resource-manager/Microsoft.App/stable/2025-07-01: ContainerApps.json, CommonDefinitions.json,
ManagedEnvironments.json); each limit below cites where it comes from. Checks that need several
keys at once (traffic sums, labels on images, production) run in this package's `check`."""
from __future__ import annotations

from functools import cache
from typing import Annotated, ClassVar, Literal, Mapping

from publicsuffixlist import PublicSuffixList
from pydantic import Field, field_validator, model_validator

from mldeploy.config.base import Settings
from mldeploy.config.service import ServiceSettings, TlsSettings
from mldeploy.contract import GATEWAY_IMAGE

# Serverless GPU profile types (workloadProfileType) Microsoft documents for a Consumption
# environment (MicrosoftDocs/azure-docs, articles/container-apps/gpu-serverless-overview.md and
# workload-profiles-overview.md: "Consumption-GPU-NC8as-T4", "Consumption-GPU-NC24-A100"), next to
# the default "Consumption" profile every workload-profiles environment has.
CONSUMPTION = "Consumption"
# The most one replica of a serverless GPU profile gets, CPU cores and GiB: "Consumption-GPU-NC24-A100,
# Consumption-GPU-NC8as-T4 | 8-24 | 56-220 GiB | NVIDIA T4, A100 | ... | per replica" (MicrosoftDocs/
# azure-docs, articles/container-apps/workload-profiles-overview.md, "Consumption profile details",
# ms.date 11/04/2025): the T4 profile is an NC8as_T4_v3 (8 vCPUs, 56 GiB), the A100 an NC24ads_A100_v4.
GPU_REPLICA_MAX = {"Consumption-GPU-NC8as-T4": (8, 56), "Consumption-GPU-NC24-A100": (24, 220)}
# Azure's own environment domain (`<app>.<unique>.<region>.azurecontainerapps.io`): a custom domain is
# validated by a TXT record `asuid.<domain>` and a CNAME (or A record) in a DNS zone you manage
# ("Add a custom domain": MicrosoftDocs/azure-docs, articles/container-apps/custom-domains-managed-certificates.md),
# which no one outside Microsoft can add under this domain, nor under Azure's other service domains; the app
# already has HTTPS on its own name.
AZURE_APP_DOMAIN = "azurecontainerapps.io"
AZURE_DOMAINS = (AZURE_APP_DOMAIN, "azurecontainer.io", "azurewebsites.net", "azure.com", "azure.net", "windows.net",
                 "cloudapp.net", "trafficmanager.net", "azurefd.net", "azureedge.net", "azure-api.net")

# A Consumption replica's CPU and memory (the total of all its containers) must be one of
# 0.25 / 0.5Gi ... 4.0 / 8.0Gi in 0.25-core steps, memory twice the cores (MicrosoftDocs/azure-docs,
# articles/container-apps/containers.md, "allocations": Consumption workload profile column).
CPU_STEP = 0.25
MAX_CONSUMPTION_CPU = 4.0

# Replicas per revision: minimum 0-1000, maximum 1-1000, default max 10 (MicrosoftDocs/azure-docs,
# articles/container-apps/scale-app.md, "Scale definition"; CommonDefinitions.json Scale.maxReplicas
# "Defaults to 10").
MAX_REPLICAS = 1000

# The gateway container's share of a replica: the smallest Consumption unit (0.25 cores, 0.5 GiB;
# containers.md "allocations"), so the scorer keeps the rest in whole steps.
GATEWAY_CPU = 0.25
GATEWAY_MEMORY_GI = 0.5

RevisionLabel = Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{0,30}[a-z0-9]$")]
"""A revision label: it becomes part of the label's own host name (`<app>---<label>.<domain>`,
MicrosoftDocs blue-green-deployment.md), so DNS-label characters only."""


@cache
def _suffix_list() -> PublicSuffixList:
    # The list publicsuffixlist ships (its public_suffix_list.dat, dated by the package's version, pinned in
    # constraints.txt): read offline, never fetched. ~0.13 s to parse, so only once a customDomain is checked.
    return PublicSuffixList()


def registrable_domain(host: str) -> str | None:
    """The domain registered under `host`'s public suffix - the apex of its DNS zone (`score.contoso.co.uk`:
    `contoso.co.uk`); None when `host` is itself a public suffix (`co.uk`). The Public Suffix List's private
    section counts too: `foo.eu.org` is the apex of its registrant's zone."""
    return _suffix_list().privatesuffix(host)


def public_suffix(host: str) -> str:
    """`host`'s longest public suffix (`score.contoso.co.uk`: `co.uk`)."""
    return _suffix_list().publicsuffix(host)


class RevisionSettings(Settings):
    """One labelled revision: which image it runs and its share of the app's traffic."""

    image: str = Field(description="name of an entry in `images`: the model version this revision serves")
    traffic_percent: int = Field(0, ge=0, le=100, description="share of the app's traffic (TrafficWeight.weight); "
                                 "all revisions sum to 100")


# SDK v1's AksWebservice.deploy_configuration keys (camelCase, as a stack writes them) a user moving a v1 AKS
# service here brings along: where Container Apps has each (scaling is by HTTP concurrency, not CPU).
V1_AKS_KEYS: dict[str, str] = {
    "autoscaleEnabled": "a container app always scales, between minReplicas and maxReplicas, on concurrent "
                        "HTTP requests",
    "autoscaleMinReplicas": "Container Apps calls it minReplicas (0 scales to zero)",
    "autoscaleMaxReplicas": "Container Apps calls it maxReplicas",
    "autoscaleTargetUtilization": "a container app scales on concurrent HTTP requests (one per scorer worker: "
                                  "workerCount), not on CPU utilization; there is no target to set",
    "numReplicas": "a fixed count is minReplicas and maxReplicas set alike",
    "replicaMaxConcurrentRequests": "a replica takes one request per scorer worker: set workerCount",
    "collectModelData": "not offered on containerapp: model data collection is on aks (its collector sidecar) "
                        "and on the v2 endpoints (managed, kubernetes-endpoint: the data collector)",
    "enableAppInsights": "spelt appInsightsEnabled",
}


class ContainerAppServiceSettings(ServiceSettings):
    """Azure Container Apps: scale to zero, HTTP concurrency scaling, traffic split by revision label."""

    moved_keys: ClassVar[Mapping[str, str]] = V1_AKS_KEYS

    target: Literal["containerapp"] = Field(description="`containerapp`: Azure Container Apps (scale to zero, "
                                            "revisions with a traffic split)")
    image: str = Field(description="name of an entry in `images`: what the app's template runs, i.e. the revision "
                       "this run creates or keeps (Microsoft's blue/green `latestCommitId`)")
    cpu_cores: float = Field(1.0, gt=0, le=64, description="CPU cores of one replica, gateway included (Consumption: "
                             "0.5-4 in steps of 0.25)")
    memory_gb: float = Field(2.0, gt=0, le=256, description="memory (GiB) of one replica, gateway included "
                             "(Consumption: exactly twice cpuCores)")
    tls: TlsSettings | None = Field(None, description="refused: Container Apps ingress serves HTTPS itself "
                                    "(see customDomain)")
    min_replicas: int = Field(0, ge=0, le=MAX_REPLICAS, description="fewest replicas per revision; 0 scales to zero "
                              "when idle (refused in production stacks: the first request waits for a cold start)")
    max_replicas: int = Field(10, ge=1, le=MAX_REPLICAS, description="most replicas per revision (Azure's default 10)")
    workload_profile: Literal["Consumption", "Consumption-GPU-NC8as-T4", "Consumption-GPU-NC24-A100"] = Field(
        CONSUMPTION, description="the environment's workload profile the app runs on: `Consumption` or a serverless "
        "GPU profile by its type name")
    custom_domain: str | None = Field(
        None, max_length=253, pattern=r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$",
        description="your own host name (`score.example.com`; a subdomain: an apex such as `example.com` is "
        "refused, its certificate would need HTTP validation), served with a free managed certificate (its "
        "CNAME must point at the app); omitted: the app's `<app>.<environment domain>` name, HTTPS as well")
    revisions: dict[RevisionLabel, RevisionSettings] | None = Field(
        None, description="traffic by revision label (blue/green across model versions); one label runs `image`, "
        "the others name revisions an earlier run created; omitted: all traffic to the one revision of `image`")

    def mirror_claims(self) -> list[tuple[str, str]]:
        return [("", GATEWAY_IMAGE)]  # the gateway container (targets/containerapp/program.py)

    def host_name_claim(self) -> tuple[str, str] | None:
        # Its own host name is a name clients use, like an AKS service's hostName: one name, one service.
        return None if self.custom_domain is None else ("customDomain", self.custom_domain)

    @property
    def tag_image(self) -> str | None:
        """With revisions the app splits traffic between model versions: its resources name none
        (as an online endpoint's); else the one image's model."""
        return self.image if self.revisions is None else None

    @property
    def ingress_serves_https(self) -> bool:
        """Container Apps ingress terminates TLS and redirects HTTP (the plan's `allowInsecure: false`)."""
        return True

    def images_built(self) -> set[str]:
        """The template's image and every labelled revision's (content-addressed: an unchanged one
        is not rebuilt)."""
        return {self.image, *(rev.image for rev in (self.revisions or {}).values())}

    @property
    def scorer_memory_gb(self) -> float:
        """The scorer's container: the replica's memory less the gateway's 0.5 GiB."""
        return self.memory_gb - GATEWAY_MEMORY_GI

    def default_workers(self, requests_per_worker: int = 1) -> int:
        """One scorer worker per whole core left beside the gateway (at least one)."""
        return max(1, int(self.cpu_cores - GATEWAY_CPU))

    @model_validator(mode="after")
    def _replicas(self):
        if self.min_replicas > self.max_replicas:
            raise ValueError(f"minReplicas ({self.min_replicas}) must be <= maxReplicas ({self.max_replicas})")
        return self

    @model_validator(mode="after")
    def _ingress_serves_tls(self):
        if self.tls is not None:
            raise ValueError("tls does not apply to containerapp: Container Apps ingress serves HTTPS itself "
                             "(`<app>.<environment domain>`); set customDomain for your own host name and a "
                             "managed certificate")
        return self

    @field_validator("custom_domain")
    @classmethod
    def _own_domain(cls, domain: str | None) -> str | None:
        owner = next((d for d in AZURE_DOMAINS if domain is not None and (domain == d or domain.endswith("." + d))), None)
        if owner is not None:
            raise ValueError(f"{domain!r} is under {owner}, a domain Azure owns: "
                             "a custom domain is validated by TXT and CNAME records in a DNS zone you manage; omit customDomain "
                             "to serve on the app's own <app>.<environment domain> name (HTTPS as well)")
        # Microsoft: an apex domain ("at the root level of your domain", e.g. contoso.com) takes an A record and
        # HTTP validation, a subdomain a CNAME and CNAME validation (MicrosoftDocs/azure-docs@092f38ca
        # articles/container-apps/custom-domains-managed-certificates.md, ms.date 2026-01-28). mldeploy's managed
        # certificate is validated by CNAME (components/containerapp.py `_certificate`), and DNS allows no CNAME
        # at a zone's apex, so an apex name never gets its certificate: pulumi up waits on it and fails.
        if domain is not None:
            apex = registrable_domain(domain)
            if apex is None:
                raise ValueError(f"{domain!r} is a public suffix (Public Suffix List), under which anyone registers "
                                 "domains, not a domain of yours: use a subdomain of a domain you own, such as "
                                 f"score.contoso.{domain}")
            if apex == domain:
                raise ValueError(f"{domain!r} is an apex domain (the name registered under the public suffix "
                                 f"{public_suffix(domain)!r}): "
                                 "Container Apps validates an apex by an A record and HTTP, a subdomain by CNAME, and "
                                 f"mldeploy's managed certificate is validated by CNAME: use a subdomain such as score.{domain}")
        return domain

    @model_validator(mode="after")
    def _gpu_replica_size(self):
        if self.workload_profile in GPU_REPLICA_MAX:
            cores, memory = GPU_REPLICA_MAX[self.workload_profile]
            if self.cpu_cores > cores or self.memory_gb > memory:
                raise ValueError(f"cpuCores {self.cpu_cores:g} with memoryGb {self.memory_gb:g} is more than one replica "
                                 f"of workloadProfile {self.workload_profile} gets: at most {cores} cores and {memory} GiB "
                                 "(Microsoft's workload profiles page)")
        return self

    @model_validator(mode="after")
    def _resources(self):
        # The gateway container takes its share (GATEWAY_CPU / GATEWAY_MEMORY_GI) of the replica.
        if self.cpu_cores < 0.5 or self.memory_gb < 1.0:
            raise ValueError(f"cpuCores ({self.cpu_cores:g}) must be >= 0.5 and memoryGb ({self.memory_gb:g}) >= 1.0 on "
                             "containerapp: the replica also runs the gateway (0.25 cores, 0.5 GiB)")
        if self.workload_profile == CONSUMPTION:
            steps = self.cpu_cores / CPU_STEP
            if self.cpu_cores > MAX_CONSUMPTION_CPU or steps != int(steps) or self.memory_gb != 2 * self.cpu_cores:
                raise ValueError(
                    f"cpuCores {self.cpu_cores:g} with memoryGb {self.memory_gb:g} is not a Consumption replica size: "
                    f"cores 0.5-{MAX_CONSUMPTION_CPU:g} in steps of {CPU_STEP:g}, memory exactly twice the cores "
                    f"(e.g. cpuCores 1, memoryGb 2); larger scorers need a GPU workloadProfile or AKS")
        return self
