"""Stack config validation: every kind of bad input stops with one message naming the key."""
from __future__ import annotations

import pytest

from mldeploy.config import ConfigError, parse_settings
from mldeploy.config.base import Secret, SecureValue
from mldeploy.targets.stack import SECTION_MODELS, SERVICE_MODELS
from tests.harness import ROOT, stack_values

SOURCE = "stacks/Pulumi.dev.yaml"


def parse(values, secret_keys=frozenset()):
    return parse_settings("dev", values, set(secret_keys), ROOT, SOURCE, SERVICE_MODELS, SECTION_MODELS)


def dev():
    return stack_values("dev")[0]


def expect_error(values, key, *fragments, secret_keys=frozenset()):
    with pytest.raises(ConfigError) as info:
        parse(values, secret_keys)
    err = info.value
    assert err.key == key, f"error names key {err.key!r}, expected {key!r}: {err}"
    assert err.source == SOURCE, f"error must name the stack file: {err}"
    for fragment in fragments:
        assert fragment in err.message, f"{fragment!r} missing from message: {err.message}"
    assert "\n" not in str(err), "errors are one line"
    return err


def test_dev_stack_parses_into_typed_settings():
    settings = parse(dev())
    assert settings.models["diabetes"].version == 1
    assert settings.images["diabetes"].models == ["diabetes"]
    assert settings.location == "westeurope"
    assert settings.production is False


def test_unknown_top_level_key_suggests_the_right_one():
    values = dev()
    values["mldeploy:modles"] = values.pop("mldeploy:models")
    expect_error(values, "mldeploy:modles", "unknown key 'modles'", "did you mean 'models'", "allowed:")


def test_typo_in_nested_key_lists_allowed_keys():
    values = dev()
    values["mldeploy:images"]["diabetes"]["entryScrpt"] = values["mldeploy:images"]["diabetes"].pop("entryScript")
    expect_error(values, "mldeploy:images.diabetes.entryScrpt", "did you mean 'entryScript'", "condaFile")


def test_wrong_type():
    values = dev()
    values["mldeploy:production"] = "maybe"
    expect_error(values, "mldeploy:production", "boolean", "'maybe'")


def test_a_single_name_where_a_list_belongs_says_how_to_write_the_list():
    values = dev()
    values["mldeploy:images"]["diabetes"]["models"] = "diabetes"
    err = expect_error(values, "mldeploy:images.diabetes.models", "must be a list (got 'diabetes')")
    assert err.message.endswith("; a list of one is written [diabetes]"), err.message


def test_missing_model_file():
    values = dev()
    values["mldeploy:models"]["diabetes"]["path"] = "models/nowhere.pkl"
    expect_error(values, "mldeploy:models.diabetes.path", "not found", "models/nowhere.pkl")


def test_missing_required_key():
    values = dev()
    del values["mldeploy:images"]["diabetes"]["entryScript"]
    expect_error(values, "mldeploy:images.diabetes.entryScript", "is required")


def test_dangling_model_reference():
    values = dev()
    values["mldeploy:images"]["diabetes"]["models"] = ["diabetez"]
    expect_error(values, "mldeploy:images.diabetes.models[0]", "'diabetez'", "does not exist", "known: diabetes")


def test_dangling_image_reference_from_a_service():
    values = dev()
    values["mldeploy:services"] = {"web": {"target": "local", "image": "nope"}}
    expect_error(values, "mldeploy:services.web.image", "'nope'", "known: diabetes")


@pytest.mark.parametrize("field,value,expected", [
    ("cpuCores", 0, "greater than 0"),
    ("cpuCores", -1, "greater than 0"),
    ("memoryGb", 0, "greater than 0"),
    ("maxRequestBodyMb", -5, "greater than 0"),
])
def test_zero_or_negative_sizes(field, value, expected):
    values = dev()
    values["mldeploy:services"] = {"web": {"target": "local", "image": "diabetes", field: value}}
    expect_error(values, f"mldeploy:services.web.{field}", expected, f"got {value}")


def test_non_positive_model_version():
    values = dev()
    values["mldeploy:models"]["diabetes"]["version"] = 0
    expect_error(values, "mldeploy:models.diabetes.version", "greater than or equal to 1")


def test_invalid_names_are_refused():
    values = dev()
    values["mldeploy:models"]["Bad_Name"] = values["mldeploy:models"].pop("diabetes")
    expect_error(values, "mldeploy:models", "invalid name 'Bad_Name'")


def test_unknown_service_target_lists_targets():
    values = dev()
    values["mldeploy:services"] = {"web": {"target": "azure", "image": "diabetes"}}
    expect_error(values, "mldeploy:services.web.target", "local", "aci", "aks")


def test_exactly_one_environment_file():
    values = dev()
    values["mldeploy:images"]["diabetes"]["requirementsFile"] = "examples/binary-echo/requirements.txt"
    expect_error(values, "mldeploy:images.diabetes", "exactly one of condaFile or requirementsFile")


def test_location_is_required():
    values = dev()
    del values["azure-native:location"]
    expect_error(values, "azure-native:location", "is required")


def test_plain_text_secret_is_refused_with_the_command_to_fix_it():
    values = dev()
    values["mldeploy:services"] = {"web": {"target": "local", "image": "diabetes",
                                           "keys": {"primary": "hunter2", "secondary": "hunter3"}}}
    err = expect_error(values, "mldeploy:services.web.keys.primary", "must be a secret")
    assert "pulumi config set --secret --path 'mldeploy:services.web.keys.primary'" in err.message


