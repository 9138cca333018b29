"""The program's target table: which deployer declares each service target and each section.

Written out here, in one place: adding a target means adding its module and its row."""
from __future__ import annotations

from typing import Any, Callable

from mldeploy.plan.endpoint import KUBERNETES, MANAGED
from mldeploy.program.aci import deploy_aci
from mldeploy.program.aks import deploy_aks
from mldeploy.program.batch import deploy_batch
from mldeploy.program.edge import deploy_edge
from mldeploy.program.endpoint import deploy_endpoint
from mldeploy.program.foundation import Foundation, ServiceOutputs
from mldeploy.program.fpga import deploy_fpga
from mldeploy.program.local import deploy_local

# target -> deployer(service name, service settings, foundation) -> ServiceOutputs.
SERVICE_DEPLOYERS: dict[str, Callable[[str, Any, Foundation], ServiceOutputs]] = {
    "local": deploy_local,
    "aci": deploy_aci,
    "aks": deploy_aks,
    "fpga": deploy_fpga,
    MANAGED: deploy_endpoint,
    KUBERNETES: deploy_endpoint,
}

# section -> deployer(entry name, entry settings, foundation) -> that entry's outputs.
SECTION_DEPLOYERS: dict[str, Callable[[str, Any, Foundation], dict[str, Any]]] = {
    "batch": deploy_batch,
    "edge": deploy_edge,
}
