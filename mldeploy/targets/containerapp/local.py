"""`serve` of a containerapp service: its traffic split rehearsed on this machine.

As on Container Apps, each labelled revision is a replica of its own - the scorer of that
revision's image behind its own gateway - and an ingress in front splits the requests between
the revisions by their `trafficPercent`. The ingress is nginx from the one gateway renderer with
weighted upstreams (a 0 % revision is `down`). One difference, said plainly: here the ingress
checks the keys (one pair, as the app's secrets are one set for every revision) and the revisions'
gateways do not, because the renderer never passes a key on past the nginx that checked it; on
Azure each revision's gateway checks them. The client sees the same answers either way.

    runner = LocalRevisions("diabetes-aca", service, contexts, envs, run_dir, port=0)
    endpoint = runner.start()     # every revision ready, then the ingress
    runner.check()                # restarts a child that died
    runner.stop()
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Mapping

from mldeploy.contract import SCORE_PATH, SWAGGER_PATH
from mldeploy.plan.gateway import Upstream
from mldeploy.plan.scorer import user_env
from mldeploy.render.build_context import BuildContext
from mldeploy.runtime.env import ScoringEnv
from mldeploy.runtime.ingress import SplitIngress
from mldeploy.runtime.local import Endpoint, EndpointRecord, LocalServer, new_key
from mldeploy.targets.local.settings import LocalServiceSettings
from mldeploy.targets.containerapp.config import ContainerAppServiceSettings
from mldeploy.targets.containerapp.plan import scorer_workers
from mldeploy.targets.serving import SplitPlan, SplitReload

def revision_images(service: ContainerAppServiceSettings) -> dict[str, tuple[str, int]]:
    """label -> (image, traffic percent): the `revisions`, else one revision of `image` at 100 %."""
    if service.revisions is None:
        return {"live": (service.image, 100)}
    return {label: (rev.image, rev.traffic_percent) for label, rev in sorted(service.revisions.items())}


def template_label(service: ContainerAppServiceSettings) -> str:
    """The label whose revision `pulumi up` makes from the app's template: the one on the service's
    `image` (`check` allows exactly one), `live` without revisions."""
    return next((label for label, (image, _) in revision_images(service).items() if image == service.image), "live")


def revision_settings(service: ContainerAppServiceSettings, image: str) -> LocalServiceSettings:
    """One revision as a local service: the service's gateway knobs and its scorer's workers and
    timeout, the revision's image; no key check (the ingress's) and no App Insights (no Azure)."""
    shared = {field: getattr(service, field) for field in ("cors", "scoring_timeout_ms", "max_request_body_mb",
                                                            "sample_request", "cpu_cores", "memory_gb",
                                                            "environment_variables")}
    return LocalServiceSettings.model_construct(
        target="local", image=image, auth_enabled=False, keys=None, tls=None, app_insights_enabled=False,
        worker_count=scorer_workers(service), port=0, **shared)


# A local rehearsal is never a production stack: its ingress and the variants' gateways speak HTTP.
_REHEARSAL = SimpleNamespace(production=False, images={})  # images: the revisions' scorers run unbatched limits


def _serve_plan(name: str, variant):
    """A variant's serve plan from its target's row (an AKS variant keeps its replicaMaxConcurrentRequests)."""
    from mldeploy.targets import target_of

    return target_of(variant).serve_plan(name, variant, _REHEARSAL, "")


class LocalRevisions(SplitReload):
    """Every revision's scorer + gateway (LocalServer) and the ingress splitting between them;
    `serve --reload` swaps their scorers in place (SplitReload)."""

    def __init__(self, name: str, service: ContainerAppServiceSettings, contexts: dict[str, BuildContext],
                 envs: dict[str, ScoringEnv], run_dir: Path, *, port: int, logs_command: str | None = None,
                 image_env: Mapping[str, Mapping[str, str]] | None = None):
        self.name, self.service, self.run_dir, self.port = name, service, run_dir.resolve(), port
        keys = (new_key(), new_key()) if service.auth_enabled else None
        self.shares = self.variants(service)
        self.plan = self.plan_for(service, image_env or {})
        plans = dict(self.plan.variants)
        self.revisions = {
            label: LocalServer(plans[label], contexts[image], envs[image], self.run_dir / label, port=0, keys=keys,
                               logs_command=logs_command)
            for label, (image, _) in self.shares.items()}
        self.keys = keys
        self.ingress = SplitIngress(self.run_dir / "ingress", self.run_dir / "ingress.log", port=port, keys=keys,
                                    max_body_mb=service.max_request_body_mb or 100.0,
                                    scoring_timeout_ms=service.scoring_timeout_ms)
        # The service's own endpoint file (the ingress's URI and keys), which `mldeploy test --local`
        # reads; each revision's LocalServer keeps its own in its folder.
        self.record = EndpointRecord(self.run_dir, f"service {name!r}")

    def _variant_plan(self, name: str, service, image: str, image_env: Mapping[str, Mapping[str, str]]):
        """A variant's serve plan, its scorer in its own image's environmentVariables under the service's."""
        variant = self.variant_settings(service, image)
        return replace(_serve_plan(name, variant),
                       environment=user_env(image_env.get(image, {}), variant.environment_variables))

    def plan_for(self, service, image_env: Mapping[str, Mapping[str, str]]) -> SplitPlan:
        """What `service` (this one, or as the stack file says now) serves: `serve --reload` restarts
        nothing in place when it differs from `plan`."""
        shares = self.variants(service)
        return SplitPlan(
            variant_images=tuple((label, image) for label, (image, _) in shares.items()),
            traffic_percent=tuple((label, percent) for label, (_, percent) in shares.items()),
            variants=tuple((label, self._variant_plan(f"{self.name}--{label}", service, image, image_env))
                           for label, (image, _) in shares.items()),
            auth_enabled=service.auth_enabled, max_request_body_mb=service.max_request_body_mb,
            scoring_timeout_ms=service.scoring_timeout_ms)

    # Which variants and how each one is served, and which one a change of the stack file reaches (None:
    # every one): a subclass for another target's split (the AKS canary, mldeploy/targets/aks/local.py)
    # overrides these and keeps the rest.
    variants = staticmethod(revision_images)
    variant_settings = staticmethod(revision_settings)
    changed_variant = staticmethod(template_label)
    variant_noun = "revision"

    def reload_plan(self, service, image_env: Mapping[str, Mapping[str, str]]) -> tuple[SplitPlan, dict[str, tuple]]:
        """What `serve --reload` serves of `service` as the stack file says it now, and the variants
        that keep the environment they run although the stack file gives them another (label -> the
        stack file's environment for it). "Immutable: Once established, a revision remains unchangeable"
        and "revision-scope changes create a new revision" (learn.microsoft.com/azure/container-apps/
        revisions, "Update and deploy changes in Azure Container Apps"); environment variables are
        revision-scope ("modify environment variables, compute resources, scale parameters, and deploy
        a different image. If your container app update includes revision-scope changes, a new
        revision is generated": learn.microsoft.com/azure/container-apps/revisions-manage). `pulumi up`
        sends the app one template (the label on `image`), so only that label's revision is new; every
        other label keeps the revision an earlier run created, environment and all."""
        wanted = self.plan_for(service, image_env)
        kept = set(self.kept_images(service).values())
        running = dict(self.plan.variants)
        variants, held = [], {}
        for label, plan in wanted.variants:
            if label in kept and label in running and plan.environment != running[label].environment:
                held[label] = plan.environment
                plan = replace(plan, environment=running[label].environment)
            variants.append((label, plan))
        return replace(wanted, variants=tuple(variants)), held

    def kept_images(self, service) -> dict[str, str]:
        """image -> label of every variant a change of the stack file or of its image's files does not reach
        (reload_plan says why): a container app's labels but the template's; none of an AKS canary's."""
        changed = self.changed_variant(service)
        if changed is None:
            return {}
        return {image: label for label, (image, _) in self.variants(service).items() if label != changed}

    def restart_note(self, service) -> str:
        """What `restart serve` for a revision-scope setting (cores, workers, timeouts) adds: a restart starts
        every label with it, where `pulumi up` gives it to the template's new revision alone."""
        kept = sorted(self.kept_images(service).values())
        if not kept:
            return ""
        return (f" (a restart gives it to every label; on Azure only the template's new revision, "
                f"{self.changed_variant(service)}'s, has it and {', '.join(kept)} "
                f"{'keeps its' if len(kept) == 1 else 'keep their'} own: `mldeploy diff` "
                "warns of the revision the stack file then names for them)")

    def held_line(self, label: str, service, kept: str = "the environmentVariables", changed: str = "") -> str:
        """What `serve --reload` says of revision `label` keeping what it was created with (reload_plan)."""
        return (f"reload: {self.name}'s revision {label} keeps {kept} it was created with{changed}: a "
                f"revision is immutable, and `pulumi up` gives a change only to the template's new revision "
                f"({self.changed_variant(service)}, image {service.image}); the stack file now names for {label} "
                "a revision no run creates (`mldeploy diff` warns: missing-revision; "
                "docs/containerapp.md#revisions-and-the-traffic-split)")

    def shift_traffic(self, plan: SplitPlan) -> str:
        """`serve --reload` of a traffic move (`plan`'s shares): the ingress splits by the new weights, no
        scorer restarted, as on Azure - a container app's traffic is app-scope ("application-scope changes
        can affect all revisions, while revision-scope changes create a new revision": learn.microsoft.com/
        azure/container-apps/revisions), an AKS canary's weights a ConfigMap its gateways reload (docs/aks.md).
        Returns the line that says so."""
        before, after = {label: percent for label, (_, percent) in self.shares.items()}, dict(plan.traffic_percent)
        self.shares = {label: (image, after[label]) for label, (image, _) in self.shares.items()}
        self.ingress.reweight(self.upstreams())
        moves = ", ".join(f"{label} {before[label]} -> {after[label]} %" for label in self.shares)
        return (f"reload: {self.name}'s traffic moves ({moves}): the ingress splits by the new shares; every "
                "scorer serves on (a traffic change restarts none)")

    def upstreams(self) -> tuple[Upstream, ...]:
        """The ingress's upstreams: the revisions' gateways, weighted by their shares."""
        return tuple(Upstream("127.0.0.1", self.revisions[label].port, weight=percent)
                     for label, (_, percent) in self.shares.items())

    def start(self, timeout: float = 120.0) -> Endpoint:
        self.record.claim()
        try:
            for server in self.revisions.values():
                server.start(timeout=timeout)
            self.port = self.ingress.start(self.upstreams())
        except BaseException:
            self.stop()
            raise
        self.record.publish(self.endpoint())
        return self.endpoint()

    def endpoint(self) -> Endpoint:
        base = f"http://127.0.0.1:{self.port}"
        return Endpoint(base + SCORE_PATH, base + SWAGGER_PATH, self.keys[0] if self.keys else None,
                        self.keys[1] if self.keys else None, None)

    def check(self) -> list[str]:
        events = [e for server in self.revisions.values() for e in server.check()]
        restarted = self.ingress.check()
        return events + ([f"{self.name}: {restarted}"] if restarted else [])

    def stop(self) -> None:
        """The endpoint file, the ingress (requests in flight finish), then every revision."""
        self.record.withdraw()
        self.ingress.stop(timeout=self.service.scoring_timeout_ms / 1000 + 5)
        for server in self.revisions.values():
            server.stop()
