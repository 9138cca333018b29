"""The aks row's load-time checks: the rules one AKS service must hold that need the stack (is it
production, which namespaces and clusters the other services use) but no Azure. Run once per
service by the one load entry (mldeploy/targets/stack.py), before anything is declared; the FPGA
target (an AKS service on its own pool) runs the namespace, exposure and service rules
(targets/fpga/plan.py check), not the extension-namespace or node-size ones."""
from __future__ import annotations

from mldeploy import PROJECT
from mldeploy.config.errors import ConfigError
from mldeploy.plan.clouds import cloudapp_zones
from mldeploy.plan.cluster_check import allocatable_cpu_milli, node_cpu_words, node_memory_gib, node_vcpus
from mldeploy.plan.kubernetes_compute import EXTENSION_NAMESPACE
from mldeploy.plan.tls import tls_on
from mldeploy.plan.workload import COLLECTOR_CPU_CORES, COLLECTOR_MEMORY_MB, GATEWAY_CPU_CORES, GATEWAY_MEMORY_MB
from mldeploy.targets.aks.settings import AksServiceSettings

# Namespaces Kubernetes and AKS own: `kube-` is reserved for Kubernetes system namespaces
# (kubernetes.io/docs/concepts/overview/working-with-objects/namespaces: "Avoid creating
# namespaces with the prefix kube-"), `default` already exists, and AKS add-ons run in these.
# The Istio add-on's gateways run in aks-istio-ingress/-egress (AKS docs "Istio-based service
# mesh add-on"), the GitOps (Flux) extension in flux-system; Dapr's control plane (the AKS Dapr
# extension's too) in dapr-system, open-source Istio's in istio-system, Azure Arc's agents in azure-arc.
SYSTEM_NAMESPACES = {"default", "gatekeeper-system", "calico-system", "tigera-operator",
                     "app-routing-system", "aks-istio-system", "aks-istio-ingress", "aks-istio-egress",
                     "aks-command", "cert-manager", "flux-system", "dapr-system", "istio-system", "azure-arc"}


def check(name: str, service: AksServiceSettings, stack) -> None:
    """Everything the aks row checks at load, in this order."""
    check_namespace(name, service, stack)
    check_extension_namespace(name, service, stack)
    check_exposure(name, service)  # a canary that is a promotion, a host name nothing answers
    check_service(name, service, stack.production)  # TLS that can be issued, replicas
    check_pod_fits_node(name, service, stack)


def check_namespace(name: str, service: AksServiceSettings, stack) -> None:
    """mldeploy creates and owns the service's namespace on its cluster: not one Kubernetes or AKS
    owns, not another service's - neither an AKS service's (the later by name is refused) nor the
    one another service's pods run in without owning it (an Azure ML compute namespace)."""
    p = f"{PROJECT}:"
    key = f"{p}services.{name}.namespace" if service.namespace else f"{p}services.{name}"
    namespace = service.namespace or name
    if namespace.startswith("kube-") or namespace in SYSTEM_NAMESPACES:
        raise ConfigError(key, f"namespace {namespace!r} belongs to Kubernetes or AKS (kube-*, "
                               f"{', '.join(sorted(SYSTEM_NAMESPACES))}); mldeploy creates the "
                               "service's own namespace: choose another")
    for other, entry in sorted(stack.services.items()):
        if entry.attached_compute() == (service.cluster, namespace):
            raise ConfigError(key, f"namespace {namespace!r} is the Azure ML extension's compute namespace of "
                                   f"{entry.target} service {other!r} on cluster {service.cluster!r}; "
                                   "mldeploy creates and owns the AKS service's namespace: choose another")
    for other, entry in sorted(stack.services.items()):
        if other >= name:
            return
        if isinstance(entry, AksServiceSettings) and (entry.cluster, entry.namespace or other) == \
                (service.cluster, namespace):
            raise ConfigError(key, f"namespace {namespace!r} is also service {other!r}'s on cluster "
                                   f"{service.cluster!r}; each service gets its own namespace")


def check_extension_namespace(name: str, service: AksServiceSettings, stack) -> None:
    """A cluster that serves a kubernetes-endpoint service runs the Azure ML extension, whose release
    namespace is `azureml` (plan/kubernetes_compute.py EXTENSION_NAMESPACE) whatever compute namespace
    the endpoint uses: an AKS service there would take the extension's namespace as its own (and
    delete it with the service)."""
    namespace = service.namespace or name
    if namespace != EXTENSION_NAMESPACE:
        return
    users = sorted(other for other, entry in stack.services.items()
                   if (entry.attached_compute() or (None,))[0] == service.cluster)
    if users:
        key = f"{PROJECT}:services.{name}.namespace" if service.namespace else f"{PROJECT}:services.{name}"
        raise ConfigError(key, f"namespace {namespace!r} is where the Azure ML extension runs on cluster "
                               f"{service.cluster!r} (installed for {users[0]}); mldeploy creates and owns the AKS "
                               "service's namespace: choose another")


