"""`mldeploy test`: the guide's `service.run(input_data)` against any deployment - a local
service, an ACI/AKS service of a stack, or any URI with a key."""
from __future__ import annotations

import json
import re
import shutil
import stat
import subprocess
import sys
import urllib.parse
from pathlib import Path

import click

from mldeploy.cli import find_project_root, project_dir_option
from mldeploy.config import ConfigError


def _local_endpoint(root: Path, stack: str, name: str) -> tuple[str, str | None, str | None]:
    from mldeploy.cli.serve import run_dir
    from mldeploy.runtime.local import ENDPOINT_FILE

    path = run_dir(root, stack, name) / ENDPOINT_FILE
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        raise click.ClickException(f"service {name!r} is not being served: start it with "
                                   f"`mldeploy serve --stack {stack} --service {name}`") from None
    # caFile: a local TLS service's own certificate, the one to trust (it is rarely in a CA store).
    return data["scoringUri"], data.get("primaryKey"), data.get("caFile")


def _note_if_the_stack_changed(root: Path, stack: str, name: str) -> None:
    """A stack file saved after `serve` began serving (a traffic shift rehearsed on this machine):
    the running copy still serves what the file said then, and answers as if the edit were in."""
    from mldeploy.cli.serve import run_dir
    from mldeploy.contract import stack_file_path
    from mldeploy.runtime.local import ENDPOINT_FILE

    try:
        served = (run_dir(root, stack, name) / ENDPOINT_FILE).stat().st_mtime
        edited = (root / stack_file_path(stack)).stat().st_mtime
    except OSError:
        return
    if edited > served:
        click.echo(f"note: {stack_file_path(stack)} changed after `mldeploy serve` started serving {name!r}, which "
                   "still serves what the file said then (traffic split, models, settings): stop it and run "
                   f"`mldeploy serve --stack {stack}` again to rehearse the change", err=True)


def _warn_of_model_libraries(settings, root: Path) -> None:
    """A model pickled by another scikit-learn than its image pins, as synth and serve say it: a
    deployed service answering oddly (or a 500 from init()) is read next to its cause. The stack file
    and model files are this checkout's: the service deployed from them is what they describe."""
    from mldeploy.contract import stack_file_path
    from mldeploy.plan.model_libraries import model_library_warnings

    for warning in model_library_warnings(settings, root):
        click.echo(f"warning: {stack_file_path(settings.stack)}: {warning}", err=True)


def _stack_endpoint(root: Path, stack: str, name: str) -> tuple[str, str | None, None]:
    pulumi = shutil.which("pulumi")
    if pulumi is None:
        raise click.ClickException("reading a deployed stack's URI and keys needs the Pulumi CLI: "
                                   "install it, or pass --uri and --key; `--local` tests the copy "
                                   f"`mldeploy serve --stack {stack}` runs on this machine")
    done = subprocess.run([pulumi, "stack", "output", "--stack", stack, "--json", "--show-secrets"],
                          cwd=root, capture_output=True, text=True)
    if done.returncode != 0:
        raise click.ClickException(f"pulumi stack output failed: {done.stderr.strip()[-300:]}")
    outputs = json.loads(done.stdout or "{}")
    service = (outputs.get("services") or {}).get(name)
    if not service:
        raise click.ClickException(f"stack {stack!r} has no deployed service {name!r}: run `pulumi up` first")
    keys = (outputs.get("serviceKeys") or {}).get(name) or {}
    return service["scoringUri"], keys.get("primaryKey"), None


def _read_body(path: Path) -> bytes:
    """--data's bytes; a FIFO or device (which click's `exists` lets through) would be read until a writer
    closes it - a hang - and a file that cannot be read is one line, not a traceback."""
    try:
        if not stat.S_ISREG(path.stat().st_mode):
            raise click.UsageError(f"--data {path}: not a regular file (a FIFO or device would be read until it "
                                   "ends); write the request body to a file")
        return path.read_bytes()
    except OSError as err:
        raise click.UsageError(f"--data {path}: cannot read it ({err.strerror})") from None


