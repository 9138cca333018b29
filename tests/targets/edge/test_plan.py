"""targets/edge/plan.py: one `edge` entry's hub, module, routes and target devices (pure, no mocks)."""
from __future__ import annotations

from mldeploy.plan.edge import deployment_id
from mldeploy.targets.edge.config import EdgeSettings
from mldeploy.targets.edge.plan import plan_edge

IMAGE = "cr.io/diabetes@sha256:" + "a" * 64


def _plan(**entry):
    s = EdgeSettings.model_validate({"image": "diabetes", "iotHub": {"name": "hub-one"}, "registryAdminUser": True,
                                     **({"deviceId": "dev-1"} if "targetCondition" not in entry else {}), **entry})
    return plan_edge("site", s, image=IMAGE)


def test_the_module_is_named_after_the_image_by_default():
    assert _plan().module.name == "diabetes", "edge.site.moduleName omitted: the image's name"


def test_the_host_port_defaults_to_the_port():
    module = _plan(port=6000).module
    assert (module.port, module.host_port) == (6000, 6000), "edge.site.hostPort omitted: the module's port"


def test_the_module_pulls_the_image_it_is_given():
    assert _plan().module.image == IMAGE, "edge.site: the built image by digest"


def test_without_routes_the_modules_messages_go_upstream():
    assert _plan().routes == {"diabetesToIoTHub": "FROM /messages/modules/diabetes/outputs/* INTO $upstream"}, \
        "edge.site.routes omitted"


def test_one_device_has_no_priority_or_labels():
    plan = _plan()
    assert (plan.device_id, plan.priority, plan.labels) == ("dev-1", None, None), "edge.site.deviceId"


def test_at_scale_the_priority_defaults_to_10():
    assert _plan(targetCondition="tags.env='prod'").priority == 10, "edge.site.priority omitted"


def test_at_scale_the_labels_name_the_entry():
    labels = _plan(targetCondition="tags.env='prod'", labels={"team": "ml"}).labels
    assert labels == {"team": "ml", "mldeploy-entry": "site"}, "edge.site.labels plus the entry marker"


def test_the_deployment_id_changes_with_the_content():
    assert deployment_id("site", {"a": 1}) != deployment_id("site", {"a": 2}), \
        "IoT Hub configurations are immutable: new content, new id"