def check_exposure(name: str, service: AksServiceSettings) -> None:
    """A canary takes a share of the traffic, not all of it; a hostName needs an address outside the cluster."""
    key = f"{PROJECT}:services.{name}"
    if service.canary is not None and service.canary.traffic_percent == 100:
        # At 100 % the stable Deployment keeps its pods (and their cost) at weight 0 while `image`
        # no longer says what serves: that is a promotion, which mldeploy writes as `image`.
        raise ConfigError(f"{key}.canary.trafficPercent", "100: a canary taking all the traffic is a promotion; "
                          f"set image: {service.canary.image} and remove canary (or keep the canary below 100)")
    if service.host_name is not None and service.service_type == "ClusterIP":
        # A ClusterIP Service has a cluster-internal address only (kubernetes.io, "Service type
        # ClusterIP: exposes the Service on a cluster-internal IP"); mldeploy creates no Ingress,
        # so no DNS name outside the cluster can reach it, and certManager's DNS-01 would certify
        # a name that serves nothing.
        raise ConfigError(f"{key}.hostName", f"{service.host_name} on serviceType ClusterIP: the service has only a "
                          "cluster-internal address, so no host name outside the cluster reaches it; use "
                          "serviceType LoadBalancer, or remove hostName")


def check_pod_fits_node(name: str, service: AksServiceSettings, stack) -> None:
    """A pod asks for its CPU (scorer + gateway, + the model-data collector) on one node: a request
    above a node's allocatable CPU (its vCPUs less AKS's kube-reserved CPU) is never scheduled
    (Kubernetes schedules a pod onto a single node whose allocatable CPU covers its requests), so
    the rollout would hang in Pending. Checked on clusters the stack creates with a known VM size
    (plan/cluster_check.py node_vcpus, allocatable_cpu_milli)."""
    cluster = stack.clusters.get(service.cluster)
    vcpus = node_vcpus(cluster)
    if vcpus is not None:
        _check_pod_cpu(name, service, cluster, vcpus)
    _check_pod_memory(name, service, cluster)


def _check_pod_cpu(name: str, service: AksServiceSettings, cluster, vcpus: int) -> None:
    """The pod's CPU requests as rendered (mldeploy/render/k8s_pod.py: `<round(cores × 1000)>m` each):
    the scorer's, the gateway's and, with collectModelData, the collector's. The collector is a
    native sidecar (an init container with restartPolicy Always), and "the Pod's effective request
    ... is the sum of all non-init containers (app and sidecar containers) request" (kubernetes.io,
    concepts/workloads/pods/sidecar-containers, "Resource sharing within containers")."""
    sidecars = [("the gateway's", GATEWAY_CPU_CORES)]
    if service.collect_model_data:
        sidecars.append(("the model-data collector's", COLLECTOR_CPU_CORES))
    pod_milli = round(service.cpu_cores * 1000) + sum(round(cores * 1000) for _, cores in sidecars)
    if pod_milli > allocatable_cpu_milli(vcpus):
        parts = " + ".join(f"{who} {cores:g}" for who, cores in sidecars)
        raise ConfigError(f"{PROJECT}:services.{name}.cpuCores",
                          f"cpuCores {service.cpu_cores:g} + {parts} = {pod_milli / 1000:g} CPUs per pod, more "
                          f"than {node_cpu_words(cluster.vm_size, vcpus)}: the pod would never be "
                          "scheduled; lower cpuCores or choose a larger vmSize")


