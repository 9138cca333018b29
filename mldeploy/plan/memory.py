"""How much memory one scoring request takes, and so how large a request body a scorer can take.

azmlinfsrv's sync workers each hold one request: the body as bytes, as text, then parsed into
Python objects by `run()` (json.loads of numbers: a float object and a list slot per number).
Measured with the diabetes scorer (Ridge, `{"data": [[10 floats], ...]}`), one worker, peak RSS
(VmHWM) above its RSS before the request: 5 MB body +29 MiB (6.1×), 10 MB +51 MiB (5.3×),
20 MB +101 MiB (5.3×); a 97 MB body took a worker to 933 MiB (9.6×, issue 9). A worker idles at
~160 MB (156-163 MiB measured with the diabetes scorer). The rule takes the largest factor seen, rounded up:
a scorer needs workers × (160 MB + 10 × body) of memory, or the kernel OOM-kills the container
with every request in flight. With batching a worker holds up to maxBatchSize requests at once
(each parsed, then their rows joined into one run() input), so the body term counts that many:
workers × (160 MB + maxBatchSize × 10 × body) - the derived body limit shrinks by maxBatchSize,
which batched requests (a few rows each) do not notice. Pure."""
from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

from mldeploy import PROJECT
from mldeploy.config.errors import ConfigError
from mldeploy.config.service import ServiceSettings
from mldeploy.plan.scorer import UNBATCHED, WorkerLoad, scorer_memory_mb, scorer_workers

if TYPE_CHECKING:
    from mldeploy.config.stack import StackSettings

WORKER_IDLE_MB = 160
BODY_MEMORY_FACTOR = 10  # peak worker memory per MB of JSON request body
DEFAULT_MAX_BODY_MB = 100  # Azure ML's own request limit: the ceiling of the derived default


def memory_needed_mb(workers: int, body_mb: float, requests_per_worker: int = 1) -> float:
    return workers * (WORKER_IDLE_MB + requests_per_worker * BODY_MEMORY_FACTOR * body_mb)


def derived_body_limit_mb(memory_mb: float, workers: int, requests_per_worker: int = 1) -> int:
    """The largest body (whole MB, at most 100) that `workers` can each hold `requests_per_worker`
    of at once in `memory_mb`; 0 when even an idle worker does not fit."""
    per_worker = memory_mb / workers - WORKER_IDLE_MB
    return max(0, min(DEFAULT_MAX_BODY_MB, math.floor(per_worker / (requests_per_worker * BODY_MEMORY_FACTOR))))


def body_limit_problem(memory_mb: float, workers: int, body_mb: float | None, requests_per_worker: int = 1) -> str | None:
    """Why `body_mb` (None: derived) does not fit in `memory_mb` with `workers`, each holding
    `requests_per_worker` requests, with the arithmetic and what to change; None when it fits."""
    n = requests_per_worker
    held = f"{n} × " if n > 1 else ""  # unbatched messages stay as they were
    if body_mb is None:
        if derived_body_limit_mb(memory_mb, workers, n) >= 1:
            return None
        return (f"{workers} scorer worker(s) × {WORKER_IDLE_MB} MB idle = {workers * WORKER_IDLE_MB} MB leaves "
                f"no room for {'a 1 MB request' if n == 1 else f'a batch of {n} 1 MB requests'} in memoryGb {memory_mb / 1024:g} ({memory_mb:.0f} MB): raise "
                "memoryGb or use fewer workers")
    needed = memory_needed_mb(workers, body_mb, n)
    if needed <= memory_mb:
        return None
    fits = derived_body_limit_mb(memory_mb, workers, n)
    batch = f" (each holds a batch of up to {n} requests: the image's maxBatchSize)" if n > 1 else ""
    return (f"{body_mb:g} MB needs {workers} scorer worker(s){batch} × ({WORKER_IDLE_MB} MB idle + {held}"
            f"{BODY_MEMORY_FACTOR} × {body_mb:g} MB) = {needed:.0f} MB > memoryGb {memory_mb / 1024:g} "
            f"({memory_mb:.0f} MB): set maxRequestBodyMb to {fits} or less (or omit it), raise memoryGb "
            f"to {math.ceil(needed / 1024 * 10) / 10:g}, or use fewer workers")


def body_limit_mb(service: ServiceSettings, load: WorkerLoad = UNBATCHED) -> float:
    """The gateway's body limit: `maxRequestBodyMb`, else the largest the scorer's memory holds."""
    if service.max_request_body_mb is not None:
        return service.max_request_body_mb
    return derived_body_limit_mb(scorer_memory_mb(service), scorer_workers(service, load), load.requests)


def check_body_limit(name: str, service: ServiceSettings, load: WorkerLoad = UNBATCHED) -> None:
    """Every worker may parse a maximal body at once (with batching: a batch of them): an OOM
    kill takes all their requests."""
    problem = body_limit_problem(scorer_memory_mb(service), scorer_workers(service, load),
                                 service.max_request_body_mb, load.requests)
    if problem:
        raise ConfigError(f"{PROJECT}:services.{name}", f"maxRequestBodyMb {problem}")


def body_limit_bytes(max_body_mb: float) -> int:
    """The bytes nginx admits for `max_body_mb` (render/gateway.py writes `client_max_body_size <KiB>k`)."""
    return max(1, int(max_body_mb * 1024)) * 1024


def check_sample_fits_body(settings: StackSettings, project_root: Path) -> None:
    """The sample request is the body the smoke test and `mldeploy test` send through the gateway: one
    larger than the service's own maxRequestBodyMb would get the gateway's 413 on every deploy. (A derived
    limit is at least 1 MB, and a sample request at most 1 MiB: config/files.py reads no larger.)"""
    for name, service in sorted(settings.services.items()):
        if not isinstance(service, ServiceSettings) or service.max_request_body_mb is None:
            continue
        image = settings.images.get(service.image)
        sample = service.sample_request or (image.sample_request if image is not None else None)
        if sample is None:
            continue
        size = (project_root / sample).stat().st_size
        limit = body_limit_bytes(service.max_request_body_mb)
        if size > limit:
            raise ConfigError(f"{PROJECT}:services.{name}.maxRequestBodyMb",
                              f"{service.max_request_body_mb:g} MB ({limit} bytes) is smaller than the sample request "
                              f"{sample} ({size} bytes), which the smoke test and `mldeploy test` send: the gateway "
                              "would answer it 413; raise maxRequestBodyMb or send a smaller sample")
