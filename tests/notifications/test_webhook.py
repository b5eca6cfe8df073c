from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from notifications.channels.errors import DeliveryError
from notifications.channels.webhook import WebhookSender, canonical_json, sign, verify_signature
from tests.notifications.servers import LOOPBACK, free_port, webhook_receiver

SECRET = "whsec-east-hub-partner"
PAYLOAD = {
    "kind": "case_escalated",
    "case": {"reference": "SCT-2026-000412", "band": "P1", "risk": 81},
    "why": ["escalate-p1-capability-d"],
    "at": datetime(2026, 4, 13, 8, 40, tzinfo=UTC),
}


def now() -> datetime:
    return datetime.now(UTC)


def test_signed_delivery_is_accepted_by_a_verifying_receiver() -> None:
    with webhook_receiver(SECRET) as (url, receiver), WebhookSender(timeout=5) as sender:
        status = sender.send(url, SECRET, PAYLOAD, delivery_id="dlv-41", now=now())

    assert status == 204
    [request] = receiver.accepted
    assert json.loads(request.body) == {**PAYLOAD, "at": "2026-04-13T08:40:00+00:00"}
    assert request.headers["x-sctac-delivery"] == "dlv-41"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["x-sctac-signature"].startswith("sha256=")


def test_tampered_body_is_refused_by_the_receiver() -> None:
    with webhook_receiver(SECRET) as (url, receiver), WebhookSender(timeout=5) as sender:
        sender.send(url, SECRET, PAYLOAD, delivery_id="dlv-41", now=now())
        [genuine] = receiver.accepted
        forged = genuine.body.replace(b'"risk":81', b'"risk":12')
        headers = {k: v for k, v in genuine.headers.items() if k.startswith("x-sctac-")}
        answer = httpx.post(url, content=forged, headers=headers, timeout=5)

    assert answer.status_code == 401
    assert len(receiver.accepted) == 1
    assert receiver.refused[0].body == forged


def test_replayed_request_is_refused_once_it_is_old() -> None:
    with webhook_receiver(SECRET) as (url, receiver), WebhookSender(timeout=5) as sender:
        sender.send(url, SECRET, PAYLOAD, delivery_id="dlv-41", now=now())
        [genuine] = receiver.accepted
        # Ten minutes later an eavesdropper sends the captured request again, byte for byte.
        receiver.clock = lambda: now() + timedelta(minutes=10)
        headers = {k: v for k, v in genuine.headers.items() if k.startswith("x-sctac-")}
        answer = httpx.post(url, content=genuine.body, headers=headers, timeout=5)

    assert answer.status_code == 401
    assert len(receiver.accepted) == 1


def test_wrong_secret_is_a_permanent_failure() -> None:
    with (
        webhook_receiver(SECRET) as (url, receiver),
        WebhookSender(timeout=5) as sender,
        pytest.raises(DeliveryError) as caught,
    ):
        sender.send(url, "rotated-away", PAYLOAD, delivery_id="dlv-41", now=now())

    assert (caught.value.status, caught.value.retryable) == (401, False)
    assert receiver.accepted == []


@pytest.mark.parametrize(
    ("status", "retryable"),
    [(500, True), (503, True), (429, True), (408, True), (404, False), (410, False), (302, False)],
)
def test_receiver_refusals(status: int, retryable: bool) -> None:
    with (
        webhook_receiver(SECRET, status=status) as (url, _),
        WebhookSender(timeout=5) as sender,
        pytest.raises(DeliveryError, match=f"answered {status}") as caught,
    ):
        sender.send(url, SECRET, PAYLOAD, delivery_id="dlv-41", now=now())

    assert caught.value.status == status
    assert caught.value.retryable is retryable