@pytest.mark.parametrize("section, value", [("keys", "hunter2-the-real-key"), ("keys", 73519024816),
                                            ("tls", "-----BEGIN PRIVATE KEY-----MIIEvQIBADANBgkqhkiG9w0B")])
def test_a_secret_written_in_place_of_its_mapping_is_not_repeated(section, value):
    # hreview's trial: `keys: <the key>` said `must be a mapping (got 'the key')`.
    values = dev()
    values["mldeploy:services"] = {"web": {"target": "local", "image": "diabetes", section: value}}
    err = expect_error(values, f"mldeploy:services.web.{section}", "must be a mapping (got a ",
                       "not shown: it may be the secret itself")
    assert str(value)[:10] not in str(err), str(err)


def test_a_value_in_place_of_a_mapping_without_secrets_is_shown():
    values = dev()
    values["mldeploy:services"] = {"web": {"target": "local", "image": "diabetes", "cors": "*"}}
    expect_error(values, "mldeploy:services.web.cors", "must be a mapping (got '*')")


def test_secure_values_become_secrets_that_never_print():
    values = dev()
    values["mldeploy:services"] = {"web": {"target": "local", "image": "diabetes",
                                           "keys": {"primary": SecureValue("v1:abc"), "secondary": SecureValue("v1:def")}}}
    settings = parse(values, {"mldeploy:services"})
    primary = settings.services["web"].keys.primary
    assert isinstance(primary, Secret)
    assert "synth-secret" not in repr(settings), "a secret value shows in the settings' repr"


def test_decrypted_values_under_a_secret_key_are_accepted():
    # What the Pulumi CLI hands the program: the structured key is secret, the leaf decrypted.
    values = dev()
    values["mldeploy:services"] = {"web": {"target": "local", "image": "diabetes",
                                           "keys": {"primary": "k1-decrypted-0123456789", "secondary": "k2-decrypted-0123456789"}}}
    settings = parse(values, {"mldeploy:services"})
    assert settings.services["web"].keys.secondary.reveal() == "k2-decrypted-0123456789"


def test_json_text_from_the_pulumi_cli_is_decoded():
    import json

    values = {k: json.dumps(v) if isinstance(v, (dict, list)) else v for k, v in dev().items()}
    assert parse(values).models["diabetes"].tags["area"] == "diabetes"


def test_under_pulumi_up_a_plain_key_beside_a_secure_one_is_refused():
    from mldeploy.config.load import mark_secure_leaves

    # The CLI hands the program decrypted strings and marks the whole services key secret;
    # the stack file says only `primary` was `secure:`.
    file_values = dev()
    service = next(iter(file_values["mldeploy:services"]))
    file_values["mldeploy:services"][service]["keys"] = {"primary": SecureValue("v1:x"),
                                                         "secondary": "plain-secondary-key-123456"}
    decrypted = dev()
    decrypted["mldeploy:services"][service]["keys"] = {"primary": "decrypted-primary-key-123456",
                                                       "secondary": "plain-secondary-key-123456"}
    marked = {k: mark_secure_leaves(v, file_values.get(k)) for k, v in decrypted.items()}
    expect_error(marked, f"mldeploy:services.{service}.keys.secondary", "must be a secret",
                 secret_keys={"mldeploy:services"})


def test_each_service_is_parsed_into_its_targets_settings_class():
    from mldeploy.targets.stack import SERVICE_MODELS as SERVICE_TARGETS

    settings = parse(dev())
    for name, service in settings.services.items():
        assert type(service) is SERVICE_TARGETS[service.target], f"mldeploy:services.{name}: {type(service).__name__}"


def test_an_error_inside_a_service_names_its_own_key_not_the_target():
    values = dev()
    values["mldeploy:services"] = {"web": {"target": "aci", "image": "diabetes", "cpuCores": "two"}}
    expect_error(values, "mldeploy:services.web.cpuCores", "must be a valid number", "got 'two'")


def test_without_a_target_a_misspelt_key_is_the_message():
    values = dev()
    values["mldeploy:services"] = {"web": {"targte": "aci", "image": "diabetes"}}
    expect_error(values, "mldeploy:services.web.targte", "unknown key 'targte'", "did you mean 'target'?")


def test_a_target_that_is_not_a_string_is_shown_as_written():
    values = dev()
    values["mldeploy:services"] = {"web": {"target": ["aks"], "image": "diabetes"}}
    expect_error(values, "mldeploy:services.web.target", 'got ["aks"]')


def test_dangling_canary_image_is_refused_at_load():
    values, keys = stack_values("prod-attach")
    values["mldeploy:services"]["diabetes"]["canary"]["image"] = "nope"
    with pytest.raises(ConfigError) as info:
        parse_settings("prod-attach", values, keys, ROOT, "stacks/Pulumi.prod-attach.yaml", SERVICE_MODELS,
                       SECTION_MODELS)
    assert info.value.key == "mldeploy:services.diabetes.canary.image", info.value
    assert "refers to image 'nope', which does not exist" in info.value.message, info.value


def test_a_misspelt_stack_names_the_stacks_that_exist(tmp_path):
    # `mldeploy synth --stack lcoal` in a new project: the error says which stacks there are.
    from mldeploy.config.load import read_stack_file
    stacks = tmp_path / "stacks"
    stacks.mkdir()
    for name in ("local", "dev", "managed"):
        (stacks / f"Pulumi.{name}.yaml").write_text("config: {}\n")
    with pytest.raises(ConfigError) as err:
        read_stack_file(stacks / "Pulumi.lcoal.yaml")
    assert "did you mean --stack local?" in str(err.value)
    assert "stacks here: dev, local, managed" in str(err.value)
