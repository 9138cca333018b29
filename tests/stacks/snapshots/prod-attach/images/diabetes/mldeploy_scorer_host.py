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
6. gunicorn's access log is off: azmlinfsrv logs every request itself (`POST /score 200 1.3ms`);
   gunicorn's access line repeated it, written twice (its own handler and the server's).
7. The App Insights exporter (`azure.monitor.opentelemetry.exporter`, ~0.8 s of the server's
   ~1.1 s import, in every worker) is imported only when App Insights is configured: otherwise
   a stand-in module takes its place and imports it on first use.
"""
from __future__ import annotations

import importlib
import importlib.util
import json
import os
import sys
import types

APP_INSIGHTS_EXPORTER = "azure.monitor.opentelemetry.exporter"


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
            if "--access-logfile" in argv:
                at = argv.index("--access-logfile")
                del argv[at:at + 2]
            # Only now: the server's config object is made when its modules are first imported,
            # which must come after azmlinfsrv has read its command line.
            from azureml_inference_server_http.server import input_parsers

            input_parsers.json = BoundedJson
            _require_run_inputs()
            super().__init__(*args, **kwargs)

    wsgiapp.WSGIApplication = Application


def app_insights_configured(environ=os.environ) -> bool:
    """What azmlinfsrv's AppInsightsClient checks before it uses the exporter (server/config.py:
    AML_APP_INSIGHTS_ENABLED, AML_APP_INSIGHTS_KEY; amlserver.py sets both from its flags)."""
    return environ.get("AML_APP_INSIGHTS_ENABLED", "").lower() == "true" and bool(environ.get("AML_APP_INSIGHTS_KEY"))


def defer_app_insights_exporter() -> None:
    """Put a stand-in for the exporter module in sys.modules: the server's
    `from ... import AzureMonitorLogExporter, AzureMonitorTraceExporter` costs nothing, and any
    use (a call, another attribute) imports the real module in its place first."""
    if APP_INSIGHTS_EXPORTER in sys.modules:
        return
    stand_in = types.ModuleType(APP_INSIGHTS_EXPORTER)

    def real():
        if sys.modules.get(APP_INSIGHTS_EXPORTER) is stand_in:
            del sys.modules[APP_INSIGHTS_EXPORTER]
        return importlib.import_module(APP_INSIGHTS_EXPORTER)

    def deferred(name):
        def make(*args, **kwargs):
            return getattr(real(), name)(*args, **kwargs)
        return make

    def other(name):  # PEP 562: any other public name loads the real module
        if name.startswith("__"):  # the import system probes e.g. __path__ on `from ... import`
            raise AttributeError(name)
        return getattr(real(), name)

    spec = importlib.util.find_spec(APP_INSIGHTS_EXPORTER)  # locates it, imports none of it
    if spec is None:
        return
    stand_in.__path__ = list(spec.submodule_search_locations or [])  # its submodules stay importable
    stand_in.AzureMonitorLogExporter = deferred("AzureMonitorLogExporter")
    stand_in.AzureMonitorTraceExporter = deferred("AzureMonitorTraceExporter")
    stand_in.__getattr__ = other
    sys.modules[APP_INSIGHTS_EXPORTER] = stand_in


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
    # A config file (--config_file, AZUREML_CONFIG_FILE) may turn App Insights on as well.
    if not app_insights_configured() and not {"--appinsights_instrumentation_key", "--config_file"} & set(sys.argv) \
            and "AZUREML_CONFIG_FILE" not in os.environ:
        defer_app_insights_exporter()
    from azureml_inference_server_http.amlserver import run

    sys.argv[0] = "azmlinfsrv"
    run()


if __name__ == "__main__":
    main()
