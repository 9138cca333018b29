"""Decide everything about one AKS service before anything is declared: which images and
weights, how it scales, whether TLS is on and where the certificate comes from, its host name.
Pure (image references are opaque), so every rule here is tested with plain asserts; the rules
that refuse a service run when the stack loads (checks.py)."""
from __future__ import annotations

from typing import Any, Callable, Mapping

from mldeploy import PROJECT
from mldeploy.config.errors import ConfigError
from mldeploy.contract import CONTAINER_RUN_DIR, CONTAINER_TLS_DIR, GATEWAY_PORT, KEYS_MAP_NAME, POD_KEYS_DIR, SCORER_PORT
from mldeploy.plan.clouds import cloudapp_zone
from mldeploy.plan.aks import ImageFacts, ServicePlan
from mldeploy.plan.gateway import LOCAL_SCORER, GatewaySpec, TlsFiles, Upstream, service_gateway
from mldeploy.plan.memory import body_limit_mb
from mldeploy.plan.naming import dns_part, hash_suffix
from mldeploy.plan.tags import service_markers
from mldeploy.plan.tls import tls_on
from mldeploy.plan.workload import (GATEWAY_CPU_CORES, CertificateRequest, Placement, Scaling, Variant, WorkloadPlan,
                                    scorer_host, traffic_file)
from mldeploy.plan.scorer import UNBATCHED, WorkerLoad, scorer_workers, user_env
from mldeploy.targets.aks.settings import AksServiceSettings


def default_dns_label(service: str, stack: str, resource_group: str) -> str:
    """Azure DNS labels are unique per region across all customers: a stable hash suffix."""
    return f"{service}-{dns_part(stack)}"[:56].rstrip("-") + f"-{hash_suffix(stack, resource_group, service)}"


def plan_service(name: str, s: AksServiceSettings, *, stack: str, production: bool, location: str, cloud: str = "public",
                 resource_group: str, images: Mapping[str, ImageFacts],
                 workspace_name: Any = "", sidecar_ref: Callable[[str], Any] = str,
                 placement: Placement = Placement(), load: WorkerLoad = UNBATCHED) -> ServicePlan:
    """The service's WorkloadPlan, or a ConfigError naming the key that makes it impossible.
    `sidecar_ref` turns a public image (gateway, collector) into what the pod pulls; `placement`
    is where its pods run (an FPGA pool: mldeploy/targets/fpga/plan.py); `load`: how its image's scorer
    workers take requests (plan/batching.py service_load)."""
    key = f"{PROJECT}:services.{name}"
    variants = [_variant("stable", s.image, images, f"{key}.image",
                         100 - (s.canary.traffic_percent if s.canary else 0), s.environment_variables)]
    if s.canary is not None:
        variants.append(_variant("canary", s.canary.image, images, f"{key}.canary.image",
                                 s.canary.traffic_percent, s.environment_variables))

    # check_service ran when the stack was loaded (checks.py, the aks row's check): TLS that can be issued, replicas.
    tls = tls_on(s, production)
    dns_label = s.dns_label
    if s.service_type == "LoadBalancer" and not s.internal_load_balancer and dns_label is None:
        dns_label = default_dns_label(name, stack, resource_group)
    lb_host = f"{dns_label}.{location}.{cloudapp_zone(cloud)}" if dns_label and s.service_type == "LoadBalancer" else None
    host = s.host_name
    if host is None and s.service_type == "ClusterIP":
        host = f"{name}.{s.namespace or name}.svc.cluster.local"
    elif host is None:
        host = lb_host

    scaling = Scaling(autoscale=s.autoscale_enabled, min_replicas=s.autoscale_min_replicas,
                      max_replicas=s.autoscale_max_replicas,
                      target_utilization=s.autoscale_target_utilization, replicas=s.replicas)
    workload = WorkloadPlan(
        service=name,
        namespace=s.namespace or name,
        variants=tuple(variants),
        scaling=scaling,
        cpu_cores=s.cpu_cores,
        memory_gb=s.memory_gb,
        # replicaMaxConcurrentRequests requests per pod: one per worker, or a batch per worker.
        scorer_workers=scorer_workers(s, load),
        scoring_timeout_ms=s.scoring_timeout_ms,
        max_body_mb=body_limit_mb(s, load),
        gateway_image=sidecar_ref(s.gateway_image),
        tls=tls,
        auth=s.auth_enabled,
        service_type=s.service_type,
        internal_load_balancer=s.internal_load_balancer,
        dns_label=dns_label if s.service_type == "LoadBalancer" else None,
        app_insights=s.app_insights_enabled,
        collect_model_data=s.collect_model_data,
        collector_image=sidecar_ref(s.collector_image) if s.collect_model_data else None,
        workspace_name=workspace_name,
        markers=tuple(service_markers(name, auth_enabled=s.auth_enabled, tls_enabled=tls).items()),
        placement=placement,
        # check_service (checks.py) made sure hostName is set with certManager.
        certificate=CertificateRequest(host=s.host_name, secret_name=f"{name}-tls", issuer=s.cert_manager.issuer,
                                       issuer_kind=s.cert_manager.issuer_kind) if s.cert_manager else None,
        scorer_load=load,
    )
    gateways = {v.name: _gateway(s, workload, v) for v in workload.variants}
    return ServicePlan(workload, host, gateways, lb_host)


