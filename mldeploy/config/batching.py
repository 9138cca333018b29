"""An image's adaptive batching (`images.<name>.batching`): several requests' rows in one run()."""
from __future__ import annotations

from pydantic import Field

from mldeploy.config.base import Settings

# A run() parameter name as inference-schema and azmlinfsrv see it (a Python identifier).
INPUT_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]{0,63}$"
DEFAULT_INPUT = "data"  # the request's `data` array, as the guide's scripts read it


class BatchingSettings(Settings):
    """Opt-in: the scorer concatenates the rows of requests that arrive together into one run()
    call and splits the results back per request (mldeploy/scoring/scoring_batcher.py)."""

    max_batch_size: int = Field(ge=2, le=1024, description="the most rows one run() call gets; also the most "
                                "requests one scorer worker holds at once")
    max_latency_ms: int = Field(ge=1, le=60_000, description="the longest a request may wait for others plus "
                                "the batch's run time, measured (a request never fails for it: at low load it "
                                "does not wait at all)")
    input: str = Field(DEFAULT_INPUT, pattern=INPUT_NAME_PATTERN, description="the request key (for an "
                       "inference-schema run(): the parameter) whose array is batched, rows along its first "
                       "axis; default `data`")
