"""Email: build the message (`email.message.EmailMessage`, HTML from a Jinja2
template plus a text part, the report attached) and send it over SMTP from env,
or write it as an `.eml` file to the outbox when no SMTP server is configured.

Transient SMTP failures (connection refused or dropped, 4xx replies) are retried
with exponential backoff; permanent ones (5xx, a refused recipient) fail at once.
Alerts to the data team use the same `send_message`.
"""

from __future__ import annotations

import hashlib
import io
import smtplib
import socket
import ssl
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape

from laundry_analytics import settings as settings_module
from reports.datasets import ReportDataset
from reports.render import RenderedFile, format_change, format_value, period_text

_templates = Environment(loader=PackageLoader("reports", "templates"), autoescape=select_autoescape(["html"]),
                         trim_blocks=True, lstrip_blocks=True)
_templates.filters["value"] = lambda kpi: format_value(kpi.value, kpi.kind)
_templates.filters["change"] = format_change


class DeliveryError(Exception):
    """Sending failed. `permanent` says whether retrying could help."""

    def __init__(self, message: str, *, permanent: bool, error_class: str):
        super().__init__(message)
        self.permanent, self.error_class = permanent, error_class


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
    return None, (f"The report file is {len(file.content):,} bytes ({len(zipped.content):,} zipped), over the "
                  f"{max_bytes:,}-byte attachment limit, so it is not attached. It is kept in the report "
                  f"outbox as {file.file_name}; ask the data team for it.")


def report_message(dataset: ReportDataset, file: RenderedFile | None, *, schedule_name: str, recipient: str,
                   message_id: str, too_large_notice: str | None = None) -> EmailMessage:
    """The report email: subject and body name the period; KPIs inline; the file attached."""
    cfg = settings_module.load()
    msg = EmailMessage()
    msg["Subject"] = f"{schedule_name}: {dataset.title}, {dataset.period.label()}"
    msg["From"] = cfg.smtp_sender
    msg["To"] = recipient
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = message_id
    context = {"dataset": dataset, "schedule_name": schedule_name, "period": period_text(dataset),
               "too_large_notice": too_large_notice, "file": file}
    msg.set_content(_templates.get_template("report_email.txt.j2").render(**context))
    msg.add_alternative(_templates.get_template("report_email.html.j2").render(**context), subtype="html")
    if file is not None:
        maintype, subtype = file.mime_type
        msg.add_attachment(file.content, maintype=maintype, subtype=subtype, filename=file.file_name)
    return msg


def message_id_for(*parts: str) -> str:
    """A deterministic Message-ID: a resend of the same (schedule, period,
    recipient) carries the same id, so a mail system can see it as a duplicate."""
    digest = hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]
    return f"<report.{digest}@laundryconnect.example>"


def send_message(msg: EmailMessage, *, outbox_dir: Path | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> SendResult:
    """Send one message (to its To header) over SMTP, retrying transient errors;
    with no LAUNDRY_SMTP_HOST, write its exact bytes to the outbox instead."""
    cfg = settings_module.load()
    if not cfg.smtp_host:
        folder = outbox_dir or cfg.outbox
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{msg['Message-ID'].strip('<>').split('@')[0]}.eml"
        temporary = path.with_suffix(".eml.part")
        temporary.write_bytes(msg.as_bytes())
        temporary.replace(path)  # never a half-written .eml
        return SendResult(msg["Message-ID"], 1, "outbox", path)
    delay = cfg.smtp_backoff_seconds
    for attempt in range(1, cfg.smtp_attempts + 1):
        try:
            _smtp_send(msg, cfg)
            return SendResult(msg["Message-ID"], attempt, "smtp")
        except DeliveryError as error:
            if error.permanent or attempt == cfg.smtp_attempts:
                error.attempts = attempt  # type: ignore[attr-defined]
                raise
            sleep(delay)
            delay *= 2
    raise AssertionError("unreachable")


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
                client.login(cfg.smtp_user, cfg.smtp_password or "")
            refused = client.send_message(msg)
            if refused:  # some of several recipients refused (we send one per message)
                code, text = next(iter(refused.values()))
                raise DeliveryError(f"{code} {text!r}", permanent=code >= 500, error_class="SMTPRecipientsRefused")
    except smtplib.SMTPRecipientsRefused as error:
        code, text = next(iter(error.recipients.values()))
        raise DeliveryError(f"recipient refused: {code} {text.decode(errors='replace')}", permanent=code >= 500,
                            error_class="SMTPRecipientsRefused") from None
    except smtplib.SMTPResponseException as error:
        message = error.smtp_error.decode(errors="replace") if isinstance(error.smtp_error, bytes) else error.smtp_error
        raise DeliveryError(f"{error.smtp_code} {message}", permanent=error.smtp_code >= 500,
                            error_class=type(error).__name__) from None
    except (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError, ConnectionError, socket.timeout, OSError) as error:
        raise DeliveryError(f"SMTP server unreachable: {error}", permanent=False,
                            error_class=type(error).__name__) from None
