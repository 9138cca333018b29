"""Just enough of nginx's config language to check a gateway's structure: directives with their
arguments and blocks, and which `location` nginx picks for a path.

Hand-written rather than a parser package: the policy pack reads a string from resource props
(crossplane, the maintained parser, reads files), and the grammar is small (nginx's
ngx_conf_read_token: words, quotes, `;`, `{`, `}`, `#` comments).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterator


class NginxSyntaxError(ValueError):
    pass


@dataclass(frozen=True)
class Directive:
    name: str
    args: tuple[str, ...]
    block: tuple["Directive", ...] | None = None
    line: int = 0

    def text(self) -> str:
        """The directive as written (without its block), for messages."""
        return " ".join((self.name, *self.args))

    def children(self, name: str) -> list["Directive"]:
        return [d for d in self.block or () if d.name == name]


_SPECIAL = {";", "{", "}"}
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r"}


def _unescape(c: str) -> str:
    """A backslash escape inside quotes, as nginx reads it."""
    if c in _ESCAPES:
        return _ESCAPES[c]
    return c if c in "\"'\\" else "\\" + c


def _tokens(text: str) -> Iterator[tuple[str, int, bool]]:
    """(token, line, quoted): quoted tokens are never `;`, `{` or `}`."""
    i, line, n = 0, 1, len(text)
    while i < n:
        c = text[i]
        if c == "\n":
            line += 1
        if c.isspace():
            i += 1
        elif c == "#":
            while i < n and text[i] != "\n":
                i += 1
        elif c in _SPECIAL:
            yield c, line, False
            i += 1
        elif c in "\"'":
            start, i, out = line, i + 1, []
            while i < n and text[i] != c:
                if text[i] == "\\" and i + 1 < n:
                    i += 1
                    out.append(_unescape(text[i]))
                else:
                    line += text[i] == "\n"
                    out.append(text[i])
                i += 1
            if i >= n:
                raise NginxSyntaxError(f"line {start}: unterminated quote")
            yield "".join(out), start, True
            i += 1
        else:
            out = []
            while i < n and not text[i].isspace() and text[i] not in ";{}":
                if text[i] == "\\" and i + 1 < n:
                    out.append(text[i:i + 2])
                    i += 2
                elif text[i] == "$" and text[i + 1:i + 2] == "{":  # ${var} is one word
                    end = text.find("}", i)
                    if end < 0:
                        raise NginxSyntaxError(f"line {line}: unterminated ${{")
                    out.append(text[i:end + 1])
                    i = end + 1
                else:
                    out.append(text[i])
                    i += 1
            yield "".join(out), line, False


def parse(text: str) -> tuple[Directive, ...]:
    """The top-level directives of an nginx config."""
    tokens = list(_tokens(text))
    pos = 0

    def block(depth: int) -> tuple[Directive, ...]:
        nonlocal pos
        out: list[Directive] = []
        words: list[str] = []
        first = 0
        while pos < len(tokens):
            tok, line, quoted = tokens[pos]
            pos += 1
            if not quoted and tok == ";":
                if not words:
                    raise NginxSyntaxError(f"line {line}: unexpected ';'")
                out.append(Directive(words[0], tuple(words[1:]), None, first))
                words = []
            elif not quoted and tok == "{":
                if not words:
                    raise NginxSyntaxError(f"line {line}: block without a directive")
                name, args, at = words[0], tuple(words[1:]), first
                words = []
                out.append(Directive(name, args, block(depth + 1), at))
            elif not quoted and tok == "}":
                if depth == 0:
                    raise NginxSyntaxError(f"line {line}: unexpected '}}'")
                if words:
                    raise NginxSyntaxError(f"line {line}: directive {words[0]!r} has no ';'")
                return tuple(out)
            else:
                if not words:
                    first = line
                words.append(tok)
        if depth:
            raise NginxSyntaxError("unbalanced '{': the config ends inside a block")
        if words:
            raise NginxSyntaxError(f"directive {words[0]!r} has no ';'")
        return tuple(out)

    return block(0)


def _location_key(d: Directive) -> tuple[str, str] | None:
    """(modifier, uri) of a location; modifier is "=", "^~", "~", "~*" or "" (prefix)."""
    args = d.args
    if not args:
        return None
    if len(args) >= 2 and args[0] in ("=", "^~", "~", "~*"):
        return args[0], args[1]
    uri = args[0]
    for mod in ("=", "^~", "~*", "~"):  # `location =/score` is allowed too
        if uri.startswith(mod) and len(uri) > len(mod):
            return mod, uri[len(mod):]
    return "", uri


def location_for(server: Directive, path: str) -> Directive | None:
    """The top-level location of `server` nginx serves `path` from: exact match, else the
    longest prefix unless a regex matches first (and the prefix is not `^~`)."""
    prefix: tuple[int, Directive, str] | None = None
    regexes: list[tuple[Directive, str, str]] = []
    for loc in server.children("location"):
        key = _location_key(loc)
        if key is None or key[1].startswith("@"):
            continue
        mod, uri = key
        if mod == "=":
            if uri == path:
                return loc
        elif mod in ("~", "~*"):
            regexes.append((loc, mod, uri))
        elif path.startswith(uri) and (prefix is None or len(uri) > prefix[0]):
            prefix = (len(uri), loc, mod)
    if prefix is not None and prefix[2] == "^~":
        return prefix[1]
    for loc, mod, uri in regexes:
        try:
            if re.search(uri, path, re.IGNORECASE if mod == "~*" else 0):
                return loc
        except re.error:
            continue  # PCRE-only syntax: cannot tell; the prefix answer stands
    return prefix[1] if prefix else None
