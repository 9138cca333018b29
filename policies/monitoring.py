"""Production services are observable: every scoring service of a production stack sends its
requests, failures and latencies to Application Insights (the guide's `enable_app_insights` for
AKS; `appInsightsEnabled` on v2 online deployments), so an incident has something to read.

Model data collection (request and response payloads) is deliberately not required: it stores
the inputs, which may be personal data, and whether to keep them is the owner's call.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping

from pulumi_policy import Policy, StackValidationPolicy

from mldeploy.plan.tags import SERVICE_TAG
from mldeploy.policies import config
from mldeploy.policies.reading import ACI, CONTAINER_APP, containers, get, is_workload, opaque, plain, tags_of

Report = Callable[..., None]

ONLINE_DEPLOYMENT = "azure-native:machinelearningservices:OnlineDeployment"
# The scoring server's switch (azureml-inference-server-http: AML_APP_INSIGHTS_ENABLED, with the
# key or connection string beside it), which mldeploy sets on the scorer container.
APP_INSIGHTS_FLAG = "AML_APP_INSIGHTS_ENABLED"


def _flag(resource_type: str, container: Mapping[str, Any]) -> Any:
    """The container's AML_APP_INSIGHTS_ENABLED value (None when unset)."""
    variables = container.get("environmentVariables" if resource_type == ACI else "env")
    for var in variables if isinstance(variables, list) else []:
        if isinstance(var, Mapping) and var.get("name") == APP_INSIGHTS_FLAG:
            return var.get("value")
    return None


def production_app_insights(args, report: Report) -> None:
    stack, production = config.production("production-app-insights", args)
    if not production:
        return
    fix = "set appInsightsEnabled: true on the service"
    for r in args.resources:
        service = tags_of(r.props).get(SERVICE_TAG)
        if service is None:
            continue
        props = plain(r.props)
        if r.resource_type == ONLINE_DEPLOYMENT:
            on = get(props, "properties", "appInsightsEnabled")
            if not opaque(on) and on is not True:
                report(f"service {service!r}: online deployment {r.name} has appInsightsEnabled {on} in production "
                       f"stack {stack!r}: its requests and failures are not recorded; {fix}", r.urn)
        elif is_workload(r.resource_type) or r.resource_type == CONTAINER_APP:
            flags = [_flag(r.resource_type, c) for _, c in containers(r.resource_type, props)]
            if any(opaque(f) for f in flags) or not flags:
                continue
            if not any(str(f).lower() == "true" for f in flags):
                report(f"service {service!r}: no container of {r.name} sends telemetry to Application Insights "
                       f"({APP_INSIGHTS_FLAG} is not true) in production stack {stack!r}; {fix}", r.urn)


POLICIES: list[Policy] = [
    StackValidationPolicy(
        name="production-app-insights", validate=production_app_insights,
        description="In production, every scoring service sends its telemetry to Application Insights."),
]
