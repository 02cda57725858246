"""Email: build the message (`email.message.EmailMessage`, HTML from a Jinja2
template plus a text part, the report attached) and send it over SMTP from env,
or write it as an `.eml` file to the outbox when no SMTP server is configured.

Transient SMTP failures (connection refused or dropped, 4xx replies) are retried
a few times at once with exponential backoff; permanent ones (5xx, a refused
recipient) fail at once. A delivery still failing after those quick tries is
retried later from its ledger (`is_transient`, `next_attempt_at`: the policy the
report ledger and the alert ledger share). Alerts to the data team use the same
`send_message`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import smtplib
import ssl
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path

import psycopg
from jinja2 import Environment, PackageLoader, select_autoescape

from laundry_analytics import settings as settings_module
from reports.datasets import ReportDataset
from reports.render import RenderedFile, period_text
from reports.render.formatting import change_colour, format_amount, format_change

_templates = Environment(
    loader=PackageLoader("reports", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
_templates.filters["value"] = lambda kpi, currency: format_amount(kpi.value, kpi.kind, currency)
_templates.filters["change"] = format_change
_templates.filters["colour"] = change_colour


class DeliveryError(Exception):
    """Sending failed. `permanent` says whether retrying could help; `attempts`
    counts the SMTP tries made."""

    def __init__(self, message: str, *, permanent: bool, error_class: str, attempts: int = 1):
        super().__init__(message)
        self.permanent, self.error_class, self.attempts = permanent, error_class, attempts


@dataclass(frozen=True)
class SendResult:
    message_id: str
    attempts: int
    transport: str  # "smtp" or "outbox"
    path: Path | None = None


def fit_attachment(file: RenderedFile, max_bytes: int) -> tuple[RenderedFile | None, str | None]:
    """The file to attach within the size budget: as is, else zipped, else none
    (with the reason to put in the email; the file itself stays in the outbox)."""
    if len(file.content) <= max_bytes:
        return file, None
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(file.file_name, file.content)
    zipped = RenderedFile(file.file_name + ".zip", out.getvalue(), file.format, file.rows)
    if len(zipped.content) <= max_bytes:
        return zipped, None
    return None, (
        f"The report file is {len(file.content):,} bytes ({len(zipped.content):,} zipped), over the "
        f"{max_bytes:,}-byte attachment limit, so it is not attached. It is kept in the report "
        f"outbox as {file.file_name}; ask the data team for it."
    )


def report_message(
    dataset: ReportDataset,
    file: RenderedFile | None,
    *,
    schedule_name: str,
    recipient: str,
    message_id: str,
    too_large_notice: str | None = None,
) -> EmailMessage:
    """The report email: subject and body name the period; KPIs inline; the file attached."""
    cfg = settings_module.load()
    msg = EmailMessage()
    msg["Subject"] = f"{schedule_name}: {dataset.title}, {dataset.period.label()}"
    msg["From"] = cfg.smtp_sender
    msg["To"] = recipient
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = message_id
    context = {
        "dataset": dataset,
        "schedule_name": schedule_name,
        "period": period_text(dataset),
        "too_large_notice": too_large_notice,
        "file": file,
        "contents": attachment_contents(dataset, file.format) if file else None,
    }
    msg.set_content(_templates.get_template("report_email.txt.j2").render(**context))
    msg.add_alternative(_templates.get_template("report_email.html.j2").render(**context), subtype="html")
    if file is not None:
        maintype, subtype = file.mime_type
        msg.add_attachment(file.content, maintype=maintype, subtype=subtype, filename=file.file_name)
    return msg


def attachment_contents(dataset: ReportDataset, fmt: str) -> str:
    """What the attached file of this report holds, in a sentence for its email."""
    if fmt == "csv":
        files = ", ".join(f"{table.name}.csv" for table in dataset.tables)
        return f"It holds summary.csv (the KPIs above) and one file per table: {files}."
    if fmt == "excel":
        charted = [table.sheet for table in dataset.tables if any(c.table == table.name for c in dataset.charts)]
        charts = f"; the charts are on {_and(charted)}" if charted else ""
        return (
            f"It holds a Summary sheet (the KPIs above) and one sheet per table: "
            f"{', '.join(table.sheet for table in dataset.tables)}{charts}."
        )
    shown = [table.title for table in dataset.tables if table.pdf != "chart"]
    trimmed = [table.title for table in dataset.tables if table.pdf_rows()[1]]
    charts = len(dataset.charts)
    sentence = f"It holds the KPIs above, {charts} chart{'s' if charts != 1 else ''} and the tables {', '.join(shown)}."
    if trimmed:
        sentence += f" {', '.join(trimmed)}: top and bottom rows only; the Excel and CSV versions list every row."
    return sentence


def _and(names: list[str]) -> str:
    """ "A", "A and B", "A, B and C"."""
    return " and ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)


def message_id_for(*parts: str) -> str:
    """A deterministic Message-ID: a resend of the same (schedule, period,
    recipient) carries the same id, so a mail system can see it as a duplicate."""
    digest = hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]
    return f"<report.{digest}@laundryconnect.example>"


def send_message(
    msg: EmailMessage, *, outbox_dir: Path | None = None, sleep: Callable[[float], None] = time.sleep
) -> SendResult:
    """Send one message (to its To header) over SMTP, retrying transient errors;
    with no LAUNDRY_SMTP_HOST, write its exact bytes to the outbox instead."""
    cfg = settings_module.load()
    if not cfg.smtp_host:
        path = write_eml(msg, outbox_dir or cfg.outbox)
        return SendResult(msg["Message-ID"], 1, "outbox", path)
    delay = cfg.smtp_backoff_seconds
    for attempt in range(1, cfg.smtp_attempts + 1):
        try:
            _smtp_send(msg, cfg)
            return SendResult(msg["Message-ID"], attempt, "smtp")
        except DeliveryError as error:
            if error.permanent or attempt == cfg.smtp_attempts:
                error.attempts = attempt
                raise
            sleep(delay)
            delay *= 2
    raise AssertionError("unreachable")


def write_eml(msg: EmailMessage, folder: Path, name: str | None = None) -> Path:
    """The message's exact bytes as `<name or Message-ID>.eml` in `folder`."""
    name = name or msg["Message-ID"].strip("<>").split("@")[0]
    return write_atomically(folder / f"{name}.eml", msg.as_bytes())


