"""Issue 12 item 5: the centre's network has no internet, so no page and no docs response may point a
browser at another host; /docs carries a CSP and its Swagger UI files come from this server."""

from __future__ import annotations

import re

from sqlalchemy.engine import Engine

from tests.web.pages import add_cast, anonymous, make_case, visitor

# Anything a browser would fetch or follow: attributes, CSS url()/@import, and any absolute URL at all.
_ABSOLUTE = re.compile(r"""(?:https?:)?//[A-Za-z0-9.-]+\.[A-Za-z]{2,}[^\s"'<>)]*""")
_ALLOWED = ("//testserver",)


_NAMESPACE = re.compile(r"""xmlns(?::\w+)?=["'][^"']*["']""")


def external_references(text: str) -> list[str]:
    # An XML namespace (inline SVG charts) is a name, never fetched: everything else absolute counts.
    bare = _NAMESPACE.sub("", text)
    return [u for u in _ABSOLUTE.findall(bare) if not u.split(":", 1)[-1].startswith(_ALLOWED)]


def test_the_checker_finds_what_it_must() -> None:
    found = external_references(
        '<script src="https://cdn.jsdelivr.net/npm/x.js"></script><link href="//fonts.example.org/a.css">'
    )
    assert len(found) == 2
    assert external_references('<a href="/cases">cases</a><img src="data:image/png;base64,AAAA">') == []
    assert external_references(
        '<svg xmlns="http://www.w3.org/2000/svg"><a href="http://x.example.com"/>'
    ) == ["http://x.example.com"]


def test_docs_are_served_from_this_server_under_a_csp(engine: Engine) -> None:
    client = anonymous(engine)
    docs = client.get("/docs")
    assert docs.status_code == 200
    assert external_references(docs.text) == []
    csp = docs.headers["content-security-policy"]
    assert (
        "default-src 'none'" in csp
        and "script-src 'self' 'sha256-" in csp
        and "frame-ancestors 'none'" in csp
    )
    assert "unsafe-eval" not in csp and "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
    for asset in re.findall(r'(?:src|href)="(/docs/assets/[^"]+)"', docs.text):
        got = client.get(asset)
        assert got.status_code == 200 and len(got.content) > 500, asset
    assert "SwaggerUIBundle" in client.get("/docs/assets/swagger-ui-bundle.js").text
    # Only the files /docs needs: the bundle's demo page (which points at a public petstore) is not served.
    assert client.get("/docs/assets/index.html").status_code == 404
    assert client.get("/docs/assets/swagger-initializer.js").status_code == 404
    redirect = client.get("/docs/oauth2-redirect")
    assert redirect.status_code == 200 and external_references(redirect.text) == []
    assert "script-src 'self' 'sha256-" in redirect.headers["content-security-policy"]
    assert client.get("/redoc").status_code == 404


def test_the_docs_inline_script_matches_its_hash(engine: Engine) -> None:
    import base64
    import hashlib

    docs = anonymous(engine).get("/docs")
    (script,) = re.findall(r"<script>(.*?)</script>", docs.text, re.DOTALL)
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert f"'sha256-{digest}'" in docs.headers["content-security-policy"]
    assert "validatorUrl" in script and '"validatorUrl": null' in script


def test_no_page_references_an_external_host(engine: Engine) -> None:
    add_cast(engine)
    made = make_case(engine, "assessed")
    anon = anonymous(engine)
    responses = {"/login": anon.get("/login")}
    people = {name: visitor(engine, name) for name in ("admin", "sup.centre", "analyst.centre", "req.ne")}
    for name, path in (
        ("analyst.centre", "/"),
        ("analyst.centre", "/cases"),
        ("analyst.centre", f"/cases/{made.id}"),
        ("sup.centre", "/escalations"),
        ("sup.centre", "/tasking"),
        ("sup.centre", "/dashboard"),
        ("admin", "/admin/rules"),
        ("admin", "/admin/import"),
        ("admin", "/records/retention"),
        ("sup.centre", "/reports/evaluation"),
        ("req.ne", "/requests/new"),
        ("req.ne", "/requests"),
        ("req.ne", "/account/password"),
        ("req.ne", "/account/sessions"),
        ("req.ne", "/no-such-page"),
    ):
        responses[path] = people[name].get(path)
    for path, response in responses.items():
        assert response.status_code in (200, 404), (path, response.status_code)
        assert external_references(response.text) == [], path
    assert anon.get("/static/app.css").status_code == 200
    assert external_references(anon.get("/static/app.css").text) == []
