"""Email over real SMTP: messages in plain text and accessible HTML, sent with the deployment's mail settings.

The connection follows ``CYP_SMTP_SECURITY``: ``starttls`` (upgrade a plain connection, port 587), ``tls``
(TLS from the first byte, port 465) or ``none`` (a relay on loopback). The password comes from
``CYP_SMTP_PASSWORD_FILE`` (a secret mounted as a file) or ``CYP_SMTP_PASSWORD``. Every value put into the
HTML part is escaped: names, commentary-free facts and links from the database are text, never markup.
"""

from __future__ import annotations

import html
import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from cyp.storage.config import Settings, get_settings

SECURITY_MODES = ("starttls", "tls", "none")
TIMEOUT_SECONDS = 30
XLSX = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")


class MailNotConfigured(RuntimeError):
    """No mail server is set (``CYP_SMTP_HOST`` is empty) or a mail setting is wrong; the message says which."""


class MailFailed(RuntimeError):
    """The mail server could not be reached or refused the message; try again later."""


@dataclass(frozen=True)
class Section:
    """A heading and its content: paragraphs, then a list of items."""

    heading: str
    paragraphs: Sequence[str] = ()
    items: Sequence[str] = ()


@dataclass(frozen=True)
class Attachment:
    """A file sent with a message."""

    filename: str
    data: bytes
    maintype: str = XLSX[0]
    subtype: str = XLSX[1]


STOP_WORDS = "To stop these emails, open Your account in CYP Plan Monitor"


@dataclass(frozen=True)
class Footer:
    """The end of an email a person may stop: why they get it, and the address of the page that stops it."""

    reason: str  # a whole sentence, e.g. "You get this email because you are a lead of Housing."
    stop_url: str


@dataclass(frozen=True)
class Outgoing:
    """One email before it is rendered: recipients, subject, an opening line, sections, a link and attachments."""

    to: Sequence[str]
    subject: str
    opening: str
    sections: Sequence[Section] = ()
    link: tuple[str, str] | None = None  # (text, URL)
    attachments: Sequence[Attachment] = field(default_factory=tuple)
    footer: Footer | None = None


def render_text(mail: Outgoing) -> str:
    """The plain-text part: headings underlined, items as bullets, the link written out."""
    lines = [mail.opening, ""]
    for section in mail.sections:
        lines += [section.heading, "-" * len(section.heading)]
        lines += [*section.paragraphs]
        lines += [f"  * {item}" for item in section.items]
        lines.append("")
    if mail.link:
        lines += [f"{mail.link[0]}: {mail.link[1]}", ""]
    if mail.footer:
        lines += [mail.footer.reason, f"{STOP_WORDS}: {mail.footer.stop_url}"]
    lines.append("This is an automatic message from CYP Plan Monitor.")
    return "\n".join(lines) + "\n"


def render_html(mail: Outgoing) -> str:
    """The HTML part: a language, a title, one h1 and h2 per section; meaning in words, never in colour alone."""
    escape = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en-GB">',
        '<head><meta charset="utf-8"><meta name="viewport" content="width=device-width">',
        f"<title>{escape(mail.subject)}</title></head>",
        '<body style="font-family: Arial, sans-serif; font-size: 16px; line-height: 1.5; color: #1a1a1a;">',
        f'<h1 style="font-size: 22px;">{escape(mail.subject)}</h1>',
        f"<p>{escape(mail.opening)}</p>",
    ]
    for section in mail.sections:
        parts.append(f'<h2 style="font-size: 18px;">{escape(section.heading)}</h2>')
        parts += [f"<p>{escape(paragraph)}</p>" for paragraph in section.paragraphs]
        if section.items:
            parts.append("<ul>" + "".join(f"<li>{escape(item)}</li>" for item in section.items) + "</ul>")
    if mail.link:
        text, url = mail.link
        parts.append(f'<p><a href="{escape(url, quote=True)}">{escape(text)}</a></p>')
    # The footer's text is smaller but keeps the body's near-black colour; its link is written out, as in the
    # plain-text part, so it can be copied into a browser that is not the mail reader's.
    parts.append('<footer style="margin-top: 32px; border-top: 1px solid #505a5f; font-size: 14px;">')
    if mail.footer:
        url = mail.footer.stop_url
        parts += [
            f"<p>{escape(mail.footer.reason)}</p>",
            f'<p>{escape(STOP_WORDS)}: <a href="{escape(url, quote=True)}">{escape(url)}</a></p>',
        ]
    parts += ["<p>This is an automatic message from CYP Plan Monitor.</p>", "</footer>", "</body>", "</html>"]
    return "\n".join(parts) + "\n"


