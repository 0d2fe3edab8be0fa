"""The one exception type users see: a message that names the file and the fix."""


class TranslationError(Exception):
    """An error the user can act on. The CLI prints it on one line and exits non-zero."""
