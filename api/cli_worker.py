"""`sctac worker`, `sctac deliveries ...` and `sctac webhooks ...`: the notifications half of the CLI.

Registered on the main app by `register(app)` in api/cli.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from sqlmodel import Session

from notifications import delivery, subscriptions, worker
from notifications.models import DeliveryStatus
from workflow import localtime
from workflow.db import make_engine
from workflow.errors import DomainError
from workflow.settings import get_settings

deliveries_app = typer.Typer(no_args_is_help=True, help="Notification deliveries: status and dead letters.")
webhooks_app = typer.Typer(no_args_is_help=True, help="Webhook subscriptions of partner systems.")


@contextmanager
def _session() -> Iterator[Session]:
    settings = get_settings()
    engine = make_engine(settings.database_url, echo=settings.sql_echo)
    try:
        with Session(engine, expire_on_commit=False) as session:
            yield session
    except DomainError as exc:
        typer.echo(f"sctac: {exc.detail}", err=True)
        raise typer.Exit(1) from None
    finally:
        engine.dispose()


def run_worker(
    once: Annotated[bool, typer.Option("--once", help="one pass, then exit")] = False,
    interval: Annotated[float | None, typer.Option(min=0.01, help="seconds between idle passes")] = None,
) -> None:
    """Fire due timers, turn case events into deliveries and send them; stops cleanly on SIGTERM/SIGINT."""
    from api import serving

    serving.ensure_metrics_dir()  # before prometheus-client is imported (api.metrics)
    from api import logs, metrics
    from workflow.chain import chain_key

    logs.configure(get_settings())
    metrics.listen()  # counted into PROMETHEUS_MULTIPROC_DIR when set (the API's processes add it in)
    chain_key()  # a missing or unreadable chain key stops the start, not the first write
    raise typer.Exit(worker.serve(once=once, interval=interval))


@deliveries_app.command("list")
def deliveries_list(
    status: Annotated[DeliveryStatus | None, typer.Option(help="only deliveries in this status")] = None,
    case: Annotated[int | None, typer.Option(help="case id")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
) -> None:
    """Deliveries, newest first, with their attempts and last error."""
    with _session() as session:
        counts = delivery.status_counts(session)
        rows = delivery.list_deliveries(session, status=status, case_id=case, limit=limit)
    typer.echo("  ".join(f"{k}: {v}" for k, v in sorted(counts.items())) or "no deliveries")
    for d in rows:
        retry = d.next_attempt_at if d.status == DeliveryStatus.FAILED else None
        when = f"next {localtime.stamp(retry)}" if retry is not None else ""
        error = f"  {d.last_error.splitlines()[0]}" if d.last_error else ""
        typer.echo(
            f"{d.id}\t{d.status}\t{d.channel}\t{d.recipient}\tevent {d.event_id}\t{d.kind}\t"
            f"attempts {d.attempts} {when}{error}"
        )


@deliveries_app.command("retry")
def deliveries_retry(
    ids: Annotated[list[int] | None, typer.Argument(help="delivery ids")] = None,
    all_dead: Annotated[bool, typer.Option("--all-dead", help="every dead delivery")] = False,
) -> None:
    """Queue dead or failed deliveries for sending again, with a fresh set of attempts."""
    if bool(ids) == all_dead:
        typer.echo("sctac: give delivery ids or --all-dead (not both)", err=True)
        raise typer.Exit(2)
    with _session() as session:
        count = delivery.retry(session, delivery_ids=None if all_dead else ids)
    typer.echo(f"{count} deliver{'y' if count == 1 else 'ies'} queued again")


@webhooks_app.command("add")
def webhooks_add(
    name: Annotated[str, typer.Argument()],
    url: Annotated[str, typer.Argument()],
    event: Annotated[
        list[str] | None, typer.Option(help="message kind or trigger; repeat; none = all")
    ] = None,
    hub: Annotated[str | None, typer.Option(help="only cases of this hub")] = None,
    unit: Annotated[str | None, typer.Option(help="only cases of this requesting unit")] = None,
    clearance: Annotated[str, typer.Option(help="OFFICIAL or OFFICIAL-SENSITIVE")] = "OFFICIAL",
    actor: Annotated[str, typer.Option("--as", help="who is registering it")] = "cli",
) -> None:
    """Register a webhook; prints its signing secret once."""
    with _session() as session:
        sub = subscriptions.add_subscription(
            session,
            name=name,
            url=url,
            actor=actor,
            events=event or (),
            hub=hub,
            unit=unit,
            clearance=clearance,
        )
    typer.echo(f"webhook {sub.id} registered; signing secret (shown once): {sub.secret}")


@webhooks_app.command("list")
def webhooks_list() -> None:
    with _session() as session:
        for s in subscriptions.list_subscriptions(session):
            events = ",".join(s.events) or "all"
            scope = f"hub={s.hub or '*'} unit={s.unit or '*'} clearance={s.clearance}"
            typer.echo(
                f"{s.id}\t{'active' if s.active else 'inactive'}\t{s.name}\t{s.url}\t{events}\t{scope}"
            )


@webhooks_app.command("deactivate")
def webhooks_deactivate(subscription_id: Annotated[int, typer.Argument()]) -> None:
    with _session() as session:
        subscriptions.deactivate_subscription(session, subscription_id=subscription_id)
    typer.echo(f"webhook {subscription_id} deactivated")


def register(app: typer.Typer) -> None:
    """Add `worker`, `deliveries` and `webhooks` to the main `sctac` app."""
    app.command("worker")(run_worker)
    app.add_typer(deliveries_app, name="deliveries")
    app.add_typer(webhooks_app, name="webhooks")
