"""The one exception tree of formdigits.

Every error a user can cause carries a stable ``code`` string. The web layer maps
each class to an HTTP status in one table; the worker turns them into a failed page
record without retrying. Anything that is not a ``FormdigitsError`` is a bug or a
transient fault, never the user's input.
"""

from __future__ import annotations


class FormdigitsError(Exception):
    """Base of all errors raised on purpose by formdigits."""

    code = "formdigits_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def to_dict(self) -> dict[str, str]:
        """The JSON shape used by the API and the job store: ``{"code", "message"}``."""
        return {"code": self.code, "message": self.message}


class InvalidInput(FormdigitsError):
    """The input is readable in principle but its content is unusable (empty, corrupt, no ink)."""

    code = "invalid_input"


class UnsupportedFormat(FormdigitsError):
    """The bytes are not a file type formdigits reads."""

    code = "unsupported_format"


class LimitExceeded(FormdigitsError):
    """The input is larger than a configured limit (pixels, pages, files, bytes)."""

    code = "limit_exceeded"


class ModelError(FormdigitsError):
    """The model weights are missing, corrupt or do not match the network."""

    code = "model_error"
