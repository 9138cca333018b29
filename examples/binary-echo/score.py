"""The guide's binary-data example (`@rawhttp`): POST returns the body's bytes reversed, GET
returns the full URL of the request. No model: it shows how raw requests reach run(). The
imports are the guide's (SDK v1): the inference server provides azureml.contrib.services itself."""
from azureml.contrib.services.aml_request import AMLRequest, rawhttp  # noqa: F401 - the guide's import
from azureml.contrib.services.aml_response import AMLResponse


def init():
    print("This is init()")


@rawhttp
def run(request):
    if request.method == "GET":
        # The gateway passes the client's Host on, so this is the URL the client used.
        return AMLResponse(request.url.encode(), 200, {"Content-Type": "text/plain"})
    if request.method == "POST":
        return AMLResponse(request.get_data(cache=False)[::-1], 200,
                           {"Content-Type": "application/octet-stream"})
    # The guide answers 500 here; an unsupported method is the client's mistake.
    return AMLResponse("use GET or POST", 405, {"Allow": "GET, POST"})
