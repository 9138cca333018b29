"""The guide's `service.run(input_data)`: one scoring request, for `serve`'s smoke test and
the `test` command."""
from __future__ import annotations

import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Reply:
    status: int | None  # None: nothing answered
    body: bytes
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def text(self) -> str:
        return self.body.decode("utf-8", "replace") if self.body else self.error


def content_type_for(path: Path) -> str:
    return "application/json" if path.suffix.lower() == ".json" else "application/octet-stream"


def score(uri: str, key: str | None, data: bytes, content_type: str = "application/json",
          timeout: float = 60.0) -> Reply:
    """POST `data` to `uri` with the key as `Authorization: Bearer`."""
    headers = {"Content-Type": content_type}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    request = urllib.request.Request(uri, data=data, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return Reply(response.status, response.read())
    except urllib.error.HTTPError as err:
        return Reply(err.code, err.read())
    except (urllib.error.URLError, OSError) as err:
        return Reply(None, b"", f"no answer from {uri}: {getattr(err, 'reason', err)}")
