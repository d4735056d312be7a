"""E-mail: one way to render and send a message, and a readable console backend for development.

Every e-mail is a template triple under ``templates/emails/``: ``<name>_subject.txt``,
``<name>.txt`` and ``<name>.html``. The subject is collapsed to one line and carries the
site's prefix (``[Tollgate] …``), as allauth's own e-mails do.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.backends.console import EmailBackend as DjangoConsoleBackend
from django.template.loader import render_to_string


def email_render(*, template: str, context: dict[str, Any]) -> tuple[str, str, str]:
    """(subject, text, html) of ``templates/emails/<template>…``."""
    context = {"SITE_NAME": settings.SITE_NAME, "SITE_URL": settings.SITE_URL, **context}
    subject = " ".join(render_to_string(f"emails/{template}_subject.txt", context).split())
    text = render_to_string(f"emails/{template}.txt", context)
    html = render_to_string(f"emails/{template}.html", context)
    return settings.ACCOUNT_EMAIL_SUBJECT_PREFIX + subject, text, html


def email_send(*, template: str, to: list[str], context: dict[str, Any]) -> None:
    """Render the template triple and send it to ``to`` (nothing is sent to an empty list)."""
    if not to:
        return
    subject, text, html = email_render(template=template, context=context)
    message = EmailMultiAlternatives(subject=subject, body=text, to=to)
    message.attach_alternative(html, "text/html")
    message.send()


class ReadableConsoleBackend(DjangoConsoleBackend):
    """Prints the headers that matter and the decoded plain-text body.

    Django's console backend prints the raw MIME message, where quoted-printable encoding breaks
    long links (``confirm-emai=\\nl/…``) so they cannot be copied from the ``make run`` console.
    """

    def write_message(self, message: Any) -> None:
        rule = "-" * 79
        self.stream.write(
            f"{rule}\nEmail to: {', '.join(message.to)}\nFrom: {message.from_email}\n"
            f"Subject: {message.subject}\n\n{message.body}\n{rule}\n"
        )
