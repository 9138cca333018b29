"""`mldeploy replicas`: the guide's replica formula, ceil(R x T / U / C)."""
from __future__ import annotations

import click

from mldeploy.plan.replicas import replicas_needed
from mldeploy.contract import DEFAULT_TARGET_UTILIZATION


@click.command("replicas")
# click's ranges: a value outside the formula's domain is refused naming its option (`Invalid value
# for '--rps': -1.0 is not in the range x>=0.`); replicas_needed still refuses NaN and infinity.
@click.option("--rps", type=click.FloatRange(min=0), required=True,
              help="Requests per second the service must serve (R).")
@click.option("--request-seconds", type=click.FloatRange(min=0, min_open=True), required=True,
              help="Seconds one request takes (T).")
@click.option("--max-concurrent", type=click.IntRange(min=1), default=1, show_default=True,
              help="Requests one replica serves at once (C, replicaMaxConcurrentRequests).")
@click.option("--target-utilization", type=click.IntRange(1, 100), default=DEFAULT_TARGET_UTILIZATION,
              show_default=True, help="Autoscaler target utilization in percent (U, autoscaleTargetUtilization).")
def command(rps: float, request_seconds: float, max_concurrent: int, target_utilization: int) -> None:
    """How many replicas an AKS service needs: ceil(R x T / U / C) (the guide's formula)."""
    try:
        estimate = replicas_needed(rps, request_seconds, max_concurrent, target_utilization)
    except ValueError as err:
        raise click.BadParameter(str(err)) from None
    click.echo(estimate.replicas)
    click.echo(estimate.explain(), err=True)
