"""`target: containerapp`: Azure Container Apps - scale to zero, HTTP concurrency scaling, revisions
with traffic split by label, identity pulls, the same gateway for keys. Everything particular to
the target lives in this package (config model, load-time checks, plan, program step, mocks);
its ComponentResource is components/containerapp.py (the user's layout keeps components there)."""
from mldeploy.targets.containerapp.config import ContainerAppServiceSettings
from mldeploy.targets.containerapp.mocks import MOCKS
from mldeploy.targets.containerapp.plan import check, service_notes
from mldeploy.targets.serving import split_runner
from mldeploy.targets.target import LocalServe, StartingPoint, Target


def local_runner(name: str, service: ContainerAppServiceSettings, serve: LocalServe):
    """serve: every labelled revision's scorer + gateway and the ingress splitting by trafficPercent
    (mldeploy/targets/containerapp/local.py)."""
    from mldeploy.plan.scorer import image_envs
    from mldeploy.targets.containerapp.local import LocalRevisions, revision_images

    def make() -> LocalRevisions:
        images = sorted({image for image, _ in revision_images(service).values()})
        assets = {image: serve.prepared(image) for image in images}
        return LocalRevisions(name, service, {i: a[0] for i, a in assets.items()},
                              {i: a[1] for i, a in assets.items()}, serve.run_dir, port=serve.port or 0,
                              logs_command=serve.logs_command, image_env=image_envs(serve.stack.images))

    return split_runner(name, make, serve)


def containers(out, name: str, service, stack, images, tls):
    """serve --containers: the template revision as synthesized, or every labelled revision's pod
    and the split (mldeploy/targets/containerapp/containers.py)."""
    from mldeploy.targets.containerapp.containers import containers as app_containers
    return app_containers(out, name, service, images, tls)


def deploy(name: str, entry, foundation):
    """The program step (Pulumi and the components load only when the program runs)."""
    from mldeploy.targets.containerapp.program import deploy_containerapp
    return deploy_containerapp(name, entry, foundation)


def revision_labels(service: ContainerAppServiceSettings) -> tuple[str, ...]:
    """What `logs --deployment` names: each revision served locally in its own folder (local.py)."""
    from mldeploy.targets.containerapp.local import revision_images
    return tuple(revision_images(service))


TARGET = Target(name="containerapp", secret_env=True, settings=ContainerAppServiceSettings, deploy=deploy, check=check, mocks=MOCKS,
                local_runner=local_runner, containers=containers, log_variants=revision_labels, notes=service_notes,
                policies=("mldeploy.policies.containerapp",),
                starting_point=StartingPoint("containerapp", order=4, by_default=False))
