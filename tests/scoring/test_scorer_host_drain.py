"""The scorer host's copy of the gateway's drain time (it runs in the image without the mldeploy
package): in an ACI group the scorer must go on waiting while the gateway beside it drains, else
it stops under requests the gateway still sends it (502)."""
from mldeploy.render.gateway import DRAIN_SECONDS
from mldeploy.scoring import scorer_host


def test_the_scorer_waits_out_the_gateways_drain():
    assert scorer_host.GATEWAY_DRAIN_S == DRAIN_SECONDS
    assert scorer_host.GATEWAY_STOP_WAIT_S > DRAIN_SECONDS
