"""The one error every channel raises when a delivery fails, so the outbox worker handles them alike."""

from __future__ import annotations


class DeliveryError(Exception):
    """A delivery did not happen.

    ``retryable`` tells the outbox whether trying again later can succeed (the server is down, busy or
    answered 4xx) or not (the address is rejected, the credentials are wrong): a non-retryable delivery
    is marked dead at once instead of burning its attempts. ``status`` is the SMTP reply code or HTTP
    status when the far end answered, for the delivery's visible status.
    """

    def __init__(self, message: str, retryable: bool, *, status: int | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.status = status

    def __repr__(self) -> str:
        return f"DeliveryError({str(self)!r}, retryable={self.retryable}, status={self.status})"
