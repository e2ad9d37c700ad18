"""The exceptions gradrd raises; the messages are the command line's."""

from __future__ import annotations


class GradrdError(Exception):
    """Base of every error gradrd raises."""


class OptionError(GradrdError, ValueError):
    """An option value cannot be used; ``field`` names the option."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


class DataError(GradrdError):
    """The data cannot be analysed: every tensor failed, a value is not
    finite, an encoded stream is corrupt."""


class ReadError(GradrdError, OSError):
    """A file or a tensor in it cannot be read."""


class GradrdWarning(UserWarning):
    """A part of the input was left out (a tensor that could not be read)."""
