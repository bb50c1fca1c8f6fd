"""What every page carries: the language switch that keeps the page and its query, the site icon,
and the header's menu."""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import parse_qsl, urljoin, urlsplit

import pytest

from tests.support.clients import page_login


class LangLinks(HTMLParser):
    """The ``href`` of each link in the header's ``.lang`` group, by its ``hreflang``."""

    def __init__(self):
        super().__init__()
        self.links: dict[str, str] = {}
        self.icons: list[dict[str, str | None]] = []
        self.in_lang = False

    def handle_starttag(self, tag, attrs):
        names = dict(attrs)
        if tag == "span" and "lang" in (names.get("class") or "").split():
            self.in_lang = True
        elif tag == "a" and self.in_lang:
            self.links[names["hreflang"] or ""] = names["href"] or ""
        elif tag == "link" and names.get("rel") == "icon":
            self.icons.append(names)

    def handle_endtag(self, tag):
        if tag == "span":
            self.in_lang = False


def parse(html: str) -> LangLinks:
    parser = LangLinks()
    parser.feed(html)
    return parser


@pytest.fixture
def member(factory):
    return factory.member("anna", contract=factory.contract())


def test_the_language_link_keeps_the_page_and_its_query(app, member):
    client = page_login(app, "anna")
    page = "/consultations/new/therapist?day=2026-12-02&tag=a&tag=b"
    r = client.get(page)
    assert r.status_code == 200
    href = parse(r.text).links["en"]
    assert href.startswith("?")  # only a query: the browser keeps the page's path and host
    assert parse_qsl(href[1:]) == [("day", "2026-12-02"), ("tag", "a"), ("tag", "b"), ("lang", "en")]

    english = client.get(urljoin(page, href))
    assert english.status_code == 200 and english.request.path == "/consultations/new/therapist"
    assert '<html lang="en">' in english.text
    back = parse(english.text).links["ru"]
    assert parse_qsl(back[1:]) == [("day", "2026-12-02"), ("tag", "a"), ("tag", "b"), ("lang", "ru")]
    assert "en" not in parse(english.text).links  # the current language is not a link


def test_the_language_link_replaces_the_previous_choice_and_escapes_the_query(app):
    r = app.test_client().get("/login?lang=en&next=%2Fcabinet%3Fa%3D1%26b%3D2&x=%3Cscript%3E")
    href = parse(r.text).links["ru"]
    assert parse_qsl(href[1:]) == [("next", "/cabinet?a=1&b=2"), ("x", "<script>"), ("lang", "ru")]
    assert "<script>" not in href


@pytest.mark.parametrize("path", ["//evil.example/login", "/login"])
def test_the_language_link_never_leaves_the_site(app, path):
    r = app.test_client().get(path + "?q=//evil.example")
    href = parse(r.text).links["en"]
    assert href.startswith("?")  # no scheme, host or path: it can only name this same page
    base = "http://localhost" + path
    target = urlsplit(urljoin(base, href))
    assert (target.netloc, target.path) == ("localhost", urlsplit(base).path)
    assert parse_qsl(target.query) == [("q", "//evil.example"), ("lang", "en")]


def test_pages_link_the_svg_icon_and_favicon_ico_leads_to_it(app, member):
    client = app.test_client()
    icons = parse(client.get("/login").text).icons
    assert [(i["href"], i["type"]) for i in icons] == [("/static/favicon.svg", "image/svg+xml")]
    r = client.get("/favicon.ico")
    assert r.status_code == 301 and r.headers["Location"] == "/static/favicon.svg"
    with client.get("/static/favicon.svg") as svg:
        assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
        assert svg.data.lstrip().startswith(b"<svg") and b"<script" not in svg.data
    assert parse(page_login(app, "anna").get("/cabinet").text).icons == icons


def test_the_header_links_are_in_a_menu_with_a_button(app, member):
    html = page_login(app, "anna").get("/cabinet").text
    header = html[html.index("<header") : html.index("</header>")]
    menu = header[header.index('<details class="menu">') : header.index("</details>")]
    assert "<summary>Меню</summary>" in menu
    assert 'href="/record"' in menu and 'action="/logout"' in menu
    assert "Menu</summary>" in page_login(app, "anna").get("/cabinet?lang=en").text
    assert '<details class="menu">' not in app.test_client().get("/login").text  # nothing to list yet
