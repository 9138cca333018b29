"""`target: fpga`: a Project Brainwave-style FPGA service on an AKS node pool in a region that has them."""
from mldeploy.config.fpga import FpgaServiceSettings
from mldeploy.plan.aks import check_service
from mldeploy.plan.fpga_regions import check_service_region
from mldeploy.targets.fpga.mocks import MOCKS
from mldeploy.targets.aks import logs, serve  # an FPGA service is served and read as an AKS one
from mldeploy.targets.target import Target


def check(name: str, service: FpgaServiceSettings, stack) -> None:
    check_service_region(name, service, stack.location)
    check_service(name, service, stack.production)  # TLS that can be issued, replicas


def deploy(name: str, entry, foundation):
    """The program step (Pulumi and the components load only when the program runs)."""
    from mldeploy.targets.fpga.program import deploy_fpga
    return deploy_fpga(name, entry, foundation)


TARGET = Target(name="fpga", settings=FpgaServiceSettings, deploy=deploy, check=check, mocks=MOCKS,
                serve_plan=serve.serve_plan, containers=serve.containers, logs=logs.read, log_containers=logs.CONTAINERS,
                policies=("mldeploy.policies.aks",))
