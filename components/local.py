"""LocalService: the local target under `pulumi up` for users with Docker - the scorer image
built on this machine (not pushed) and the official nginx image as the gateway, on a private
network, the gateway published on 127.0.0.1 only. `mldeploy serve` runs the same pair as
plain processes for users without Docker."""
from __future__ import annotations

import pulumi
import pulumi_docker as docker

from mldeploy.plan.secret_env import is_secret
from mldeploy.components.children import child_name, child_opts
from mldeploy.components.keys import service_keys
from mldeploy.plan.local import CONFIG_FILE, SCORER_ALIAS, HealthCheck, LocalPlan
from mldeploy.render.gateway import container_command, render_keys_map, render_nginx_conf


def _healthcheck(check: HealthCheck) -> dict:
    out = {"tests": list(check.test), "interval": check.interval, "timeout": check.timeout, "retries": check.retries}
    if check.start_period is not None:
        out["start_period"] = check.start_period
    return out


class LocalService(pulumi.ComponentResource):
    """Scorer + gateway containers on this machine's Docker engine."""

    scoring_uri: pulumi.Output[str]
    swagger_uri: pulumi.Output[str]
    gateway_conf: str  # the nginx.conf declared (no secret in it): what synth writes

    def __init__(self, name: str, *, plan: LocalPlan,
                 keys: tuple[pulumi.Input[str], pulumi.Input[str]] | None = None,
                 tls: tuple[pulumi.Input[str], pulumi.Input[str]] | None = None,
                 opts: pulumi.ResourceOptions | None = None):
        """`keys`: the given keys (else generated when the plan has auth on); `tls`: the PEM
        certificate and key, required when the plan serves HTTPS; both secret."""
        if plan.tls and tls is None:
            raise ValueError(f"{name}: the plan serves HTTPS but no certificate and key were given")
        super().__init__("mldeploy:local:LocalService", name, None, opts)

        network = docker.Network(child_name(name, "network"), name=plan.network, opts=child_opts(self, "network"))
        scorer_image = docker.Image(
            child_name(name, "scorer-image"),
            image_name=plan.scorer_image,
            build=docker.DockerBuildArgs(context=plan.context_dir, dockerfile=f"{plan.context_dir}/Dockerfile"),
            skip_push=True,  # the local engine runs it; no registry involved
            opts=child_opts(self, "scorer-image"),
        )
        scorer = docker.Container(
            child_name(name, "scorer"),
            name=plan.scorer_container,
            image=scorer_image.image_name,
            # A `secure:` variable stays a Pulumi secret up to the Docker provider (the container's own config).
            envs=[pulumi.Output.secret(f"{k}={v.reveal()}") if is_secret(v) else f"{k}={v}" for k, v in plan.scorer_env],
            networks_advanced=[{"name": network.name, "aliases": [SCORER_ALIAS]}],
            memory=plan.scorer_memory_mb,
            restart="always",  # Docker restarts a scorer that dies
            healthcheck=_healthcheck(plan.scorer_health),
            opts=child_opts(self, "scorer"),
        )

        keys = service_keys(self, name, keys) if plan.auth_enabled else None
        self.gateway_conf = render_nginx_conf(plan.gateway)
        uploads = [docker.ContainerUploadArgs(file=CONFIG_FILE, content=self.gateway_conf)]
        if keys is not None:
            uploads.append(docker.ContainerUploadArgs(
                file=plan.gateway.keys_file, permissions="0400",
                content=pulumi.Output.secret(pulumi.Output.all(*keys).apply(lambda k: render_keys_map(k[0], k[1])))))
        if plan.tls:
            uploads += [
                docker.ContainerUploadArgs(file=plan.gateway.tls_cert_file, content=pulumi.Output.secret(tls[0])),
                docker.ContainerUploadArgs(file=plan.gateway.tls_key_file, permissions="0400",
                                           content=pulumi.Output.secret(tls[1])),
            ]
        gateway_image = docker.RemoteImage(child_name(name, "gateway-image"), name=plan.gateway_image,
                                           keep_locally=True, opts=child_opts(self, "gateway-image"))
        docker.Container(
            child_name(name, "gateway"),
            name=plan.gateway_container,
            image=gateway_image.image_id,
            command=container_command(plan.gateway),
            uploads=uploads,
            networks_advanced=[{"name": network.name}],
            # Loopback only: the service is for this machine.
            ports=[{"internal": plan.gateway.listen_port, "external": plan.published_port, "ip": "127.0.0.1"}],
            restart="always",
            healthcheck=_healthcheck(plan.gateway_health),
            opts=child_opts(self, "gateway", depends_on=[scorer]),
        )
        self.scoring_uri = pulumi.Output.from_input(plan.scoring_uri)
        self.swagger_uri = pulumi.Output.from_input(plan.swagger_uri)
        self.primary_key = keys[0] if keys else None
        self.secondary_key = keys[1] if keys else None
        self.register_outputs({"scoringUri": self.scoring_uri, "swaggerUri": self.swagger_uri,
                               "primaryKey": self.primary_key, "secondaryKey": self.secondary_key})
