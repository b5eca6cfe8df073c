"""E-mail channel: a rendered message as multipart/alternative (plain + HTML), sent with smtplib.

The server is one URL: ``smtp://[user:pass@]host[:port][?starttls=true]`` (plain, or upgraded with
STARTTLS) or ``smtps://[user:pass@]host[:port]`` (implicit TLS). User and password are percent-decoded.
When TLS is asked for it is required: a server that does not offer STARTTLS fails the delivery rather
than being spoken to in clear.

Send one recipient per call (the outbox holds one delivery per recipient): if a server accepts some
recipients of a message and refuses others, a retry would reach the accepted ones twice. The
``Message-ID`` is derived from the caller's delivery key, so such a second copy is recognisable.
"""

from __future__ import annotations

import hashlib
import smtplib
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from urllib.parse import parse_qs, unquote, urlsplit

from notifications.channels.errors import DeliveryError
from notifications.rendering import RenderedMessage

_DEFAULT_PORTS = {"smtp": 25, "smtps": 465}
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}
# Headers build_email sets itself; letting a caller override them would break threading or the marking.
_RESERVED_HEADERS = frozenset(
    {"from", "to", "cc", "bcc", "subject", "date", "message-id", "mime-version", "content-type",
     "content-transfer-encoding", "x-sctac-delivery"}
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class SmtpServer:
    host: str
    port: int
    tls: str  # "none" | "starttls" | "implicit"
    username: str | None
    password: str | None = None

    def __repr__(self) -> str:  # never show the password in logs or tracebacks
        user = f"{self.username}:***@" if self.username else ""
        return f"SmtpServer({user}{self.host}:{self.port}, tls={self.tls})"


def parse_smtp_url(url: str) -> SmtpServer:
    """Parse an SMTP URL; a ``ValueError`` names what is wrong with it."""
    parts = urlsplit(url)
    if parts.scheme not in _DEFAULT_PORTS:
        raise ValueError(f"SMTP URL must start with smtp:// or smtps://, got scheme {parts.scheme!r}")
    if not parts.hostname:
        raise ValueError("SMTP URL has no host")
    try:
        port = parts.port or _DEFAULT_PORTS[parts.scheme]
    except ValueError as exc:
        raise ValueError(f"SMTP URL has an invalid port: {exc}") from None
    if parts.path not in ("", "/") or parts.fragment:
        raise ValueError("SMTP URL must not have a path or fragment")
    query = parse_qs(parts.query, keep_blank_values=True)
    unknown = set(query) - {"starttls"}
    if unknown:
        raise ValueError(f"SMTP URL has unknown parameters: {', '.join(sorted(unknown))} (known: starttls)")
    starttls = False
    if "starttls" in query:
        value = query["starttls"][-1].lower()
        if value not in _TRUE | _FALSE:
            raise ValueError(f"SMTP URL parameter starttls must be true or false, got {value!r}")
        starttls = value in _TRUE
    if starttls and parts.scheme == "smtps":
        raise ValueError("smtps:// is already TLS; starttls=true applies to smtp:// only")
    if parts.username is not None and parts.password is None:
        raise ValueError("SMTP URL has a user but no password (smtp://user:pass@host:port)")
    tls = "implicit" if parts.scheme == "smtps" else "starttls" if starttls else "none"
    username = unquote(parts.username) if parts.username is not None else None
    password = unquote(parts.password) if parts.password is not None else None
    return SmtpServer(parts.hostname, port, tls, username, password)


def message_id(delivery_key: str, domain: str) -> str:
    """Same key, same Message-ID: a retried delivery is recognisable as the same message."""
    digest = hashlib.sha256(delivery_key.encode()).hexdigest()[:32]  # 128 bits: unique enough, stays short
    return f"<{digest}@{domain}>"


def build_email(
    message: RenderedMessage,
    *,
    sender: str,
    to: Sequence[str],
    delivery_key: str,
    headers: Mapping[str, str] | None = None,
    date: datetime | None = None,
) -> EmailMessage:
    """Build the multipart/alternative message; the plain part comes first, as RFC 2046 orders them."""
    if not to:
        raise ValueError("an e-mail needs at least one recipient")
    domain = _sender_domain(sender)
    email = EmailMessage()
    email["From"] = sender
    email["To"] = ", ".join(to)
    email["Subject"] = message.subject
    email["Date"] = format_datetime(date or datetime.now(UTC))
    email["Message-ID"] = message_id(delivery_key, domain)
    email["X-Sctac-Delivery"] = delivery_key
    for name, value in (headers or {}).items():
        if name.lower() in _RESERVED_HEADERS:
            raise ValueError(f"header {name!r} is set by the e-mail channel itself")
        email[name] = value
    email.set_content(message.text)
    email.add_alternative(message.html, subtype="html")
    return email


def _sender_domain(sender: str) -> str:
    _, address = parseaddr(sender)
    if "@" not in address:
        raise ValueError(f"sender must be an e-mail address, got {sender!r}")
    return address.rpartition("@")[2]


class SmtpSender:
    """Sends rendered messages through one SMTP server; a new connection per send (deliveries are sparse)."""

    def __init__(
        self,
        url: str,
        *,
        sender: str,
        timeout: float,
        ssl_context: ssl.SSLContext | None = None,
        helo_name: str | None = None,
    ) -> None:
        self.server = parse_smtp_url(url)
        _sender_domain(sender)  # fail at start-up, not at the first delivery
        self.sender = sender
        self._envelope_from = parseaddr(sender)[1]
        self.timeout = timeout
        # The system trust store unless told otherwise (tests pass a context trusting their own CA).
        self._ssl_context = ssl_context or ssl.create_default_context()
        self._helo_name = helo_name

    def __repr__(self) -> str:
        return f"SmtpSender({self.server!r}, sender={self.sender!r})"

    def send(
        self,
        to: Sequence[str],
        message: RenderedMessage,
        *,
        delivery_key: str,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Send ``message`` to ``to``; raises :class:`DeliveryError` unless every recipient was accepted."""
        email = build_email(message, sender=self.sender, to=to, delivery_key=delivery_key, headers=headers)
        where = f"{self.server.host}:{self.server.port}"
        try:
            with self._connect() as smtp:
                refused = smtp.send_message(email, from_addr=self._envelope_from, to_addrs=list(to))
        except smtplib.SMTPRecipientsRefused as exc:
            raise _refused(exc.recipients, accepted=0) from exc
        except smtplib.SMTPResponseException as exc:
            # Sender refused, DATA refused, greeting refused, authentication failed: the code decides.
            reply = exc.smtp_error
            text = reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)
            raise DeliveryError(
                f"{where} answered {exc.smtp_code} {text}", _transient(exc.smtp_code), status=exc.smtp_code
            ) from exc
        except smtplib.SMTPNotSupportedError as exc:
            # STARTTLS or AUTH asked for but not offered: a configuration problem, retrying will not fix it.
            raise DeliveryError(f"{where}: {exc}", False) from exc
        except ssl.SSLCertVerificationError as exc:
            raise DeliveryError(f"{where}: TLS certificate refused: {exc}", False) from exc
        except (smtplib.SMTPException, OSError) as exc:
            # Refused connection, DNS failure, timeout, dropped connection, TLS handshake: try again later.
            raise DeliveryError(f"cannot reach {where}: {str(exc) or type(exc).__name__}", True) from exc
        if refused:
            raise _refused(refused, accepted=len(to) - len(refused))

    def _connect(self) -> smtplib.SMTP:
        server = self.server
        smtp: smtplib.SMTP
        if server.tls == "implicit":
            smtp = smtplib.SMTP_SSL(
                server.host, server.port, self._helo_name, timeout=self.timeout, context=self._ssl_context
            )
        else:
            smtp = smtplib.SMTP(server.host, server.port, self._helo_name, timeout=self.timeout)
        try:
            if server.tls == "starttls":
                smtp.starttls(context=self._ssl_context)
            if server.username is not None and server.password is not None:
                smtp.login(server.username, server.password)
        except BaseException:
            smtp.close()
            raise
        return smtp


def _transient(code: int) -> bool:
    return 400 <= code < 500


def _refused(recipients: Mapping[str, tuple[int, bytes]], *, accepted: int) -> DeliveryError:
    details = "; ".join(
        f"{address}: {code} {reply.decode(errors='replace')}" for address, (code, reply) in recipients.items()
    )
    codes = [code for code, _ in recipients.values()]
    prefix = f"accepted for {accepted} recipient(s) but refused" if accepted else "refused"
    # Any temporary refusal is worth another attempt; only all-permanent refusals are final.
    return DeliveryError(f"{prefix} {details}", any(_transient(c) for c in codes), status=max(codes))