def test_slow_receiver_times_out_retryably() -> None:
    with (
        webhook_receiver(SECRET, delay_seconds=30) as (url, _),
        WebhookSender(timeout=0.3) as sender,
        pytest.raises(DeliveryError, match="timed out") as caught,
    ):
        sender.send(url, SECRET, PAYLOAD, delivery_id="dlv-41", now=now())

    # The receiver may still finish the request after we gave up; the retry carries the same
    # X-Sctac-Delivery id so it can tell the second copy apart.
    assert caught.value.retryable


def test_receiver_down_is_retryable() -> None:
    with WebhookSender(timeout=5) as sender, pytest.raises(DeliveryError) as caught:
        sender.send(f"http://{LOOPBACK}:{free_port()}/hook", SECRET, PAYLOAD, delivery_id="d", now=now())

    assert caught.value.retryable
    assert caught.value.status is None


def test_unknown_host_is_retryable() -> None:
    with WebhookSender(timeout=5) as sender, pytest.raises(DeliveryError) as caught:
        sender.send("http://hooks.partner.invalid/sctac", SECRET, PAYLOAD, delivery_id="d", now=now())

    assert caught.value.retryable


def test_unusable_url_is_permanent_and_keeps_tokens_out_of_the_error() -> None:
    with WebhookSender(timeout=5) as sender, pytest.raises(DeliveryError) as caught:
        sender.send("ftp://user:pw@hooks.partner/x?token=s3cret", SECRET, PAYLOAD, delivery_id="d", now=now())

    assert not caught.value.retryable
    assert "s3cret" not in str(caught.value) and "pw" not in str(caught.value)


def test_same_payload_same_bytes_and_signature_whatever_the_key_order() -> None:
    shuffled = dict(reversed(list(PAYLOAD.items())))

    assert canonical_json(shuffled) == canonical_json(PAYLOAD)
    assert sign(SECRET, 1776069600, canonical_json(shuffled)) == sign(
        SECRET, 1776069600, canonical_json(PAYLOAD)
    )


def test_naive_now_is_refused_rather_than_read_as_local_time() -> None:
    with WebhookSender(timeout=5) as sender, pytest.raises(ValueError, match="timezone-aware"):
        sender.send("http://127.0.0.1:9/x", SECRET, PAYLOAD, delivery_id="d", now=datetime(2026, 4, 13, 9, 0))


def test_payload_with_a_naive_datetime_is_refused() -> None:
    with pytest.raises(TypeError, match="time zone"):
        canonical_json({"at": datetime(2026, 4, 13, 8, 40)})


class TestVerifySignature:
    body = b'{"case":"SCT-2026-000412"}'
    sent = datetime(2026, 4, 13, 8, 40, tzinfo=UTC)
    ts = str(int(sent.timestamp()))

    def test_accepts_a_fresh_genuine_signature(self) -> None:
        assert verify_signature(SECRET, self.body, self.ts, sign(SECRET, self.ts, self.body), now=self.sent)

    @pytest.mark.parametrize("skew", [timedelta(seconds=301), timedelta(seconds=-301)])
    def test_refuses_timestamps_outside_the_tolerance(self, skew: timedelta) -> None:
        signature = sign(SECRET, self.ts, self.body)
        assert verify_signature(SECRET, self.body, self.ts, signature, now=self.sent + timedelta(seconds=299))
        assert not verify_signature(SECRET, self.body, self.ts, signature, now=self.sent + skew)

    def test_refuses_a_signature_over_another_timestamp(self) -> None:
        later = str(int(self.ts) + 60)
        assert not verify_signature(SECRET, self.body, later, sign(SECRET, self.ts, self.body), now=self.sent)

    @pytest.mark.parametrize("timestamp", ["", "yesterday", "1.5e9"])
    def test_refuses_malformed_timestamps(self, timestamp: str) -> None:
        assert not verify_signature(
            SECRET, self.body, timestamp, sign(SECRET, timestamp, self.body), now=self.sent
        )

    def test_refuses_a_bare_hex_digest(self) -> None:
        bare = sign(SECRET, self.ts, self.body).removeprefix("sha256=")
        assert not verify_signature(SECRET, self.body, self.ts, bare, now=self.sent)
