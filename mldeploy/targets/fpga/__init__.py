"""`target: fpga`: a Project Brainwave-style FPGA service on an AKS node pool in a region that has
them. Everything particular to the target lives in this package (config model, load-time checks,
region list, plan, program step, mocks); it reuses the AKS target's plan, serve (a canary
included) and logs hooks, and
its ComponentResource is components/fpga.py (the pool; the service is components/aks_service.py)."""
from mldeploy.targets.fpga.settings import FpgaServiceSettings
from mldeploy.targets.fpga.mocks import MOCKS
from mldeploy.targets.fpga.plan import check
# An FPGA service is served and read as an AKS one: one scorer, or with a canary both variants
# and the split (mldeploy/targets/aks/local.py); its pods under --containers as synthesized.
from mldeploy.targets.aks import logs, serve
from mldeploy.targets.target import Target


def deploy(name: str, entry, foundation):
    """The program step (Pulumi and the components load only when the program runs)."""
    from mldeploy.targets.fpga.program import deploy_fpga
    return deploy_fpga(name, entry, foundation)


TARGET = Target(name="fpga", secret_env=True, settings=FpgaServiceSettings, deploy=deploy, check=check, mocks=MOCKS,
                local_runner=serve.local_runner, serve_plan=serve.serve_plan, containers=serve.containers, logs=logs.read, log_containers=logs.CONTAINERS,
                log_variants=serve.variant_names,
                policies=("mldeploy.policies.aks",))
