"""ScoringImage (guide: "create and register the image"): build the rendered context with
pulumi-docker and push it to the workspace's container registry.

The tag is `<version>-<content digest>`: unchanged inputs give the same tag, so Pulumi sees no
change - no rebuild, no push, no redeploy - and one image can serve many services.
"""
from __future__ import annotations

import pulumi
import pulumi_docker as docker

from mldeploy.azure.acr_login import REFRESH_TOKEN_USER
from mldeploy.render.build_context import BuildContext


def push_registry(login_server: pulumi.Input[str], password: pulumi.Input[str]) -> docker.RegistryArgs:
    """Docker's login for the push: the deployer's ACR refresh token (mldeploy/azure/acr_login.py), so the
    first `pulumi up` of a new stack pushes without `az acr login`, and CI without `docker login`.
    No registry admin user, no password stored in the stack."""
    return docker.RegistryArgs(server=login_server, username=REFRESH_TOKEN_USER,
                               password=pulumi.Output.secret(password))


class ScoringImage(pulumi.ComponentResource):
    """One scoring image in the workspace registry, referenced by digest downstream."""

    image_name: pulumi.Output[str]
    """`<login server>/<image>:<version>-<digest>`."""
    repo_digest: pulumi.Output[str]
    """`<login server>/<image>@sha256:...`: what deployments pull, so a tag can never move under them."""

    def __init__(
        self,
        name: str,
        *,
        context: BuildContext,
        context_dir: str,
        registry_login_server: pulumi.Input[str],
        registry_password: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("mldeploy:image:ScoringImage", name, None, opts)
        self.tag = context.tag
        self.digest = context.digest
        full_name = pulumi.Output.concat(registry_login_server, "/", context.image, ":", context.tag)
        image = docker.Image(
            # Named after the image: one stack may build several, and URNs must stay unique.
            context.image,
            image_name=full_name,
            build=docker.DockerBuildArgs(
                context=context_dir,
                dockerfile=f"{context_dir}/Dockerfile",
                platform="linux/amd64",
            ),
            registry=push_registry(registry_login_server, registry_password),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.image_name = image.image_name
        self.repo_digest = image.repo_digest
        self.register_outputs({"imageName": self.image_name, "repoDigest": self.repo_digest})
