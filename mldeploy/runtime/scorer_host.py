"""The scorer process: the Azure ML inference server (azmlinfsrv) exactly as its own command
runs it, with the few changes mldeploy needs, all here. Run as a file by the scoring
environment's Python (`python scorer_host.py --entry_script ... --port ...`): it imports only the
server and the standard library, never mldeploy (which is not installed there).

1. JSON the server cannot parse is the client's mistake (400), whatever the user's score.py:
   azmlinfsrv 1.5.1 parses the body with `json.loads` and turns only JSONDecodeError into a 400;
   an integer longer than Python's int-digit limit (ValueError) or nesting deeper than the
   recursion limit (RecursionError) fell through to its catch-all 500.
2. `MLDEPLOY_SCORER_HOST`: the address to bind (the server always binds 0.0.0.0).
3. `MLDEPLOY_SCORER_FD`: a listening socket already bound by the parent, used as is (gunicorn's
   `fd://` bind): nothing picks a free port and binds it later, so there is no race for it.
4. The served swagger marks as `required` every input run() has no default for (the server
   answers 400 without them, but its swagger listed them as optional: `{}` looked valid).
5. gunicorn's control socket is off: every gunicorn of a user shares its default path
   (~/.gunicorn/gunicorn.ctl), so two scorers served at once stepped on each other, and nothing
   here uses it.
"""
from __future__ import annotations

import json
import os
import sys


class BoundedJson:
    """Stands in for the `json` module inside the server's input parser: a body it cannot turn
    into Python objects raises JSONDecodeError, which the server answers with a JSON 400."""

    JSONDecodeError = json.JSONDecodeError

    @staticmethod
    def loads(text, *args, **kwargs):
        try:
            return json.loads(text, *args, **kwargs)
        except json.JSONDecodeError:
            raise
        except RecursionError:
            raise json.JSONDecodeError("JSON nested too deeply", _as_text(text), 0) from None
        except ValueError as err:  # e.g. "Exceeds the limit (4300 digits) for integer string conversion"
            raise json.JSONDecodeError(f"unusable JSON value ({err})", _as_text(text), 0) from None

    dumps = staticmethod(json.dumps)
    dump = staticmethod(json.dump)
    load = staticmethod(json.load)


def _as_text(text) -> str:
    return text if isinstance(text, str) else ""


def _patch_server() -> None:
    import azureml_inference_server_http.constants as constants
    import gunicorn.app.wsgiapp as wsgiapp

    host = os.environ.get("MLDEPLOY_SCORER_HOST")
    if host:
        constants.DEFAULT_HOST = host
    fd = os.environ.pop("MLDEPLOY_SCORER_FD", None)

    class Application(wsgiapp.WSGIApplication):
        def __init__(self, *args, **kwargs):
            # azmlinfsrv builds gunicorn's argv itself (`-b host:port ...`); adjust it here.
            argv = sys.argv
            if fd is not None and "-b" in argv:
                argv[argv.index("-b") + 1] = f"fd://{int(fd)}"
            argv.insert(1, "--no-control-socket")
            # Only now: the server's config object is made when its modules are first imported,
            # which must come after azmlinfsrv has read its command line.
            from azureml_inference_server_http.server import input_parsers

            input_parsers.json = BoundedJson
            _require_run_inputs()
            super().__init__(*args, **kwargs)

    wsgiapp.WSGIApplication = Application


def _require_run_inputs() -> None:
    import inspect

    from azureml_inference_server_http.server import swagger

    original = swagger.get_input_schema

    def get_input_schema(run_function):
        schema = dict(original(run_function))
        properties = schema.get("properties") or {}
        required = [name for name, p in inspect.signature(run_function).parameters.items()
                    if p.default is inspect.Parameter.empty and name in properties]
        if required:
            schema["required"] = sorted(set(schema.get("required", [])) | set(required))
        return schema

    swagger.get_input_schema = get_input_schema


def main() -> None:
    _patch_server()
    from azureml_inference_server_http.amlserver import run

    sys.argv[0] = "azmlinfsrv"
    run()


if __name__ == "__main__":
    main()
