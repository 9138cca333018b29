"""`serve`'s runners several targets share, built from a target's serve plan: one scorer behind
one gateway (local, aci, aks, fpga), and variants each behind its own gateway with an ingress
splitting between them (containerapp's revisions, an AKS canary). And what `serve --containers`
runs as synthesized: a pod (or container group), a split's pods behind an ingress, or an online
endpoint's deployments."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

from mldeploy.targets.target import LocalServe


def listen_address(port: int | None) -> str:
    """Where `serve` says it listens before it starts: a port of the stack's, or one the system
    picks (the scoring URI printed once it is ready has it)."""
    return f"127.0.0.1:{port}" if port else "127.0.0.1 (a free port: see the scoring URI below)"


def scorer_runner(name: str, image: str, plan, serve: LocalServe):
    """One scorer of `image` behind one gateway (runtime/local.py LocalServer), running `plan`."""
    from mldeploy.runtime.local import LocalServer

    context, env = serve.prepared(image)
    port = serve.port if serve.port is not None else plan.port
    serve.info(f"starting {name}: scorer + gateway on {listen_address(port)}")
    return LocalServer(plan, context, env, serve.run_dir, port=port, max_concurrent=serve.max_concurrent,
                       tls_files=serve.tls_files, logs_command=serve.logs_command)


def split_runner(name: str, make: Callable[[], Any], serve: LocalServe):
    """Variants behind an ingress (`make()` builds it: containerapp/local.py LocalRevisions); the
    ingress is HTTP and each variant's gateway caps as configured, so the options are refused."""
    serve.refuse_options(f"{name}'s split: its ingress is HTTP, each variant's gateway caps as configured")
    runner = make()
    shares = ", ".join(f"{label} {image} {percent} %" for label, (image, percent) in runner.shares.items())
    serve.info(f"starting {name}: {shares}; one scorer + gateway per variant behind an ingress on "
               f"{listen_address(serve.port)}")
    return runner


@dataclass(frozen=True)
class SplitPlan:
    """What a split of gateways serves (an AKS canary, a container app's revisions), as `serve
    --reload` compares it with the stack file's: a field that differs needs a restart of serve."""

    variant_images: tuple[tuple[str, str], ...]  # (label, image)
    traffic_percent: tuple[tuple[str, int], ...]  # (label, percent)
    variants: tuple[tuple[str, Any], ...]  # (label, its ServePlan)
    auth_enabled: bool
    max_request_body_mb: float | None
    scoring_timeout_ms: int

    @property
    def images(self) -> tuple[str, ...]:
        return tuple(sorted({image for _, image in self.variant_images}))


class SplitReload:
    """`serve --reload` of a split of gateways: every variant serving a changed image gets a new
    scorer (runtime/swap.py, the sequence LocalServer and LocalEndpoint swap with, one LocalServer's
    share per variant). All of them are started and ready before any is switched to, and then
    switched together, so no client reads one variant's new answer and then another's old one; a
    new scorer that fails stops them all and the old ones serve on. A subclass has `name`,
    `revisions` (label -> LocalServer) and `shares` (label -> (image, percent))."""

    name: str
    revisions: Mapping[str, Any]
    shares: Mapping[str, tuple[str, int]]
    variant_noun = "variant"  # what the target calls one (a container app: a revision)

    def reload_scorers(self, image: str) -> str:
        """How `serve --reload` names the new scorers it starts for `image`: its variants by name."""
        variants = [label for label, (its, _) in self.shares.items() if its == image]
        if len(variants) == 1:
            return (f"a new scorer for {self.name}'s {self.variant_noun} {variants[0]} (image {image}; the running "
                    "one answers until it is ready)")
        return (f"new scorers for {self.name}'s {self.variant_noun}s {', '.join(variants)} (image {image}; the running "
                "ones answer until they are ready)")

    @property
    def contexts(self) -> dict[str, Any]:
        """The build context each image's scorers serve, by image name (as LocalServer.contexts)."""
        return {image: self.revisions[label].context for label, (image, _) in self.shares.items()}

    def swap_images(self, changes: Mapping[str, tuple[Any, Any]], timeout: float) -> float:
        """Every variant serving an image of `changes` (image -> (context, env)) gets a new scorer;
        returns the seconds until all were ready; StartError (naming the variant) as
        LocalServer.swap_images: nothing switched."""
        from mldeploy.runtime.swap import swap_one_way

        return swap_one_way([lambda server=server, label=label, image=image: server.next_scorers(
                                 {image: changes[image]}, f"the new scorer of variant {label!r}")
                             for label, server in self.revisions.items()
                             for image in [self.shares[label][0]] if image in changes], timeout)


@dataclass(frozen=True)
class PodContainers:
    """`serve --containers` of a pod or container group as synthesized, and its gateway's port."""

    pod: Any
    gateway_port: int

    def run_with(self, runs) -> None:
        runs.pod(self.pod, self.gateway_port)


@dataclass(frozen=True)
class SplitContainers:
    """`serve --containers` of a traffic split as synthesized: one pod per variant (a container
    app's labelled revision), each with its own gateway on `gateway_port` checking `keys`, and an
    ingress on this machine splitting between them by the weights (mldeploy/cli/serve_split.py)."""

    pods: Mapping[str, tuple[Any, int]]  # label -> (its pod source, its traffic weight)
    gateway_port: int
    keys: tuple[str, str]  # every variant's gateway checks the same pair
    max_body_mb: float
    scoring_timeout_ms: int

    def run_with(self, runs) -> None:
        runs.split(self)


@dataclass(frozen=True)
class EndpointContainers:
    """`serve --containers` of an online endpoint: each deployment's image as a container, from its
    serve plan (plan/serve.py EndpointServePlan)."""

    plan: Any

    def run_with(self, runs) -> None:
        runs.endpoint(self.plan)
