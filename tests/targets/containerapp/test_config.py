"""A Container Apps customDomain at the apex of its DNS zone is refused however many labels the zone's
public suffix has (contoso.com, contoso.co.uk): the Public Suffix List publicsuffixlist ships, offline."""
from __future__ import annotations

import pytest
from pydantic import ValidationError

from mldeploy.targets.containerapp.config import ContainerAppServiceSettings, registrable_domain


def _settings(domain: str) -> ContainerAppServiceSettings:
    return ContainerAppServiceSettings.model_validate({"target": "containerapp", "image": "diabetes",
                                                      "customDomain": domain})


@pytest.mark.parametrize("host, apex", [("score.contoso.co.uk", "contoso.co.uk"), ("contoso.co.uk", "contoso.co.uk"),
                                        ("a.b.contoso.com.au", "contoso.com.au"), ("ml.contoso.com", "contoso.com"),
                                        ("foo.eu.org", "foo.eu.org"), ("co.uk", None)])
def test_the_registrable_domain_comes_from_the_public_suffix_list(host, apex):
    assert registrable_domain(host) == apex


@pytest.mark.parametrize("domain", ["contoso.co.uk", "contoso.com.au", "contoso.eu.org", "contoso.com"])
def test_an_apex_under_a_multi_label_suffix_is_refused(domain):
    with pytest.raises(ValidationError) as err:
        _settings(domain)
    assert f"'{domain}' is an apex domain" in str(err.value) and f"score.{domain}" in str(err.value), str(err.value)


def test_a_public_suffix_itself_is_refused():
    with pytest.raises(ValidationError, match="'co.uk' is a public suffix"):
        _settings("co.uk")


@pytest.mark.parametrize("domain", ["score.contoso.co.uk", "score.contoso.com", "ml.contoso.eu.org"])
def test_a_subdomain_is_taken(domain):
    assert _settings(domain).custom_domain == domain


def test_the_list_is_read_offline(monkeypatch):
    """No network: the list is the package's own file (a fetch would fail here, and must not be tried)."""
    import socket

    from mldeploy.targets.containerapp import config

    config._suffix_list.cache_clear()
    monkeypatch.setattr(socket, "create_connection", lambda *a, **k: pytest.fail("the suffix list went to the network"))
    monkeypatch.setattr(socket.socket, "connect", lambda *a, **k: pytest.fail("the suffix list went to the network"))
    assert registrable_domain("score.contoso.co.uk") == "contoso.co.uk"
