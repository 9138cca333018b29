"""A v2 deployment's container in Azure ML v2's layout (runtime/endpoint_containers.py v2_layout): the image's
CMD serves the code folder's script, AML_APP_ROOT and the working folder are the script's folder, the
code folder is mounted beside the image's models."""
from __future__ import annotations

from pathlib import Path

from mldeploy.runtime.endpoint_containers import V2_CODE_DIR, v2_layout

CMD = ["python", "/opt/mldeploy/mldeploy_scorer_host.py", "--entry_script", "/var/azureml-app/online/score.py",
       "--model_dir", "/var/azureml-app/azureml-models/diabetes/1", "--port", "5001"]


def test_the_script_s_folder_in_the_mounted_code_folder_is_the_app_root_and_working_folder():
    layout = v2_layout(CMD, Path("/synth/images/diabetes/app"))
    assert V2_CODE_DIR == "/var/azureml-app/app"
    assert dict(layout.env) == {"AML_APP_ROOT": "/var/azureml-app/app/online", "AZUREML_ENTRY_SCRIPT": "score.py"}
    assert layout.workdir == "/var/azureml-app/app/online"
    assert layout.mount == ("/synth/images/diabetes/app", "/var/azureml-app/app")
    assert list(layout.command) == [*CMD[:3], "/var/azureml-app/app/online/score.py", *CMD[4:]], "only the script moves"


def test_a_script_at_the_code_folder_s_root():
    cmd = [*CMD[:3], "/var/azureml-app/score.py", *CMD[4:]]
    layout = v2_layout(cmd, Path("/c"))
    assert layout.workdir == "/var/azureml-app/app" and layout.command[3] == "/var/azureml-app/app/score.py"
