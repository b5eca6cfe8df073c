"""The tactical tasking meeting pack as a printable PDF (WeasyPrint): every open case awaiting a
decision, hub by hub in rank order with the reason for each rank.

The pack is a list of sections, each one template: `SECTIONS` for the whole pack and `HUB_SECTIONS` for
each hub's part, so adding what another part of the centre knows (capacity by capability, deconfliction
groups) is one template and one name here. Nothing is fetched from anywhere: the style is inline, the
fonts are the machine's own (DejaVu, Liberation), and the URL fetcher refuses every address.
"""

from __future__ import annotations

from typing import Any, NoReturn

from jinja2 import Environment

# Pack-wide sections, in order (each template sees the whole context).
SECTIONS: list[str] = ["_pack_summary.html", "_pack_hubs.html"]
# Within each hub, in order (each sees `h`, that hub's part of the list, besides the whole context).
HUB_SECTIONS: list[str] = ["_pack_capacity.html", "_pack_groups.html", "_pack_cases.html"]
PDF_TYPE = "application/pdf"


def _no_fetch(url: str, *args: Any, **kwargs: Any) -> NoReturn:
    raise ValueError(f"the meeting pack fetches nothing ({url[:40]!r})")


def render_pdf(env: Environment, context: dict[str, Any]) -> bytes:
    from weasyprint import HTML  # imported when a pack is asked for: it loads Pango on import

    html = env.get_template("pack.html").render(sections=SECTIONS, hub_sections=HUB_SECTIONS, **context)
    pdf: bytes = HTML(string=html, url_fetcher=_no_fetch).write_pdf()
    return pdf
