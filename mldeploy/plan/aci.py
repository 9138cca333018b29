"""What an ACI service's plan says, as AciService (components/aci.py) takes it: the group's
containers, their resources, probes and the gateway. The decisions are the aci target's
(mldeploy/targets/aci/plan.py); these types sit here, below components/, because the component
takes them."""
from __future__ import annotations

from dataclasses import dataclass

from mldeploy.plan.gateway import FrontedByGateway, GatewaySpec
from mldeploy.plan.timeouts import PROBE_PERIOD_S, PROBE_TIMEOUT_S

# The scorer serves on after a stop signal until the gateway on this port has finished
# (scoring/scorer_host.py reads the same name).
DRAIN_GATEWAY_PORT_ENV = "MLDEPLOY_DRAIN_GATEWAY_PORT"


@dataclass(frozen=True)
class Resources:
    """One container's request in the group."""

    cpu: float
    memory_gb: float


@dataclass(frozen=True)
class Probe:
    """An HTTP probe of one container. `scheme` is ContainerHttpGet.scheme's lower-case enum
    ("http" | "https": azure-rest-api-specs, specification/containerinstance, containerInstance.json)."""

    path: str
    port: int
    scheme: str
    initial_delay_s: int
    failure_threshold: int
    period_s: int = PROBE_PERIOD_S
    timeout_s: int = PROBE_TIMEOUT_S


@dataclass(frozen=True)
class AciPlan(FrontedByGateway):
    """One ACI service as AciService declares it: a group of scorer + gateway."""

    component: str  # the AciService's name; its children are named from it
    dns_name_label: str
    scheme: str  # of the public URIs and of the gateway's probes
    gateway_port: int  # the group's only public port
    scorer: Resources
    gateway_resources: Resources
    scorer_env: tuple[tuple[str, str], ...]
    app_insights: bool
    scorer_liveness: Probe
    scorer_readiness: Probe
    gateway_liveness: Probe
    gateway_readiness: Probe
    gateway: GatewaySpec
    # The stack's environmentVariables (image, then service), last in the scorer's env: adding one
    # appends to the list, so a diff shows the new variable and leaves the others' places alone.
    user_env: tuple[tuple[str, str], ...] = ()
