"""Real servers on loopback for the channel tests: an aiosmtpd SMTP server and a webhook receiver.

No mocks: the channels talk to these over TCP exactly as they would to a mail relay or a partner's
endpoint, so protocol details (SMTP reply codes, STARTTLS, AUTH, HTTP statuses, timeouts) are real.
"""

from __future__ import annotations

import email
import email.policy
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from notifications.channels.webhook import verify_signature

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A port nobody listens on (aiosmtpd's Controller cannot be given port 0)."""
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


# --------------------------------------------------------------------------------------------- SMTP


@dataclass
class ReceivedMail:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage

    def part(self, content_type: str) -> str:
        for part in self.message.walk():
            if part.get_content_type() == content_type and not part.is_multipart():
                return str(part.get_content())
        raise AssertionError(f"no {content_type} part in the message")


@dataclass
class RecordingHandler:
    """Accepts mail and keeps it; answers ``rejections[address]`` (e.g. "550 ...") for chosen recipients."""

    rejections: dict[str, str] = field(default_factory=dict)
    received: list[ReceivedMail] = field(default_factory=list)

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if address in self.rejections:
            return self.rejections[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.content if isinstance(envelope.content, bytes) else b""
        message = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.received.append(ReceivedMail(str(envelope.mail_from), list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"


def password_authenticator(users: dict[str, str]) -> Callable[..., AuthResult]:
    def authenticate(
        server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and users.get(auth_data.login.decode()) == (
            auth_data.password.decode()
        )
        return AuthResult(success=ok, handled=False)

    return authenticate


@contextmanager
def smtp_server(handler: RecordingHandler | None = None, **smtp_options: Any) -> Iterator[SmtpServerInfo]:
    """Run aiosmtpd on loopback; ``smtp_options`` go to aiosmtpd (auth, tls_context, ssl_context ...)."""
    handler = handler or RecordingHandler()
    port = free_port()
    controller = Controller(handler, hostname=LOOPBACK, port=port, **smtp_options)
    controller.start()
    try:
        yield SmtpServerInfo(port=port, handler=handler)
    finally:
        controller.stop()


@dataclass
class SmtpServerInfo:
    port: int
    handler: RecordingHandler

    @property
    def received(self) -> list[ReceivedMail]:
        return self.handler.received


@contextmanager
def silent_listener() -> Iterator[int]:
    """A port that accepts TCP connections but never says a word: a hung mail server."""
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        sock.listen(8)
        yield int(sock.getsockname()[1])


# ---------------------------------------------------------------------------------------------- TLS


@dataclass(frozen=True)
class TlsFiles:
    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, self.key)
        return context

    def client_context(self) -> ssl.SSLContext:
        """A client context that trusts this self-signed certificate (and nothing else)."""
        return ssl.create_default_context(cafile=str(self.cert))


def make_self_signed(directory: Path) -> TlsFiles:
    """A self-signed certificate for 127.0.0.1 / localhost, made with ``cryptography`` or the openssl CLI."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    try:
        _make_with_cryptography(cert, key)
    except ImportError:
        openssl = shutil.which("openssl")
        if openssl is None:
            pytest.skip("needs the cryptography package or the openssl command to make a TLS certificate")
        subprocess.run(
            [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
             "-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost",
             "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
            check=True,
            capture_output=True,
        )  # fmt: skip
    return TlsFiles(cert, key)


def _make_with_cryptography(cert_path: Path, key_path: Path) -> None:
    import ipaddress
    from datetime import timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address(LOOPBACK)), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))


# ---------------------------------------------------------------------------------------- webhooks


@dataclass
class ReceivedRequest:
    headers: dict[str, str]
    body: bytes


@dataclass
class ReceiverState:
    secret: str
    status: int = 204
    delay_seconds: float = 0.0
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    accepted: list[ReceivedRequest] = field(default_factory=list)
    refused: list[ReceivedRequest] = field(default_factory=list)
    # Set at teardown so a handler told to hang returns at once instead of holding the test up.
    release: threading.Event = field(default_factory=threading.Event)


class _ReceiverHandler(BaseHTTPRequestHandler):
    server: _ReceiverServer

    def do_POST(self) -> None:
        state = self.server.state
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        request = ReceivedRequest({k.lower(): v for k, v in self.headers.items()}, body)
        if state.delay_seconds:
            state.release.wait(state.delay_seconds)
        valid = verify_signature(
            state.secret,
            body,
            self.headers.get("X-Sctac-Timestamp", ""),
            self.headers.get("X-Sctac-Signature", ""),
            now=state.clock(),
        )
        if not valid:
            state.refused.append(request)
            self._reply(401, b"bad signature")
            return
        if 200 <= state.status < 300:
            state.accepted.append(request)
        self._reply(state.status, b"" if state.status == 204 else b"receiver says no")

    def _reply(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if status != 204:
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output clean."""


class _ReceiverServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, state: ReceiverState) -> None:
        super().__init__((LOOPBACK, 0), _ReceiverHandler)
        self.state = state


@contextmanager
def webhook_receiver(secret: str, **options: Any) -> Iterator[tuple[str, ReceiverState]]:
    """A partner's endpoint that checks our signatures with ``verify_signature``; yields (url, state)."""
    state = ReceiverState(secret=secret, **options)
    server = _ReceiverServer(state)
    # A short poll interval: shutdown() waits up to one interval, and every test stops a receiver.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield f"http://{LOOPBACK}:{server.server_address[1]}/hooks/sctac", state
    finally:
        state.release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
