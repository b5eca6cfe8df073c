"""The Core `Table` of the notification models (see workflow/tables.py for why they are named once)."""

from __future__ import annotations

from notifications.models import Delivery, WebhookSubscription
from workflow.tables import table_of

DELIVERY = table_of(Delivery)
SUBSCRIPTION = table_of(WebhookSubscription)
