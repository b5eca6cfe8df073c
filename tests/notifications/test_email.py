from __future__ import annotations

import ssl
from collections.abc import Iterator

import pytest

from notifications.channels.email import SmtpSender, build_email, message_id, parse_smtp_url
from notifications.channels.errors import DeliveryError
from notifications.rendering import RenderedMessage, render_message
from tests.notifications.samples import ESCALATION_WORDING, context
from tests.notifications.servers import (
    LOOPBACK,
    RecordingHandler,
    SmtpServerInfo,
    TlsFiles,
    free_port,
    make_self_signed,
    password_authenticator,
    silent_listener,
    smtp_server,
)

SENDER = "SCTaC <sctac@centre.example.police.uk>"
SUPERVISOR = "east.supervisor@east.example.police.uk"
TIMEOUT = 5.0
# The AUTH tests run without TLS on loopback on purpose; aiosmtpd rightly warns about that in production.
plain_auth = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


@pytest.fixture
def server() -> Iterator[SmtpServerInfo]:
    with smtp_server() as info:
        yield info


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_self_signed(tmp_path_factory.mktemp("tls"))


def escalation() -> RenderedMessage:
    return render_message("case_escalated", context(case={"title": "Line <run> from Newham"}))


def sender_for(
    port: int,
    *,
    scheme: str = "smtp",
    userinfo: str = "",
    query: str = "",
    timeout: float = TIMEOUT,
    ssl_context: ssl.SSLContext | None = None,
) -> SmtpSender:
    url = f"{scheme}://{userinfo}{LOOPBACK}:{port}{query}"
    return SmtpSender(url, sender=SENDER, timeout=timeout, ssl_context=ssl_context)


def test_escalation_email_reaches_the_supervisor(server: SmtpServerInfo) -> None:
    sender_for(server.port).send([SUPERVISOR], escalation(), delivery_key="event-7/user-3/email")

    [mail] = server.received
    assert mail.rcpt_tos == [SUPERVISOR]
    assert mail.mail_from == "sctac@centre.example.police.uk"
    assert mail.message["To"] == SUPERVISOR
    assert mail.message["Subject"] == f"[OFFICIAL-SENSITIVE] {ESCALATION_WORDING}"
    assert mail.message.get_content_type() == "multipart/alternative"
    text, html = mail.part("text/plain"), mail.part("text/html")
    assert text.splitlines()[0] == "OFFICIAL-SENSITIVE"
    assert "needs regional support decision" in text
    assert "rule escalate-p1-capability-d fired" in text
    assert "https://sctac.example.police.uk/cases/412" in text
    assert "Line &lt;run&gt; from Newham" in html and "Line <run> from Newham" in text


def test_a_retried_delivery_keeps_its_message_id(server: SmtpServerInfo) -> None:
    smtp = sender_for(server.port)
    smtp.send([SUPERVISOR], escalation(), delivery_key="event-7/user-3/email")
    smtp.send([SUPERVISOR], escalation(), delivery_key="event-7/user-3/email")
    smtp.send([SUPERVISOR], escalation(), delivery_key="event-8/user-3/email")

    # A long Message-ID may be folded onto its own line; the parser then keeps the folding space.
    ids = [mail.message["Message-ID"].strip() for mail in server.received]
    assert ids[0] == ids[1] == message_id("event-7/user-3/email", "centre.example.police.uk")
    assert ids[2] != ids[0]
    assert server.received[0].message["X-Sctac-Delivery"] == "event-7/user-3/email"


def test_extra_headers_are_sent_but_cannot_replace_ours(server: SmtpServerInfo) -> None:
    smtp = sender_for(server.port)
    smtp.send([SUPERVISOR], escalation(), delivery_key="k", headers={"X-Sctac-Case": "SCT-2026-000412"})

    assert server.received[0].message["X-Sctac-Case"] == "SCT-2026-000412"
    with pytest.raises(ValueError, match="Subject"):
        smtp.send([SUPERVISOR], escalation(), delivery_key="k", headers={"Subject": "something else"})


@plain_auth
def test_login_with_credentials_from_the_url() -> None:
    auth = password_authenticator({"relay-user": "p@ss:w/rd"})
    with smtp_server(authenticator=auth, auth_required=True, auth_require_tls=False) as server:
        sender_for(server.port, userinfo="relay-user:p%40ss%3Aw%2Frd@").send(
            [SUPERVISOR], escalation(), delivery_key="k"
        )

    assert [mail.rcpt_tos for mail in server.received] == [[SUPERVISOR]]


@plain_auth
def test_wrong_password_fails_for_good() -> None:
    auth = password_authenticator({"relay-user": "right"})
    with (
        smtp_server(authenticator=auth, auth_required=True, auth_require_tls=False) as server,
        pytest.raises(DeliveryError) as caught,
    ):
        sender_for(server.port, userinfo="relay-user:wrong@").send(
            [SUPERVISOR], escalation(), delivery_key="k"
        )

    assert caught.value.status == 535
    assert not caught.value.retryable
    assert "wrong" not in str(caught.value), "the password never appears in the error"
    assert server.received == []


@plain_auth
def test_missing_credentials_for_a_relay_that_requires_them_fails_for_good() -> None:
    auth = password_authenticator({"relay-user": "right"})
    with (
        smtp_server(authenticator=auth, auth_required=True, auth_require_tls=False) as server,
        pytest.raises(DeliveryError) as caught,
    ):
        sender_for(server.port).send([SUPERVISOR], escalation(), delivery_key="k")

    assert caught.value.status == 530
    assert not caught.value.retryable


