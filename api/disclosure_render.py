"""The disclosure bundle as JSON and as PDF (WeasyPrint), for the API and `sctac subject export`.

The PDF is drawn from a template with the machine's own fonts (DejaVu, via fontconfig); WeasyPrint's
URL fetcher is replaced by one that fetches nothing, so no bundle can reach the network (the centre
has no internet) or read a local file named in a note.
"""

from __future__ import annotations

from typing import Any

from fastapi import Response

from api.views import Json
from api.web.core import templates


class _NoFetch(Exception):
    pass


def _refuse(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    raise _NoFetch(f"refused to fetch {url[:80]}")


def as_json(bundle: dict[str, Any]) -> bytes:
    return bytes(Json(bundle).body)


def as_pdf(bundle: dict[str, Any]) -> bytes:
    from weasyprint import HTML  # imported here: loading Pango costs a second the other commands need not pay

    html = templates.get_template("disclosure.html").render(b=bundle)
    pdf: bytes = HTML(string=html, url_fetcher=_refuse, base_url=None).write_pdf()
    return pdf


def filename(bundle: dict[str, Any], fmt: str) -> str:
    stem = "-".join(bundle["normalised"].split())[:60] or "subject"
    return f"subject-access-{stem}-{bundle['generated_at']:%Y%m%d-%H%M}.{fmt}"


def response(bundle: dict[str, Any], fmt: str) -> Response:
    """The bundle as a download (the API's and the DPO page's export alike): never cached, never sniffed."""
    pdf = fmt == "pdf"
    return Response(
        as_pdf(bundle) if pdf else as_json(bundle),
        media_type="application/pdf" if pdf else "application/json",
        headers={
            "Content-Disposition": f'attachment; filename="{filename(bundle, "pdf" if pdf else "json")}"',
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )
