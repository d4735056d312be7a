"""A development console email backend that prints emails readably.

Django's console backend prints the raw MIME message, where quoted-printable encoding breaks
long links (``confirm-emai=\\nl/…``) so they cannot be copied from the ``make run`` console.
This one prints the headers that matter and the decoded plain-text body.
"""

from __future__ import annotations

from django.core.mail.backends.console import EmailBackend as DjangoConsoleBackend


class ReadableConsoleBackend(DjangoConsoleBackend):
    def write_message(self, message) -> None:
        rule = "-" * 79
        self.stream.write(
            f"{rule}\nEmail to: {', '.join(message.to)}\nFrom: {message.from_email}\n"
            f"Subject: {message.subject}\n\n{message.body}\n{rule}\n"
        )