def _refuse_bad_json(path: Path, body: bytes, content_type: str) -> None:
    """A body sent as JSON must parse: the scorer would only answer 400. Raw bodies (any other
    Content-Type: a `@rawhttp` scorer such as examples/binary-echo) are sent as they are."""
    media = content_type.split(";", 1)[0].strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        return
    try:
        json.loads(body)  # bytes: UTF-8/16/32 detected as RFC 8259 allows
    except ValueError as err:  # JSONDecodeError, or bytes in no Unicode encoding
        raise ConfigError("--data", f"not JSON ({err}); it would be sent as {media}: fix it, or pass "
                          "--content-type for a raw body", source=str(path)) from None


def _body_hint(path: Path, body: bytes, content_type: str) -> str:
    """Why a JSON body that is not an object got its 400 (azmlinfsrv says only "POST body should be
    a JSON dictionary."): a new user's `--data rows.json` held the rows alone."""
    if not content_type.split(";", 1)[0].strip().lower().endswith("json"):
        return ""
    try:
        value = json.loads(body)
    except ValueError:
        return ""
    if isinstance(value, dict):
        return ""
    kind = {list: "list", str: "string", bool: "boolean", type(None): "null"}.get(type(value), "number")
    return (f" ({path} holds a JSON {kind}; a scoring request is a JSON object such as the sample request's "
            '{"data": [[...], ...]}: put your rows under "data")')


