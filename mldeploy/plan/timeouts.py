"""One rule for a scoring request's time limits, used by every target (local, ACI, AKS):

1. the gateway answers 504 first, at `scoringTimeoutMs` (nginx proxy timeouts);
2. the scorer stops the request itself 1 s later (azmlinfsrv's `SCORING_TIMEOUT_MS`, read by its
   config.py and passed to `invoke_run(..., timeout_ms=...)` in routes.py), so its worker is free
   again shortly after the client got the 504 - and never answers before the gateway gives up;
3. gunicorn kills a silent sync worker after `WORKER_TIMEOUT` s: well beyond both (scoringServer
   mldeploy: told the gateway's limit (`MLDEPLOY_GATEWAY_TIMEOUT_MS`), a worker whose request is
   still running just before it retires - takes no more requests, exits when the gateway lets go,
   and a new one starts - so no request ever waits behind a stuck run(); see scoring_app.py);
4. a health probe on the scorer's `GET /` waits behind busy sync workers for up to the scorer's
   limit: a probe's failure window (failureThreshold × period + timeout) must outlast it, or a
   long request gets its container restarted (liveness) or its pod unready (readiness). With
   batching a worker's slots free only when its batch ends, and a batch starts up to
   `maxLatencyMs` after its first request arrived: the window outlasts that wait too (`wait_ms`).
5. with batching the gateway's limit still counts from when the request reaches the scorer, so
   its wait for others is part of it: config refuses `maxLatencyMs` >= scoringTimeoutMs
   (plan/batching.py); the scorer's own limit applies to each run() call, as unbatched.
Pure: numbers in, numbers out."""
from __future__ import annotations

import math

GATEWAY_TIMEOUT_ENV = "MLDEPLOY_GATEWAY_TIMEOUT_MS"  # scoring/scoring_app.py reads the same name

SCORER_MARGIN_MS = 1_000  # the scorer's limit sits this far above the gateway's
WORKER_MARGIN_S = 30  # gunicorn's kill of a silent worker, beyond the scorer's limit
PROBE_SLACK_S = 10  # after the scorer's limit: the worker frees itself and answers the probe
# The probes of a container service's two containers (ACI group, Container Apps replica).
PROBE_PERIOD_S = 10
PROBE_TIMEOUT_S = 3
NGINX_PROBE_FAILURES = 3  # the gateway's liveness asks nginx itself, never a busy scorer


def scorer_timeout_ms(scoring_timeout_ms: int) -> int:
    """The scorer's own limit (`SCORING_TIMEOUT_MS`) for a gateway limit of `scoring_timeout_ms`."""
    return scoring_timeout_ms + SCORER_MARGIN_MS


def scorer_timeouts(scoring_timeout_ms: int) -> dict[str, str]:
    """The scorer's environment for the rule above: `SCORING_TIMEOUT_MS`, `WORKER_TIMEOUT` and
    the gateway's own limit (read by scoringServer mldeploy, ignored by azmlinfsrv)."""
    return {
        "SCORING_TIMEOUT_MS": str(scorer_timeout_ms(scoring_timeout_ms)),
        "WORKER_TIMEOUT": str(math.ceil(scorer_timeout_ms(scoring_timeout_ms) / 1000) + WORKER_MARGIN_S),
        GATEWAY_TIMEOUT_ENV: str(scoring_timeout_ms),
    }


def busy_seconds(scoring_timeout_ms: int, wait_ms: int = 0) -> int:
    """How long the scorer's workers may all be busy: a request's wait for its batch (`wait_ms`,
    0 unbatched), the scorer's limit, and the slack to free the worker."""
    return math.ceil((scorer_timeout_ms(scoring_timeout_ms) + wait_ms) / 1000) + PROBE_SLACK_S


def probe_failure_threshold(scoring_timeout_ms: int, period_s: int, minimum: int = 3, wait_ms: int = 0) -> int:
    """failureThreshold of a probe on the scorer's `GET /` every `period_s` seconds: its window
    (threshold × period, plus the probe's own timeout) outlasts the busy time (`busy_seconds`)."""
    return max(minimum, math.ceil(busy_seconds(scoring_timeout_ms, wait_ms) / period_s))


def probe_window_s(probe: dict) -> int:
    """How long a probe keeps failing before Kubernetes/ACI acts: failureThreshold × period +
    timeout (Kubernetes defaults: 3, 10 s, 1 s)."""
    return (probe.get("failureThreshold", 3) * probe.get("periodSeconds", 10)
            + probe.get("timeoutSeconds", 1))
