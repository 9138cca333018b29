"""LocalService: the local target under `pulumi up` for users with Docker - the scorer image
built on this machine (not pushed) and the official nginx image as the gateway, on a private
network, the gateway published on 127.0.0.1 only. `mldeploy serve` runs the same pair as
plain processes for users without Docker."""
from __future__ import annotations

import pulumi
import pulumi_docker as docker

from components.children import child_name, child_opts
from components.keys import service_keys
from mldeploy.config.service import LocalServiceSettings
from mldeploy.contract import (CONTAINER_CONFIG_DIR, CONTAINER_TLS_DIR, GATEWAY_IMAGE, GATEWAY_PORT, KEYS_MAP_NAME, LIVENESS_PATH,
                               SCORER_PORT, SCORE_PATH, SWAGGER_PATH, TLS_CERT_NAME, TLS_KEY_NAME)
from mldeploy.render.gateway import Upstream, container_command, container_spec, render_keys_map, render_nginx_conf
from mldeploy.plan.timeouts import scorer_timeouts

SCORER_ALIAS = "scorer"


def local_gateway_spec(service: LocalServiceSettings):
    """The gateway container: reaches the scorer by its network alias."""
    return container_spec(service, listen_port=GATEWAY_PORT,
                          upstreams=(Upstream(SCORER_ALIAS, SCORER_PORT),))


class LocalService(pulumi.ComponentResource):
    """Scorer + gateway containers on this machine's Docker engine."""

    scoring_uri: pulumi.Output[str]
    swagger_uri: pulumi.Output[str]

    def __init__(self, name: str, *, service: LocalServiceSettings, stack: str, image: str, tag: str,
                 context_dir: str, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mldeploy:local:LocalService", name, None, opts)
        prefix = f"mldeploy-{stack}-{name}"

        network = docker.Network(child_name(name, "network"), name=prefix, opts=child_opts(self, "network"))
        scorer_image = docker.Image(
            child_name(name, "scorer-image"),
            image_name=f"mldeploy-local/{image}:{tag}",
            build=docker.DockerBuildArgs(context=context_dir, dockerfile=f"{context_dir}/Dockerfile"),
            skip_push=True,  # the local engine runs it; no registry involved
            opts=child_opts(self, "scorer-image"),
        )
        workers = service.scorer_workers
        scorer = docker.Container(
            child_name(name, "scorer"),
            name=f"{prefix}-scorer",
            image=scorer_image.image_name,
            envs=[f"{k}={v}" for k, v in {"WORKER_COUNT": str(workers),
                                          **scorer_timeouts(service.scoring_timeout_ms)}.items()],
            networks_advanced=[{"name": network.name, "aliases": [SCORER_ALIAS]}],
            memory=int(service.memory_gb * 1024),
            restart="always",  # Docker restarts a scorer that dies
            healthcheck={"tests": ["CMD", "python", "-c", "import urllib.request; urllib.request.urlopen("
                                   f"'http://127.0.0.1:{SCORER_PORT}/')"],
                         "interval": "10s", "timeout": "3s", "retries": 3, "start_period": "30s"},
            opts=child_opts(self, "scorer"),
        )

        keys = service_keys(service, self, name)
        spec = local_gateway_spec(service)
        uploads = [docker.ContainerUploadArgs(file=f"{CONTAINER_CONFIG_DIR}/nginx.conf",
                                              content=render_nginx_conf(spec))]
        if keys is not None:
            uploads.append(docker.ContainerUploadArgs(
                file=f"{CONTAINER_CONFIG_DIR}/{KEYS_MAP_NAME}", permissions="0400",
                content=pulumi.Output.secret(pulumi.Output.all(*keys).apply(lambda k: render_keys_map(k[0], k[1])))))
        if service.tls is not None:
            uploads += [
                docker.ContainerUploadArgs(file=f"{CONTAINER_TLS_DIR}/{TLS_CERT_NAME}",
                                           content=pulumi.Output.secret(service.tls.certificate.reveal())),
                docker.ContainerUploadArgs(file=f"{CONTAINER_TLS_DIR}/{TLS_KEY_NAME}", permissions="0400",
                                           content=pulumi.Output.secret(service.tls.key.reveal())),
            ]
        gateway_image = docker.RemoteImage(child_name(name, "gateway-image"), name=GATEWAY_IMAGE, keep_locally=True,
                                           opts=child_opts(self, "gateway-image"))
        docker.Container(
            child_name(name, "gateway"),
            name=f"{prefix}-gateway",
            image=gateway_image.image_id,
            command=container_command(spec),
            uploads=uploads,
            networks_advanced=[{"name": network.name}],
            # Loopback only: the service is for this machine.
            ports=[{"internal": GATEWAY_PORT, "external": service.port, "ip": "127.0.0.1"}],
            restart="always",
            healthcheck={"tests": ["CMD", "wget", "-q", "-O", "/dev/null",
                                   f"http://127.0.0.1:{GATEWAY_PORT}{LIVENESS_PATH}"],
                         "interval": "10s", "timeout": "3s", "retries": 3},
            opts=child_opts(self, "gateway", depends_on=[scorer]),
        )
        scheme = "https" if service.tls else "http"
        self.scoring_uri = pulumi.Output.from_input(f"{scheme}://127.0.0.1:{service.port}{SCORE_PATH}")
        self.swagger_uri = pulumi.Output.from_input(f"{scheme}://127.0.0.1:{service.port}{SWAGGER_PATH}")
        self.primary_key = keys[0] if keys else None
        self.secondary_key = keys[1] if keys else None
        self.register_outputs({"scoringUri": self.scoring_uri, "swaggerUri": self.swagger_uri,
                               "primaryKey": self.primary_key, "secondaryKey": self.secondary_key})
