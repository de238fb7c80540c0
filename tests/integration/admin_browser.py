"""An administrator's browser, reduced to urllib and a cookie jar: log in to the
Django admin and save the maintenance settings form like a person would."""

from __future__ import annotations

import http.cookiejar
import urllib.error
import urllib.parse
import urllib.request
from html.parser import HTMLParser

CHANGE_PATH = "/admin/maintenance_mode/maintenancesettings/1/change/"
LOGIN_PATH = "/admin/login/"


class FormFields(HTMLParser):
    """The values a browser would submit from one ``<form>`` (by id, else the first).

    Checkboxes count only when checked; submit buttons are left out (the caller
    names the one it "clicks").
    """

    def __init__(self, form_id: str | None = None) -> None:
        super().__init__(convert_charrefs=True)
        self._form_id = form_id
        self._inside = False
        self._done = False
        self._select: str | None = None
        self._select_first: str | None = None
        self._textarea: str | None = None
        self._text: list[str] = []
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag == "form" and not self._done:
            self._inside = self._form_id is None or attributes.get("id") == self._form_id
            return
        if not self._inside:
            return
        name = attributes.get("name")
        if tag == "input" and name:
            kind = attributes.get("type", "text").lower()
            if kind in ("submit", "button", "image", "reset", "file"):
                return
            if kind in ("checkbox", "radio") and "checked" not in attributes:
                return
            self.fields[name] = attributes.get("value", "on" if kind == "checkbox" else "")
        elif tag == "textarea" and name:
            self._textarea, self._text = name, []
        elif tag == "select" and name:
            self._select, self._select_first = name, None
        elif tag == "option" and self._select is not None:
            value = attributes.get("value", "")
            if self._select_first is None:
                self._select_first = value
            if "selected" in attributes:
                self.fields[self._select] = value

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self._inside:
            self._inside, self._done = False, True
        elif tag == "textarea" and self._textarea is not None:
            text = "".join(self._text)
            # Browsers drop the newline that opens a textarea's content (Django writes one).
            self.fields[self._textarea] = text[1:] if text.startswith("\n") else text
            self._textarea = None
        elif tag == "select" and self._select is not None:
            self.fields.setdefault(self._select, self._select_first or "")
            self._select = None

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._text.append(data)


def form_fields(html: str, form_id: str | None = None) -> dict[str, str]:
    parser = FormFields(form_id)
    parser.feed(html)
    parser.close()
    return parser.fields


class AdminBrowser:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.cookies = http.cookiejar.CookieJar()
        self._opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))

    def request(self, path: str, data: dict[str, str] | None = None) -> tuple[int, str, str]:
        """Status, body and final URL, following redirects as a browser does (POST, then GET)."""
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(self.base_url + path, data=body)
        try:
            with self._opener.open(request, timeout=20) as response:
                return response.status, response.read().decode(), response.geturl()
        except urllib.error.HTTPError as error:
            with error:
                return error.code, error.read().decode(errors="replace"), error.geturl()

    def log_in(self, username: str, password: str) -> None:
        status, html, _url = self.request(LOGIN_PATH + "?next=/admin/")
        assert status == 200, f"login page: HTTP {status}"
        fields = form_fields(html, "login-form")
        assert fields.get("csrfmiddlewaretoken"), "no CSRF token on the login page"
        status, html, url = self.request(
            LOGIN_PATH + "?next=/admin/", {**fields, "username": username, "password": password, "next": "/admin/"}
        )
        assert status == 200, f"login: HTTP {status}"
        assert urllib.parse.urlsplit(url).path == "/admin/", f"login did not reach the admin index (ended at {url})"
        assert any(cookie.name == "sessionid" for cookie in self.cookies), "no session cookie after logging in"

    def save_maintenance(self, *, enabled: bool) -> None:
        """Open the settings form, tick or untick "enable maintenance", press Save."""
        status, html, _url = self.request(CHANGE_PATH)
        assert status == 200, f"settings form: HTTP {status}"
        fields = form_fields(html, "maintenancesettings_form")
        assert fields.get("csrfmiddlewaretoken"), "no CSRF token on the settings form"
        fields.pop("enabled", None)
        if enabled:
            fields["enabled"] = "on"
        status, html, url = self.request(CHANGE_PATH, {**fields, "_save": "Save"})
        assert status == 200, f"saving the settings: HTTP {status}"
        assert "errornote" not in html, f"the admin refused the form:\n{html[:3000]}"
        assert urllib.parse.urlsplit(url).path == CHANGE_PATH, f"the save ended at {url}"