def build_message(mail: Outgoing, settings: Settings | None = None) -> EmailMessage:
    """The MIME message: text and HTML alternatives, then the attachments; From and Reply-To from the settings."""
    settings = settings or get_settings()
    message = EmailMessage()
    message["From"] = settings.mail_from
    if settings.mail_reply_to:
        message["Reply-To"] = settings.mail_reply_to
    message["To"] = ", ".join(mail.to)
    message["Subject"] = mail.subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=settings.mail_from.rpartition("@")[2] or None)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(render_text(mail))
    message.add_alternative(render_html(mail), subtype="html")
    for attachment in mail.attachments:
        message.add_attachment(
            attachment.data, maintype=attachment.maintype, subtype=attachment.subtype, filename=attachment.filename
        )
    return message


def smtp_password(settings: Settings) -> str:
    """The mail server's password: the secret file's first line if one is set, else ``CYP_SMTP_PASSWORD``."""
    if settings.smtp_password_file:
        path = Path(settings.smtp_password_file)
        try:
            return path.read_text(encoding="utf-8").splitlines()[0].strip() if path.stat().st_size else ""
        except OSError as error:
            raise MailNotConfigured(f"CYP_SMTP_PASSWORD_FILE {path} cannot be read ({error.strerror}).") from None
    return settings.smtp_password


def check_mail_settings(settings: Settings | None = None) -> Settings:
    """The settings, if they name a mail server in a known way; else :class:`MailNotConfigured` saying what to set."""
    settings = settings or get_settings()
    if not settings.smtp_host:
        raise MailNotConfigured("No mail server is set: set CYP_SMTP_HOST (and CYP_SMTP_PORT, CYP_SMTP_SECURITY).")
    if settings.smtp_security not in SECURITY_MODES:
        raise MailNotConfigured(
            f"CYP_SMTP_SECURITY is {settings.smtp_security!r}; use one of {', '.join(SECURITY_MODES)}."
        )
    if "@" not in settings.mail_from:
        raise MailNotConfigured(f"CYP_MAIL_FROM {settings.mail_from!r} is not an email address.")
    return settings


class MailServer:
    """One connection to the mail server, opened on the first message and closed at the end of the ``with``."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = check_mail_settings(settings)
        self._smtp: smtplib.SMTP | None = None

    def __enter__(self) -> MailServer:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _connect(self) -> smtplib.SMTP:
        settings = self.settings
        context = ssl.create_default_context()
        if settings.smtp_security == "tls":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                settings.smtp_host, settings.smtp_port, timeout=TIMEOUT_SECONDS, context=context
            )
        else:
            smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=TIMEOUT_SECONDS)
            if settings.smtp_security == "starttls":
                smtp.starttls(context=context)
        if settings.smtp_user:
            smtp.login(settings.smtp_user, smtp_password(settings))
        return smtp

    def send(self, message: EmailMessage) -> None:
        """Hand one message to the server; returns only once the server accepted it for every recipient."""
        try:
            if self._smtp is None:
                self._smtp = self._connect()
            refused = self._smtp.send_message(message)
        except (OSError, smtplib.SMTPException) as error:
            self.close()
            raise MailFailed(
                f"the mail server {self.settings.smtp_host}:{self.settings.smtp_port} said: {error}"
            ) from None
        if refused:
            raise MailFailed(f"the mail server refused {', '.join(refused)}")

    def close(self) -> None:
        """Say goodbye to the server, if connected."""
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (OSError, smtplib.SMTPException):
                self._smtp.close()
            self._smtp = None