def gateway_upstreams(plan: WorkloadPlan, variant: Variant) -> tuple[Upstream, ...]:
    """The scorers a pod's gateway sends to. With a canary every pod splits by the weights (its
    own scorer on loopback, the other variant's through its ClusterIP Service), so the overall
    split is exactly the configured one, whatever the replica counts."""
    if not plan.canary:
        return LOCAL_SCORER
    out = []
    for other in plan.variants:
        host = "127.0.0.1" if other.name == variant.name else scorer_host(plan, other)
        out.append(Upstream(host, SCORER_PORT, other.weight))
    return tuple(out)


def _gateway(s: AksServiceSettings, plan: WorkloadPlan, variant: Variant) -> GatewaySpec:
    """The gateway of one variant's pods, at the paths the pod mounts (render/k8s_pod.py).
    Certificate files from the settings, or from cert-manager (the same two files in its
    Secret): cert-manager renews into the same Secret; the kubelet updates the mounted files in
    place (Kubernetes docs, "Secrets": mounted Secrets are updated, subPath mounts are not -
    this is a whole-volume mount), and nginx reads them at each handshake."""
    # The plan's one TLS decision (plan/tls.py): ssl exactly when the pods mount the certificate
    # (render/k8s.py) and the Service exposes 443 - never one without the other.
    return service_gateway(
        s, run_dir=CONTAINER_RUN_DIR, listen_port=GATEWAY_PORT, upstreams=gateway_upstreams(plan, variant),
        keys_file=f"{POD_KEYS_DIR}/{KEYS_MAP_NAME}",
        tls=TlsFiles.in_dir(CONTAINER_TLS_DIR, reload=s.tls is None) if plan.tls else None,
        access_log="/dev/stdout", cpu_cores=GATEWAY_CPU_CORES, load=plan.scorer_load,
        # Azure ML's AKS services answer 503 once a replica runs this many requests: "The number of
        # maximum concurrent requests per replica to allow for this Webservice. Defaults to 1."
        # (azureml-core AksServiceDeploymentConfiguration, replica_max_concurrent_requests). With
        # batching it stays the count of requests, not of workers: the pod runs fewer workers
        # (scorer_workers), each taking a batch, and the cap is what the platform would send.
        max_conns=s.replica_max_concurrent_requests,
        # With a canary the weights live in the service's traffic ConfigMap, not in nginx.conf:
        # moving them rolls no pod (render/k8s.py mounts it; the gateway reloads on a change).
        upstreams_file=traffic_file(variant) if plan.canary else None,
    )


def _variant(name: str, image: str, images: Mapping[str, ImageFacts], key: str, weight: int,
             service_env: Mapping[str, str]) -> Variant:
    # Loading refuses a dangling image already (config/references.py); plan_service is also
    # called on its own (tests, tools), so it keeps its own refusal.
    if image not in images:
        known = ", ".join(sorted(images)) or "none"
        raise ConfigError(key, f"refers to image {image!r}, which does not exist; known: {known}")
    facts = images[image]
    # Each variant's scorer runs its own image's environment (a canary's new image may set another), then the service's.
    return Variant(name=name, image=facts.ref, image_tag=facts.tag, models=facts.models, weight=weight,
                   env=user_env(dict(facts.env), service_env))