def _scoring_uri(_ctx, _param, value: str | None) -> str | None:
    """--uri as urllib can send to: http(s), a host, a whole port; anything else is a usage error
    here, not urllib's traceback (`unknown url type`, `Invalid IPv6 URL`) or a DNS lookup of ftp://."""
    if value is None:
        return None
    allowed = "a scoring URI is http://HOST[:PORT]/PATH or https://..., such as http://127.0.0.1:8890/score"
    try:
        parts = urllib.parse.urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a whole number 0-65535
    except ValueError as err:
        raise click.BadParameter(f"{value!r}: {err}; {allowed}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise click.BadParameter(f"{value!r}: {allowed}")
    return value


def _header_safe(what: str, pattern: str, secret: bool = False, where: str = "an HTTP header"):
    """A click callback: the option's value is sent in an HTTP header, which carries printable ASCII
    alone (http.client raises UnicodeEncodeError / `Invalid header value` otherwise). A key's
    characters are not repeated in the error: it is a secret, and a pasted one may be a real one."""
    def check(_ctx, _param, value: str | None) -> str | None:
        if not value or re.fullmatch(pattern, value):
            return value
        at = next(i for i, c in enumerate(value) if not re.fullmatch(pattern, c))
        shown = f"character {at + 1}" if secret else f"{value!r}: character {at + 1} ({value[at]!r})"
        raise click.BadParameter(f"{shown} cannot be sent in {where}; {what}")
    return check


@click.command("test")
@click.option("--stack", "-s", default=None, help="Stack of the service (with --service).")
@click.option("--service", default=None, help="The service to test.")
@click.option("--uri", default=None, callback=_scoring_uri,
              help="A scoring URI (http or https), instead of --stack/--service.")
@click.option("--key", default=None, help="The key for --uri (sent as Authorization: Bearer).",
              callback=_header_safe("a key is ASCII letters, digits and punctuation, no space (as `mldeploy serve` "
                                    "and Azure print it)", r"[!-~]+", secret=True,
                                    where="a Bearer token (RFC 6750: no space)"))
@click.option("--data", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="Request body (default: the service's sample request). .json is sent as JSON, "
                   "anything else as application/octet-stream.")
@click.option("--content-type", default=None, help="Override the request's Content-Type.",
              callback=_header_safe("a media type is ASCII, such as text/csv or application/json; charset=utf-8",
                                    r"[ -~]+"))
@click.option("--deployment", default=None, help="Online endpoints: send the request to this deployment "
              "(the azureml-model-deployment header), whatever its traffic share.",
              callback=_header_safe("a deployment name is ASCII letters, digits and '-'", r"[ -~]+"))
@click.option("--local", "use_local", is_flag=True, help="Test the copy `mldeploy serve` runs on this machine "
              "instead of the deployed service (the default for `target: local`).")
@project_dir_option
def command(stack, service, uri, key, data, content_type, deployment, use_local, project_dir) -> None:
    """Score one request against a deployment and print the response; exit 1 on any failure."""
    from mldeploy.runtime.client import content_type_for, score

    if uri is None and (stack is None or service is None):
        raise click.UsageError("give --stack and --service, or --uri (and --key)")
    if uri is not None and key is None and stack is None:
        click.echo("note: no --key given: sending the request without Authorization", err=True)
    cafile = None
    if uri is None or data is None:
        from mldeploy.cli.serve import sample_for, select_services
        from mldeploy.targets.stack import load_stack
        from mldeploy.targets import target_of

        if stack is None or service is None:
            raise click.UsageError("--data is required with --uri (or give --stack and --service for the sample)")
        root = project_dir.resolve() if project_dir else find_project_root()
        settings = load_stack(root, stack)
        select_services(settings, service)
        svc = settings.services[service]
        target = target_of(svc)
        if deployment is not None:
            known = target.deployments(svc)
            if deployment not in known and deployment in target.log_variants(svc):
                # An AKS/FPGA canary or a container app's revision: `logs --deployment` takes it (its own
                # pods), but no header picks it per request (hday2's day 2 read "has no deployments").
                raise click.UsageError(f"--deployment {deployment!r}: {deployment!r} of service {service!r} is a "
                                       "variant of its traffic split, which no request can pick (only an online "
                                       "endpoint's deployments can be, by header): its share is set in the stack "
                                       f"file; `mldeploy logs --stack {stack} --service {service} --deployment "
                                       f"{deployment}{' --local' if use_local else ''}` shows what it answered")
            if deployment not in known:
                # A split's variants are named as `logs` names them (hwalk2 typed the diff's resource
                # name, `churn-canary`, and read only "has no deployments").
                variants = target.log_variants(svc)
                raise click.UsageError(f"--deployment {deployment!r}: service {service!r} has "
                                       + (f"deployments {', '.join(known)}" if known else "no deployments "
                                          "(only online endpoints do)")
                                       + (f"; the variants of its traffic split are {', '.join(variants)}, which no "
                                          "request can pick (`mldeploy logs --deployment` shows each one's logs)"
                                          if variants and not known else ""))
        if uri is None:
            local = target.runs_here or use_local
            uri, found_key, cafile = (_local_endpoint if local else _stack_endpoint)(root, stack, service)
            key = key or found_key
            if local:
                _note_if_the_stack_changed(root, stack, service)
        _warn_of_model_libraries(settings, root)
        if data is None:
            data = sample_for(settings, service, root)
            if data is None:
                raise click.UsageError(f"service {service!r} has no sampleRequest: pass --data")
    from mldeploy.plan.endpoint import DEPLOYMENT_HEADER

    pin = {DEPLOYMENT_HEADER: deployment} if deployment else None
    body, sent_as = _read_body(data), content_type or content_type_for(data)
    _refuse_bad_json(data, body, sent_as)
    reply = score(uri, key, body, sent_as, cafile=cafile, extra_headers=pin)
    if DEPLOYMENT_HEADER in reply.headers:
        click.echo(f"served by deployment {reply.headers[DEPLOYMENT_HEADER]}", err=True)
    if not reply.ok:
        status = reply.status if reply.status is not None else "no answer"
        hint = _body_hint(data, body, sent_as) if reply.status == 400 else ""
        click.echo(f"error: {uri}: status {status}: {reply.text()[:2000]}{hint}", err=True)
        sys.exit(1)
    sys.stdout.write(reply.text() + ("\n" if not reply.text().endswith("\n") else ""))
