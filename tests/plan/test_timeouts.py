"""plan/timeouts.py: the one rule for a request's limits (gateway, scorer, gunicorn, probes)."""
from __future__ import annotations

import pytest

from mldeploy.plan.timeouts import probe_failure_threshold, probe_window_s, scorer_timeouts


@pytest.mark.parametrize("scoring_timeout_ms", [100, 5_000, 60_000, 300_000])
def test_limits_are_ordered_gateway_then_scorer_then_gunicorn(scoring_timeout_ms):
    env = scorer_timeouts(scoring_timeout_ms)
    assert int(env["SCORING_TIMEOUT_MS"]) == scoring_timeout_ms + 1000
    assert int(env["WORKER_TIMEOUT"]) * 1000 > int(env["SCORING_TIMEOUT_MS"])


@pytest.mark.parametrize("scoring_timeout_ms", [100, 5_000, 60_000, 300_000])
@pytest.mark.parametrize("period_s", [2, 5, 10, 30])
def test_a_probe_window_outlasts_the_scorers_limit(scoring_timeout_ms, period_s):
    probe = {"periodSeconds": period_s, "timeoutSeconds": 1,
             "failureThreshold": probe_failure_threshold(scoring_timeout_ms, period_s)}
    assert probe_window_s(probe) * 1000 > int(scorer_timeouts(scoring_timeout_ms)["SCORING_TIMEOUT_MS"]), probe
