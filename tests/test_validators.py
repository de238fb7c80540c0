from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from maintenance_mode import validators


@pytest.mark.parametrize("url", ["", "https://status.example.com/x?y=1", "http://example.com", "/status", "/"])
def test_safe_urls_are_accepted(url: str) -> None:
    validators.validate_safe_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        "data:text/html,x",
        "//evil.example",
        "status",
        "ftp://files.example",
        "https://",
        "/a b",
        "https://example.com/\nx",
        "\x01/x",
        "/\\evil.example",  # "//evil.example" to a browser
        "https://shop.example\\@evil.example/",  # browsers and urlsplit disagree on its host
    ],
)
def test_unsafe_urls_are_refused(url: str) -> None:
    with pytest.raises(ValidationError):
        validators.validate_safe_url(url)


@pytest.mark.parametrize("icon", ["", "fas fa-tools", "bi bi-gear-fill", "material_icons"])
def test_icon_classes_are_accepted(icon: str) -> None:
    validators.validate_icon(icon)


@pytest.mark.parametrize("icon", ['fa" onload="x', "fa<script>", "fa;color:red", "fa\ttools"])
def test_icon_with_other_characters_is_refused(icon: str) -> None:
    with pytest.raises(ValidationError):
        validators.validate_icon(icon)


def test_ip_list_accepts_lines_commas_and_comments() -> None:
    text = "10.0.0.1, 192.168.0.0/16\n# office\n2001:db8::/32  # vpn\n\n"
    validators.validate_ip_list(text)
    assert validators.split_ip_lines(text) == ["10.0.0.1", "192.168.0.0/16", "2001:db8::/32"]


def test_ip_list_reports_every_bad_entry() -> None:
    with pytest.raises(ValidationError) as error:
        validators.validate_ip_list("10.0.0.1\n10.0.0.300\nexample.com")
    assert len(error.value.messages) == 2
    assert "10.0.0.300" in error.value.messages[0]


def test_host_bits_in_a_network_are_tolerated() -> None:
    assert str(validators.parse_network("10.0.0.5/8")) == "10.0.0.0/8"


@pytest.mark.parametrize("secret", ["", "abcdefghijkl", "Qx7-pL2_vN9zK4wR8tY3mB6cF1hJ5dS0gE-uI_oP"])
def test_good_secrets(secret: str) -> None:
    validators.validate_secret(secret)


@pytest.mark.parametrize("secret", ["short", "has space in it", "slash/inside/it", "x" * 129])
def test_bad_secrets(secret: str) -> None:
    with pytest.raises(ValidationError):
        validators.validate_secret(secret)


@pytest.mark.parametrize(
    ("pattern", "problem"),
    [
        ("/health", None),
        ("/api/*", None),
        ("order/*/edit", None),
        ("/[ab]x", None),
        ("", "non-empty"),
        (None, "non-empty"),
        ("/a b", "spaces"),
        ("/[ab", "unbalanced"),
    ],
)
def test_glob_errors(pattern: object, problem: str | None) -> None:
    error = validators.glob_error(pattern)
    if problem is None:
        assert error is None
    else:
        assert error is not None
        assert problem in error


def test_a_backslash_in_a_url_is_refused_with_its_own_words() -> None:
    with pytest.raises(ValidationError, match="backslash"):
        validators.validate_safe_url("/\\evil.example")
