"""How a stored attachment is sent: always as a download, never rendered, whatever it holds.

`Content-Disposition: attachment` (with the cleaned name, RFC 6266/5987-encoded), `nosniff` so no
browser second-guesses the type, a sandboxing CSP in case one renders it anyway, and HTML, SVG or XML
(which would run script in the application's origin) sent as opaque bytes.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi.responses import FileResponse

from workflow.blobs import NEVER_INLINE
from workflow.reads.records import Download


def attachment_response(d: Download) -> FileResponse:
    media_type = "application/octet-stream" if d.media_type in NEVER_INLINE else d.media_type
    ascii_name = d.name.encode("ascii", "replace").decode().replace('"', "_").replace("?", "_")
    return FileResponse(
        d.path,
        media_type=media_type,
        headers={
            "Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(d.name)}",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Cache-Control": "private, no-store",
            "ETag": f'"{d.sha256}"',
            "Digest": f"sha-256={d.sha256}",
        },
    )
