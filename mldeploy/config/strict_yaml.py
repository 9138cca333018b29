"""The one strict reader for user YAML (stack files, conda files): bytes in, plain data out, or a
one-line ConfigError.

PyYAML's SafeLoader is kept (no code execution) and made strict where it is silently lenient:
duplicate keys (PyYAML keeps the last one), aliases (an alias bomb expands exponentially while
the config is walked), nesting (the composer recurses: a deep document is a RecursionError) and
text encoding (decoded strictly as UTF-8, never guessed). No maintained library does all four on
top of PyYAML (`ruamel.yaml` refuses duplicates but still expands aliases), so it is done here.
"""
from __future__ import annotations

import codecs
import os
import stat
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.events import AliasEvent

from mldeploy.config.errors import ConfigError

MAX_BYTES = 1024 * 1024  # a stack file is a few KB; 1 MiB is far beyond any real one
MAX_DEPTH = 32  # the deepest real stack key is 5 levels down

_BOMS = {codecs.BOM_UTF32_LE: "UTF-32", codecs.BOM_UTF32_BE: "UTF-32",
         codecs.BOM_UTF16_LE: "UTF-16", codecs.BOM_UTF16_BE: "UTF-16"}


def read_text_file(path: Path, what: str, limit: int = MAX_BYTES) -> str:
    """A user file's text: readable, regular, at most `limit` bytes, strictly UTF-8 (a UTF-8 BOM
    is allowed). Errors name no key; the caller adds it (`with_source`, or its own key)."""
    try:
        mode = os.stat(path).st_mode
        if stat.S_ISDIR(mode):
            raise ConfigError("", f"is a folder, not a {what}")
        if not stat.S_ISREG(mode):  # opening a FIFO would block until someone writes to it
            raise ConfigError("", f"the {what} is not a regular file (a FIFO, device or socket)")
        with open(path, "rb") as f:
            data = f.read(limit + 1)
    except OSError as err:
        raise ConfigError("", f"cannot read the {what}: {err.strerror or err}") from None
    if len(data) > limit:
        raise ConfigError("", f"the {what} is larger than {limit // 1024} KiB")
    return decode_utf8(data, what)


def decode_utf8(data: bytes, what: str) -> str:
    for bom, name in _BOMS.items():
        if data.startswith(bom):
            raise ConfigError("", f"the {what} is {name} text; save it as UTF-8")
    if b"\x00" in data:
        raise ConfigError("", f"the {what} is binary (it holds NUL bytes); expected UTF-8 text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[:err.start].count(b"\n") + 1
        raise ConfigError("", f"the {what} is not UTF-8 (byte 0x{data[err.start]:02x} on line {line}); "
                              "save it as UTF-8") from None


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses aliases, duplicate keys and deep nesting."""

    def __init__(self, stream: str):
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent, index):  # noqa: ANN001 - PyYAML's signature
        if self.check_event(AliasEvent):
            event = self.peek_event()
            raise _Refused(event.start_mark, "YAML aliases (*name) are not supported in this file; "
                                             "write the value out")
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise _Refused(self.peek_event().start_mark, f"nested deeper than {MAX_DEPTH} levels")
        try:
            return Composer.compose_node(self, parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node, deep=False):  # noqa: ANN001
        seen: dict[Any, Any] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                hash(key)
            except TypeError:
                raise _Refused(key_node.start_mark, "a mapping key must be a plain value") from None
            if key in seen:
                raise _Refused(key_node.start_mark, f"duplicate key {key!r} (first on line "
                                                    f"{seen[key].line + 1}); each key may appear once")
            seen[key] = key_node.start_mark
        return super().construct_mapping(node, deep=deep)


class _Refused(Exception):
    def __init__(self, mark, message: str):
        super().__init__(message)
        self.mark, self.message = mark, message


def _where(mark) -> str:
    return f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "(file)"


def parse_yaml(text: str) -> Any:
    """Plain data (dicts, lists, scalars) from YAML text, or ConfigError naming line and column."""
    loader = None
    try:
        loader = _StrictLoader(text)  # the reader checks for control characters right here
        return loader.get_single_data()
    except _Refused as exc:
        raise ConfigError(_where(exc.mark), exc.message) from None
    except yaml.MarkedYAMLError as exc:
        raise ConfigError(_where(exc.problem_mark), f"invalid YAML: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:  # reader errors (control characters) carry no problem mark
        raise ConfigError("(file)", f"invalid YAML: {exc}") from None
    except RecursionError:  # flow collections nest in the parser before the composer sees them
        raise ConfigError("(file)", f"nested deeper than {MAX_DEPTH} levels") from None
    except (ValueError, OverflowError) as exc:  # a scalar PyYAML cannot convert: a 5,000-digit int, 2024-13-45
        raise ConfigError("(file)", f"invalid YAML value: {exc}") from None
    finally:
        if loader is not None:
            loader.dispose()
