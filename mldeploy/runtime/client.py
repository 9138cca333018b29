"""The guide's `service.run(input_data)`: one scoring request, for `serve`'s smoke test and
the `test` command."""
from __future__ import annotations

import re
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Reply:
    status: int | None  # None: nothing answered
    body: bytes
    error: str = ""
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def text(self) -> str:
        return self.body.decode("utf-8", "replace") if self.body else self.error


def content_type_for(path: Path) -> str:
    return "application/json" if path.suffix.lower() == ".json" else "application/octet-stream"


PEM_CERT = re.compile(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.S)


def pinned_context(cert_file: str) -> ssl.SSLContext:
    """Trust exactly the served certificate (the first one in `cert_file`, as nginx sends it)."""
    found = PEM_CERT.search(open(cert_file, encoding="ascii", errors="replace").read())
    if found is None:
        raise ValueError(f"{cert_file} holds no PEM certificate")
    context = ssl.create_default_context(cadata=found.group(0))
    # The leaf itself is the only trust anchor, so no CA or name can vouch for another
    # certificate; the name it was issued for (say, the production host) need not be 127.0.0.1.
    context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
    context.check_hostname = False
    return context


def score(uri: str, key: str | None, data: bytes, content_type: str = "application/json",
          timeout: float = 60.0, cafile: str | None = None, extra_headers: dict[str, str] | None = None) -> Reply:
    """POST `data` to `uri` with the key as `Authorization: Bearer`. With `cafile` (a local
    service's certificate) the server must present that certificate; else default verification."""
    headers = {"Content-Type": content_type, **(extra_headers or {})}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    request = urllib.request.Request(uri, data=data, headers=headers, method="POST")
    try:
        context = pinned_context(cafile) if cafile and uri.startswith("https://") else None
    except (OSError, ValueError) as err:
        return Reply(None, b"", f"cannot use the certificate to trust: {err}")
    try:
        with urllib.request.urlopen(request, timeout=timeout, context=context) as response:
            return Reply(response.status, response.read(), headers={k.lower(): v for k, v in response.headers.items()})
    except urllib.error.HTTPError as err:
        return Reply(err.code, err.read(), headers={k.lower(): v for k, v in err.headers.items()})
    except (urllib.error.URLError, OSError) as err:
        return Reply(None, b"", f"no answer from {uri}: {getattr(err, 'reason', err)}")
