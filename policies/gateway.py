"""What a gateway's nginx.conf enforces, read from its structure rather than from the program's
markers: the key check on /score and TLS on every listener.

The shapes are those `mldeploy/render/gateway.py` renders: with auth on, a `map
$http_authorization $var { default 0; include <keys file>; }` and, in the location serving
/score, `if ($var = 0) { return 401; }`; with TLS on, `listen ... ssl` plus `ssl_certificate`
and `ssl_certificate_key`. Equivalent spellings (`!= 1`, `!$var`, 403) count too.
"""
from __future__ import annotations

import re
from typing import Callable

from mldeploy.contract import SCORE_PATH

from mldeploy.render.gateway import TLS_RELOAD_VAR
from mldeploy.policies.nginx import Directive, location_for

WEAK_PROTOCOLS = ("SSLv2", "SSLv3", "TLSv1", "TLSv1.1")
_MAP_KEYWORDS = {"default", "include", "hostnames", "volatile"}
# `($var = 0)`, `($var != "1")`, `(!$var)`, `($var)`, once the tokens are joined without spaces.
_CONDITION = re.compile(r"^\((!?)(\$\w+)(?:(!?=)(.*))?\)$")


def http_level(top: tuple[Directive, ...]) -> tuple[Directive, ...]:
    """The directives of the `http` block(s) (a config without one is read as its body)."""
    blocks = [d for d in top if d.name == "http" and d.block is not None]
    if not blocks:
        return top
    return tuple(d for b in blocks for d in b.block or ())


def servers(top: tuple[Directive, ...]) -> list[Directive]:
    return [d for d in http_level(top) if d.name == "server" and d.block is not None]


def _denied_when(condition: Directive) -> tuple[str, Callable[[str], bool]] | None:
    """(variable, values of it for which the `if` fires), or None if it is not such a test."""
    m = _CONDITION.match("".join(condition.args))
    if not m:
        return None
    negated, var, op, value = m.group(1), m.group(2), m.group(3), m.group(4)
    if op is None:  # nginx: a variable is false when empty or "0"
        return var, (lambda v: v in ("", "0")) if negated else (lambda v: v not in ("", "0"))
    if negated:
        return None
    return var, (lambda v: v == value) if op == "=" else (lambda v: v != value)


def _rejects(block: tuple[Directive, ...] | None) -> bool:
    return any(d.name == "return" and d.args[:1] in (("401",), ("403",)) for d in block or ())


def _map_problems(m: Directive, denied: Callable[[str], bool]) -> list[str]:
    """What lets a request through the key map without a key (its visible part: the keys file
    itself is secret and not read)."""
    head = f"`map {' '.join(m.args)}`"
    problems = []
    if not m.children("include"):
        problems.append(f"{head} includes no keys file")
    defaults = m.children("default")
    default = defaults[-1].args[0] if defaults and defaults[-1].args else ""
    if not denied(default):
        problems.append(f"{head} lets requests without a valid key through: its default is {default!r}")
    for entry in m.block or ():
        if entry.name not in _MAP_KEYWORDS and entry.args and not denied(entry.args[0]):
            # The entry is not quoted back: it may be a key written into the config itself.
            problems.append(f"{head} authorizes a value written in the config itself (line {entry.line}), "
                            "besides the keys file")
    return problems


def auth_problems(top: tuple[Directive, ...]) -> tuple[list[str], list[str]]:
    """(problems, keys files the check includes) of the key check on /score."""
    maps = {d.args[1]: d for d in http_level(top)
            if d.name == "map" and len(d.args) >= 2 and d.args[0] == "$http_authorization" and d.block is not None}
    found = servers(top)
    if not found:
        return ["it declares no `server`"], []
    problems: list[str] = []
    files: list[str] = []
    for server in found:
        loc = location_for(server, SCORE_PATH)
        if loc is None:
            problems.append(f"no location serves {SCORE_PATH}")
            continue
        where = f"`location {' '.join(loc.args)}` (which serves {SCORE_PATH})"
        checks = []
        for cond in [*loc.children("if"), *server.children("if")]:
            test = _denied_when(cond)
            if test is not None and test[0] in maps and _rejects(cond.block):
                checks.append((maps[test[0]], test[1]))
        if not checks:
            problems.append(f"{where} passes requests to the scorer without the key check: no "
                            "`if ($<var> = 0) { return 401; }` on a `map $http_authorization` of the keys")
            continue
        for m, denied in checks:
            problems += [p for p in _map_problems(m, denied) if p not in problems]
            files += [i.args[0] for i in m.children("include") if i.args and i.args[0] not in files]
    return problems, files


def listens_with_ssl(top: tuple[Directive, ...]) -> bool:
    """Whether any server listens with `ssl` (nginx then needs its certificate and key to start)."""
    return any("ssl" in d.args[1:] for server in servers(top) for d in server.children("listen"))


def tls_problems(top: tuple[Directive, ...]) -> tuple[list[str], list[str]]:
    """(problems, certificate and key files) of TLS on every listener."""
    http = http_level(top)
    found = servers(top)
    if not found:
        return ["it declares no `server`"], []
    problems: list[str] = []
    files: list[str] = []
    for server in found:
        listens = server.children("listen")
        if not listens:
            problems.append(f"the server at line {server.line} has no `listen`, so nginx serves plain HTTP on port 80")
        # A `unix:` socket is no network port: only processes that see its file reach it (the
        # gateway's own hop for chunked bodies, in its run folder).
        problems += [f"`{d.text()}` has no `ssl`: that port serves plain HTTP"
                     for d in listens if "ssl" not in d.args[1:] and not (d.args and d.args[0].startswith("unix:"))]
        inherited = {name: [d for d in (*http, *(server.block or ())) if d.name == name]
                     for name in ("ssl_certificate", "ssl_certificate_key", "ssl_protocols")}
        for name in ("ssl_certificate", "ssl_certificate_key"):
            if not inherited[name] or not inherited[name][-1].args:
                problems.append(f"the server at line {server.line} has no `{name}`")
            else:
                # The gateway's own always-empty variable (per-handshake reading): the file stays.
                path = inherited[name][-1].args[0].removesuffix(TLS_RELOAD_VAR)
                # `data:$var` / variable paths are not files on a volume: nothing to follow.
                if "$" not in path and not path.startswith("data:") and path not in files:
                    files.append(path)
        if inherited["ssl_protocols"]:
            weak = [p for p in inherited["ssl_protocols"][-1].args if p in WEAK_PROTOCOLS]
            if weak:
                problems.append(f"the server at line {server.line} allows {', '.join(weak)} (ssl_protocols)")
    return problems, files