def _check_pod_memory(name: str, service: AksServiceSettings, cluster) -> None:
    """The same for memory: the pod's containers as the plan renders them (scorer + gateway, + the
    model-data collector, a native sidecar whose request counts toward the pod's, kubernetes.io
    "Sidecar containers") against a node's memory. The node's VM memory (capacity), not its
    allocatable memory: AKS's reservations depend on max pods and the node image, which the stack
    does not fix, so this refuses only what no node of the size can ever hold."""
    node_gib = node_memory_gib(cluster)
    if node_gib is None:
        return
    scorer_mb = round(service.memory_gb * 1024)  # as rendered (mldeploy/render/k8s_pod.py: `<n>Mi`)
    sidecars = [("the gateway's", GATEWAY_MEMORY_MB)]
    if service.collect_model_data:
        sidecars.append(("the model-data collector's", COLLECTOR_MEMORY_MB))
    pod_mb = scorer_mb + sum(mb for _, mb in sidecars)
    if pod_mb > node_gib * 1024:
        parts = " + ".join(f"{who} {mb} MiB" for who, mb in sidecars)
        raise ConfigError(f"{PROJECT}:services.{name}.memoryGb",
                          f"memoryGb {service.memory_gb:g} ({scorer_mb} MiB) + {parts} = {pod_mb} MiB per pod, "
                          f"more than a {cluster.vm_size} node has ({node_gib:g} GiB = {node_gib * 1024:g} MiB): "
                          "the pod would never be scheduled; lower memoryGb or choose a larger vmSize")


def check_service(name: str, s: AksServiceSettings, production: bool) -> None:
    """The service's rules that depend on whether the stack is production: TLS that can be issued,
    replicas that survive a node drain."""
    key = f"{PROJECT}:services.{name}"
    if tls_on(s, production) and s.tls is None and s.cert_manager is None:
        why = "this stack is production (mldeploy:production: true), so TLS is on" \
            if s.tls_enabled is None else "tlsEnabled is true"  # (tls/certManager would have turned it on)
        raise ConfigError(f"{key}.tls", f"{why} but no certificate is configured: set tls.certificate "
                                        "and tls.key (secrets), or certManager.issuer, or tlsEnabled: false")
    if s.cert_manager is not None:
        _check_cert_manager(key, s.host_name)
    _check_disruption_budget(key, s, production)


# Zones Azure owns: nobody else can publish the DNS-01 TXT record `_acme-challenge.<name>` there.
AZURE_OWNED_ZONES = (*("." + z for z in cloudapp_zones()), ".azurecontainer.io", ".cloudapp.net", ".trafficmanager.net",
                     ".usgovcloudapp.net", ".chinacloudapp.cn", ".usgovtrafficmanager.net", ".trafficmanager.cn")


def _check_cert_manager(key: str, host_name: str | None) -> None:
    """Refuse what cannot get a certificate. cert-manager's HTTP-01 solver is a pod + Service
    reached on port 80 of the name only through an Ingress or a Gateway API HTTPRoute it creates
    (cert-manager source, pkg/issuer/acme/http/http.go, Solver.Present: ensurePod, ensureService,
    then ensureIngress or ensureGatewayHTTPRoute, else "no Ingress nor Gateway HTTP01 solvers");
    the scoring Service is a LoadBalancer exposing only 443 and routes through neither, so
    HTTP-01 never passes. DNS-01 (cert-manager docs, "AzureDNS", and the
    "AKS + LoadBalancer + Let's Encrypt" tutorial) works with this topology, public or private,
    but needs a TXT record in the name's zone: a zone the user controls."""
    if host_name is None:
        raise ConfigError(f"{key}.hostName", "certManager needs hostName, a name in a DNS zone you control: "
                                             "<label>.<region>.cloudapp.azure.com cannot get a certificate "
                                             "(HTTP-01 needs port 80 there routed to cert-manager's solver, and "
                                             "the Service exposes only 443; DNS-01 needs control of the zone). "
                                             "Or give tls.certificate and tls.key")
    if host_name.endswith(AZURE_OWNED_ZONES):
        raise ConfigError(f"{key}.hostName", f"{host_name} is in a zone Azure owns: cert-manager's DNS-01 "
                                             "challenge cannot be answered there; use a name in your own zone")


def _check_disruption_budget(key: str, s: AksServiceSettings, production: bool) -> None:
    """A production service keeps serving through node drains and cluster upgrades: with one
    replica its PodDisruptionBudget (maxUnavailable 1) lets the drain evict the only pod - an
    outage - and any stricter budget (minAvailable 1) would block the drain for good. Kubernetes
    docs, "Specifying a Disruption Budget for your Application", single-instance case: either no
    budget and tolerate the downtime, or maxUnavailable 0 and every drain waits for a human; a
    production service wants neither, so it runs at least two replicas."""
    if not production:
        return
    which, count = (("autoscaleMinReplicas", s.autoscale_min_replicas) if s.autoscale_enabled
                    else ("numReplicas", s.replicas))
    if count < 2:
        raise ConfigError(f"{key}.{which}", f"{count} replica in a production stack: every node drain or "
                                            "cluster upgrade would evict the only pod (an outage); set 2 "
                                            "or more (the canary, if any, may stay at 1: the stable "
                                            "pods take its share while it moves)")
