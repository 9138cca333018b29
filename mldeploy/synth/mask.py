"""Masking for synthesized files: every secret value becomes "[secret]", and a secret found
where Pulumi did not mark one (a leak into plain state) is reported, not silently hidden."""
from __future__ import annotations

import base64
from typing import Any

import pulumi

from mldeploy.contract import MASK
from mldeploy.pulumi_internals import is_wire_secret, unwrap_wire_secret
from mldeploy.render.gateway import escape_key


class Masker:
    def __init__(self, known_secrets: list[str]):
        # Longest first, so a secret containing another is replaced whole.
        self.known = sorted(set(known_secrets), key=len, reverse=True)
        # A key also appears escaped inside a gateway keys map: the same secret, masked too - but
        # not counted as a value found, so a secret holding only such a map stays masked whole.
        self.escaped = sorted({escape_key(s) for s in known_secrets} - set(self.known) - {""}, key=len, reverse=True)
        self.leaks: list[str] = []

    def _replace(self, text: str) -> tuple[str, bool]:
        found = False
        for secret in self.known:
            if secret in text:
                text = text.replace(secret, MASK)
                found = True
        for secret in self.escaped:
            text = text.replace(secret, MASK)
        return text, found

    def _in_base64(self, text: str) -> bool:
        """Whether `text` is base64 of UTF-8 text holding a known secret: files travel so (ACI
        secret volumes), and a file beside a secret one is shown, so one holding a secret unmarked
        must be caught like plain text. Only a whole value is decoded (stdlib base64, strict)."""
        if len(text) < 8 or len(text) % 4:
            return False
        try:
            decoded = base64.b64decode(text, validate=True).decode("utf-8")
        except (ValueError, UnicodeDecodeError):  # binascii.Error is one; a non-ASCII str raises ValueError itself
            return False
        return any(secret in decoded for secret in self.known)

    def _walk(self, value: Any, where: str, inside_secret: bool) -> tuple[Any, bool]:
        if is_wire_secret(value):
            inner, found = self._walk(unwrap_wire_secret(value), where, True)
            # A secret whose value we cannot point at is masked whole.
            return (inner if found else MASK), True
        if isinstance(value, dict):
            out, found = {}, False
            for k in sorted(value):
                out[k], f = self._walk(value[k], f"{where}.{k}", inside_secret)
                found |= f
            return out, found
        if isinstance(value, (list, tuple)):
            items = [self._walk(v, f"{where}[{i}]", inside_secret) for i, v in enumerate(value)]
            return [i[0] for i in items], any(i[1] for i in items)
        if isinstance(value, pulumi.FileAsset):
            return {"asset": "file", "path": value.path}, False
        if isinstance(value, pulumi.StringAsset):
            return self._walk({"asset": "string", "text": value.text}, where, inside_secret)
        if isinstance(value, pulumi.FileArchive):
            return {"archive": "file", "path": value.path}, False
        if isinstance(value, str):
            text, found = self._replace(value)
            if found and not inside_secret:
                self.leaks.append(f"{where}: a secret value in plain text (not marked secret)")
            elif not inside_secret and self._in_base64(value):
                self.leaks.append(f"{where}: a secret value base64-encoded in plain text (not marked secret)")
                return MASK, False
            return text, found
        return value, False

    def scrub(self, inputs: dict[str, Any], where: str) -> dict[str, Any]:
        return self._walk(inputs, where, False)[0]

    def scrub_output(self, value: Any, is_secret: bool, where: str) -> Any:
        masked, found = self._walk(value, where, is_secret)
        if is_secret and not found:
            return MASK
        return masked
