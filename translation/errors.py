"""The one exception type users see: a message that names the file and the fix."""
from __future__ import annotations


class TranslationError(Exception):
    """An error the user can act on. The CLI prints it on one line and exits non-zero."""


def first_line(exc: BaseException, limit: int | None = None) -> str:
    """The first line of ``exc``'s message (its type's name when the message is blank), cut to ``limit`` characters."""
    text = str(exc).strip()
    line = text.splitlines()[0] if text else type(exc).__name__
    return line[:limit] if limit is not None else line