def write_atomically(path: Path, content: bytes) -> Path:
    """Write through `<path>.part` and a rename: a reader never sees half a file,
    and a failed write (disk full, folder unwritable, name taken by a folder)
    leaves no `.part` behind. A killed process can leave one; the next write of
    the same file replaces it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    try:
        partial.write_bytes(content)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    return path


def _smtp_send(msg: EmailMessage, cfg: settings_module.Settings) -> None:
    try:
        if cfg.smtp_security == "ssl":
            client = smtplib.SMTP_SSL(cfg.smtp_host, cfg.smtp_port, timeout=30, context=ssl.create_default_context())
        else:
            client = smtplib.SMTP(cfg.smtp_host, cfg.smtp_port, timeout=30)
        with client:
            if cfg.smtp_security == "starttls":
                client.starttls(context=ssl.create_default_context())
            if cfg.smtp_user:
                try:
                    client.login(cfg.smtp_user, cfg.smtp_password or "")
                except UnicodeEncodeError:  # smtplib encodes the AUTH exchange as ASCII
                    raise DeliveryError(
                        "LAUNDRY_SMTP_USER or LAUNDRY_SMTP_PASSWORD has a non-ASCII character, "
                        "which Python's SMTP login cannot send: use an ASCII password",
                        permanent=True,
                        error_class="SMTPAuthenticationError",
                    ) from None
            refused = client.send_message(msg)
            if refused:  # some of several recipients refused (we send one per message)
                code, text = next(iter(refused.values()))
                raise DeliveryError(f"{code} {text!r}", permanent=code >= 500, error_class="SMTPRecipientsRefused")
    except smtplib.SMTPRecipientsRefused as error:
        code, text = next(iter(error.recipients.values()))
        raise DeliveryError(
            f"recipient refused: {code} {text.decode(errors='replace')}",
            permanent=code >= 500,
            error_class="SMTPRecipientsRefused",
        ) from None
    except smtplib.SMTPResponseException as error:
        message = error.smtp_error.decode(errors="replace") if isinstance(error.smtp_error, bytes) else error.smtp_error
        raise DeliveryError(
            f"{error.smtp_code} {message}", permanent=error.smtp_code >= 500, error_class=type(error).__name__
        ) from None
    except (TimeoutError, smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError, ConnectionError, OSError) as error:
        raise DeliveryError(
            f"SMTP server unreachable: {error}", permanent=False, error_class=type(error).__name__
        ) from None
    except smtplib.SMTPException as error:  # e.g. the server lacks a feature the message needs (SMTPUTF8, AUTH)
        raise DeliveryError(str(error), permanent=True, error_class=type(error).__name__) from None


# --- retry policy (report deliveries and alerts) ---------------------------------------


def is_transient(error: BaseException) -> bool:
    """Whether trying again later could help: an SMTP server or network that is
    down, a 4xx reply, a disk or folder problem, a lost database connection. A
    5xx reply, a header the email library refuses and any other error are final."""
    if isinstance(error, DeliveryError):
        return not error.permanent
    return isinstance(error, (OSError, psycopg.OperationalError))


def next_attempt_at(first_attempt: dt.datetime, now: dt.datetime) -> dt.datetime | None:
    """When to retry a delivery that failed transiently at `now`: after waiting as
    long as it has been delayed already, at least LAUNDRY_DELIVERY_RETRY_MINUTES
    (so the waits double), and at the latest at the deadline
    (LAUNDRY_DELIVERY_DEADLINE_HOURS after the first attempt); None once the
    deadline has passed: the delivery has failed."""
    cfg = settings_module.load()
    deadline = first_attempt + dt.timedelta(hours=cfg.delivery_deadline_hours)
    if now >= deadline:
        return None
    return min(now + max(dt.timedelta(minutes=cfg.delivery_retry_minutes), now - first_attempt), deadline)


def claim_timeout() -> dt.timedelta:
    """How long a claim stays with the run that made it; a run that has neither
    finished nor refreshed it by then is taken to have died."""
    return dt.timedelta(minutes=settings_module.load().delivery_claim_timeout_minutes)


def describe(error: BaseException) -> tuple[str, str]:
    """(error class, message) of a failure, as the ledgers record it."""
    return getattr(error, "error_class", type(error).__name__), (str(error) or repr(error))[:2000]