def test_starttls_upgrades_the_connection_before_login(tls: TlsFiles) -> None:
    auth = password_authenticator({"relay-user": "secret"})
    with smtp_server(
        tls_context=tls.server_context(), require_starttls=True, authenticator=auth, auth_required=True
    ) as server:
        sender_for(
            server.port,
            userinfo="relay-user:secret@",
            query="?starttls=true",
            ssl_context=tls.client_context(),
        ).send([SUPERVISOR], escalation(), delivery_key="k")

    [mail] = server.received
    assert mail.message["Subject"] == f"[OFFICIAL-SENSITIVE] {ESCALATION_WORDING}"


def test_starttls_refuses_an_untrusted_certificate(tls: TlsFiles) -> None:
    with (
        smtp_server(tls_context=tls.server_context(), require_starttls=True) as server,
        pytest.raises(DeliveryError, match="certificate") as caught,
    ):
        # The system trust store does not know the test's self-signed certificate.
        sender_for(server.port, query="?starttls=true").send([SUPERVISOR], escalation(), delivery_key="k")

    assert not caught.value.retryable
    assert server.received == []


def test_starttls_asked_for_but_not_offered_is_not_silently_skipped(server: SmtpServerInfo) -> None:
    with pytest.raises(DeliveryError, match="STARTTLS") as caught:
        sender_for(server.port, query="?starttls=true").send([SUPERVISOR], escalation(), delivery_key="k")

    assert not caught.value.retryable
    assert server.received == []


def test_implicit_tls_with_smtps(tls: TlsFiles) -> None:
    with smtp_server(ssl_context=tls.server_context()) as server:
        sender_for(server.port, scheme="smtps", ssl_context=tls.client_context()).send(
            [SUPERVISOR], escalation(), delivery_key="k"
        )

    assert [mail.rcpt_tos for mail in server.received] == [[SUPERVISOR]]


def test_mail_server_down_is_retryable() -> None:
    with pytest.raises(DeliveryError, match="cannot reach") as caught:
        sender_for(free_port()).send([SUPERVISOR], escalation(), delivery_key="k")

    assert caught.value.retryable
    assert caught.value.status is None


def test_mail_server_that_never_answers_times_out_retryably() -> None:
    with silent_listener() as port, pytest.raises(DeliveryError) as caught:
        sender_for(port, timeout=0.3).send([SUPERVISOR], escalation(), delivery_key="k")

    assert caught.value.retryable


def test_unknown_mail_host_is_retryable() -> None:
    smtp = SmtpSender("smtp://mail.sctac.invalid:25", sender=SENDER, timeout=TIMEOUT)

    with pytest.raises(DeliveryError, match=r"mail\.sctac\.invalid") as caught:
        smtp.send([SUPERVISOR], escalation(), delivery_key="k")
    assert caught.value.retryable


@pytest.mark.parametrize(
    ("reply", "retryable"),
    [("550 5.1.1 No such mailbox", False), ("451 4.3.0 Try again later", True)],
)
def test_recipient_refusals(reply: str, retryable: bool) -> None:
    handler = RecordingHandler(rejections={SUPERVISOR: reply})
    with smtp_server(handler) as server, pytest.raises(DeliveryError) as caught:
        sender_for(server.port).send([SUPERVISOR], escalation(), delivery_key="k")

    assert caught.value.retryable is retryable
    assert caught.value.status == int(reply[:3])
    assert SUPERVISOR in str(caught.value)
    assert server.received == []


def test_partly_refused_message_says_who_got_it() -> None:
    gone = "leaver@east.example.police.uk"
    handler = RecordingHandler(rejections={gone: "550 5.1.1 No such mailbox"})
    with smtp_server(handler) as server, pytest.raises(DeliveryError, match="accepted for 1") as caught:
        sender_for(server.port).send([SUPERVISOR, gone], escalation(), delivery_key="k")

    assert not caught.value.retryable
    assert [mail.rcpt_tos for mail in server.received] == [[SUPERVISOR]]


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://mail:25", "smtp:// or smtps://"),
        ("smtp://:25", "no host"),
        ("smtp://mail:port", "invalid port"),
        ("smtp://mail:25?tls=yes", "unknown parameters: tls"),
        ("smtp://mail:25?starttls=maybe", "true or false"),
        ("smtps://mail:465?starttls=true", "already TLS"),
        ("smtp://user@mail:25", "no password"),
        ("smtp://mail:25/inbox", "path"),
    ],
)
def test_bad_url_names_the_problem(url: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        SmtpSender(url, sender=SENDER, timeout=TIMEOUT)


def test_url_forms() -> None:
    assert parse_smtp_url("smtp://relay").port == 25
    assert parse_smtp_url("smtps://relay").tls == "implicit"
    starttls = parse_smtp_url("smtp://u%40x:p%2F1@relay:587?starttls=true")
    assert (starttls.tls, starttls.port, starttls.username, starttls.password) == (
        "starttls",
        587,
        "u@x",
        "p/1",
    )
    assert "p/1" not in repr(SmtpSender("smtp://u:p%2F1@relay:587", sender=SENDER, timeout=1))


def test_sender_must_be_an_address() -> None:
    with pytest.raises(ValueError, match="sender"):
        SmtpSender("smtp://relay:25", sender="SCTaC", timeout=TIMEOUT)


def test_message_without_recipients_is_refused() -> None:
    with pytest.raises(ValueError, match="recipient"):
        build_email(escalation(), sender=SENDER, to=[], delivery_key="k")
