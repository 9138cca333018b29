"""Issue 24's "Azure's naming and size rules" cases (helper `h24names`), part of the corpus's `semantic`
class (tests/config/bad_stacks.py CLASSES): each exited 0 before its rule (probed with `synth` on copies
of the example stacks) and names the key it breaks; the rule's source is cited beside the rule."""
from __future__ import annotations

from typing import Any, Callable, Iterator


def names_cases() -> Iterator[Any]:
    from tests.config.bad_stacks import Case, _dump, _load

    def case(id_: str, stack: str, edit: Callable[[dict], None], key: str, fragment: str = "") -> Case:
        d = _load(stack)
        edit(d["config"])
        return Case(id_, "semantic", stack, _dump(d), key, fragment)

    s = "mldeploy:services"
    # -- a name as a value: the rule in words, not pydantic's regex (hwalk's day 2: an Azure ML style name) --
    for value in ("Churn_Model", "churn.v2", "c"):
        yield case(f"managed-registered-name-{value}", "managed",
                   lambda c, v=value: c["mldeploy:models"]["diabetes-v2"].update(registeredName=v),
                   "mldeploy:models.diabetes-v2.registeredName", "names are 2-32 lowercase letters, digits and '-'")
    # -- ACI sizes containers in tenths of a CPU and of a GB (targets/aci/settings.py ACI_STEP) ----------
    for key, value in (("cpuCores", 1.33), ("cpuCores", 2.25), ("memoryGb", 1.05), ("memoryGb", 3.75)):
        yield case(f"dev-aci-{key}-{value}-not-tenths", "dev", lambda c, k=key, v=value: c[s]["diabetes-aci"].update({k: v}),
                   f"{s}.diabetes-aci.{key}", "accurate to one decimal place")
    # -- Container Apps: a GPU profile's replica size; a customDomain under a domain Azure owns ---------
    for profile, cores, memory in (("Consumption-GPU-NC8as-T4", 16, 32), ("Consumption-GPU-NC8as-T4", 8, 64),
                                   ("Consumption-GPU-NC24-A100", 32, 64)):
        yield case(f"containerapp-{profile}-{cores}-{memory}", "containerapp", lambda c, p=profile, k=cores, m=memory:
                   c[s]["diabetes-aca"].update(workloadProfile=p, cpuCores=k, memoryGb=m), f"{s}.diabetes-aca",
                   "more than one replica")
    for domain in ("score.azurecontainerapps.io", "app.blue.westeurope.azurecontainerapps.io",
                   "score.westeurope.cloudapp.azure.com", "ml.azurewebsites.net"):
        yield case(f"containerapp-custom-domain-{domain}", "containerapp",
                   lambda c, v=domain: c[s]["diabetes-aca"].update(customDomain=v), f"{s}.diabetes-aca.customDomain",
                   "a domain Azure owns")
    # Microsoft validates an apex by A record + HTTP; mldeploy's certificate by CNAME (targets/containerapp/config.py)
    # An apex under a multi-label public suffix too (the Public Suffix List: co.uk, com.au, the private eu.org).
    for domain in ("contoso.com", "contoso.co.uk", "contoso.com.au", "contoso.eu.org"):
        yield case(f"containerapp-custom-domain-apex-{domain}", "containerapp",
                   lambda c, v=domain: c[s]["diabetes-aca"].update(customDomain=v), f"{s}.diabetes-aca.customDomain",
                   f"'{domain}' is an apex domain")
    yield case("containerapp-custom-domain-public-suffix", "containerapp",
               lambda c: c[s]["diabetes-aca"].update(customDomain="co.uk"), f"{s}.diabetes-aca.customDomain",
               "'co.uk' is a public suffix")
    # -- VM sizes by their API name, `Standard_<family><vCPUs>...` (config/cluster.py VmSize) --------------
    # Microsoft's grammar (config/cluster.py VM_SIZE_RE): nothing after the version, feature letters only.
    for size in ("Foo", "DS3_v2", "Standard_DS3_v2xxxx", "Standard_D4s_v5_", "Standard_DS3xxxx_v2", "Standard_D4s_v5-2"):
        yield case(f"batch-vm-size-{size}", "batch", lambda c, v=size: c["mldeploy:batch"]["nightly"].update(vmSize=v),
                   "mldeploy:batch.nightly.vmSize", "an Azure VM size name")
    yield case("prod-vm-size-without-standard", "prod", lambda c: c["mldeploy:clusters"]["prod"].update(
        vmSize="D8s_v5", vcpusPerNode=8), "mldeploy:clusters.prod.vmSize", "an Azure VM size name")
    yield case("prod-vm-size-junk-suffix", "prod", lambda c: c["mldeploy:clusters"]["prod"].update(
        vmSize="Standard_D8s_v5x", vcpusPerNode=8), "mldeploy:clusters.prod.vmSize", "'Standard_D8s_v5' is, then 'x'")
    # -- a kubernetes-endpoint instanceType names an InstanceType custom resource: a Kubernetes object name --
    for label, value in (("space", "Bad Type"), ("underscore", "gpu_small"), ("trailing-dot", "gpu.")):
        def instance_type(c: dict, v: str = value) -> None:
            dep = c[s]["diabetes"]["deployments"]["blue"]
            dep.pop("cpuCores"), dep.pop("memoryGb")
            dep["instanceType"] = v
        yield case(f"k8s-endpoint-instance-type-{label}", "kubernetes-endpoint", instance_type,
                   f"{s}.diabetes.deployments.blue.instanceType", "cannot name an InstanceType")
    # -- h24a: Kubernetes' CPU precision (1m) for pods mldeploy writes: AKS, FPGA, kubernetes-endpoint --------
    for stack, svc, value in (("prod", "diabetes", 0.0004), ("prod", "diabetes", 1.0005), ("fpga", "diabetes-fpga", 0.5005)):
        yield case(f"{stack}-cpu-{value}-finer-than-1m", stack, lambda c, n=svc, v=value: c[s][n].update(cpuCores=v),
                   f"{s}.{svc}.cpuCores", "finer than Kubernetes' CPU precision")
    yield case("k8s-endpoint-cpu-finer-than-1m", "kubernetes-endpoint",
               lambda c: c[s]["diabetes"]["deployments"]["blue"].update(cpuCores=0.0002),
               f"{s}.diabetes.deployments.blue.cpuCores", "finer than Kubernetes' CPU precision")
    # -- versions outside the dated table (mldeploy/plan/versions.py) ------------------------------------
    for version in ("9.9", "1.2", "2.0"):
        yield case(f"edge-runtime-{version}-unknown", "edge",
                   lambda c, v=version: c["mldeploy:edge"]["clinics"].update(runtimeVersion=v),
                   "mldeploy:edge.clinics.runtimeVersion", "use one of 1.4, 1.5, 1.6")
    for version in ("9.99", "1.38", "2.0"):
        yield case(f"prod-kubernetes-{version}-newer-than-calendar", "prod",
                   lambda c, v=version: c["mldeploy:clusters"]["prod"].update(kubernetesVersion=v),
                   "mldeploy:clusters.prod.kubernetesVersion", "newer than every version")
    # -- Azure ML's endpoint and deployment names: single dashes; Kubernetes: the two together 6-62 --------
    def renamed(section: str, old: str, new: str) -> Callable[[dict], None]:
        return lambda c: c[section].update({new: c[section].pop(old)})

    def dep_renamed(old: str, new: str) -> Callable[[dict], None]:
        return lambda c: c[s]["diabetes"]["deployments"].update({new: c[s]["diabetes"]["deployments"].pop(old)})

    yield case("managed-endpoint-name-double-dash", "managed",
               lambda c: c[s]["diabetes"].update(endpointName="diab--etes"), f"{s}.diabetes.endpointName", "'--'")
    yield case("managed-derived-endpoint-name-double-dash", "managed", renamed(s, "diabetes", "diab--etes"),
               f"{s}.diab--etes", "'--'")
    yield case("batch-derived-endpoint-name-double-dash", "batch", renamed("mldeploy:batch", "nightly", "night--ly"),
               "mldeploy:batch.night--ly", "'--'")
    yield case("managed-deployment-name-double-dash", "managed", dep_renamed("shadow", "sha--dow"),
               f"{s}.diabetes.deployments.sha--dow", "'--'")
    yield case("k8s-endpoint-deployment-name-double-dash", "kubernetes-endpoint", dep_renamed("green", "gre--en"),
               f"{s}.diabetes.deployments.gre--en", "'--'")

    def long_pair(c: dict) -> None:
        c[s]["diabetes"]["endpointName"] = "e" * 32
        dep_renamed("green", "g" * 31)(c)
    yield case("k8s-endpoint-and-deployment-names-over-62", "kubernetes-endpoint", long_pair,
               f"{s}.diabetes.deployments.{'g' * 31}", "must be 6-62")
    # -- an edge route is a property of edgeHub's module twin: IoT Hub's key, string and document limits ----
    route = "FROM /messages/modules/diabetes/outputs/* INTO $upstream"
    long_route = ("FROM /messages/modules/diabetes/outputs/* WHERE " + " OR ".join(f"x{i} = 1" for i in range(700))
                  + " INTO $upstream")
    for label, routes in (("name-over-1kb", {"r" * 1100: route}), ("route-over-4kb", {"r": long_route})):
        yield case(f"edge-route-{label}", "edge", lambda c, r=routes: c["mldeploy:edge"]["clinics"].update(routes=r),
                   "mldeploy:edge.clinics.routes", "edgeHub's module twin")
    near_4kb = route.replace(" INTO", " WHERE " + " OR ".join(f"x{i} = 1" for i in range(340)) + " INTO")
    yield case("edge-routes-over-32kb", "edge",
               lambda c: c["mldeploy:edge"]["clinics"].update(routes={f"r{i}": near_4kb for i in range(9)}),
               "mldeploy:edge.clinics.routes", "at most 32768")
    # -- Azure ML's limits per Kubernetes compute: 60 endpoints, 100 deployments (no exception) ---------------
    def many_endpoints(count: int) -> Callable[[dict], None]:
        def edit(c: dict) -> None:
            template = c[s].pop("diabetes")
            for i in range(count):
                c[s][f"ep{i:02d}"] = {**template, "deployments": dict(template["deployments"])}
        return edit
    yield case("k8s-endpoint-61-endpoints-on-one-cluster", "kubernetes-endpoint", many_endpoints(61), f"{s}.ep60",
               "at most 60 endpoints")
    yield case("k8s-endpoint-102-deployments-on-one-cluster", "kubernetes-endpoint", many_endpoints(51), f"{s}.ep50",
               "and 100 deployments")
    yield case("k8s-endpoint-memory-below-1mib", "kubernetes-endpoint",
               lambda c: c[s]["diabetes"]["deployments"]["blue"].update(memoryGb=0.0001),
               f"{s}.diabetes.deployments.blue.memoryGb", "less than 1 MiB")
