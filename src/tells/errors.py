"""User-facing errors. Anything a user can cause raises :class:`TellsError` with one line that
says what went wrong and what to do; the CLI prints it and exits non-zero, never a traceback."""

from __future__ import annotations


class TellsError(Exception):
    """An error the user can act on. ``str(err)`` is a single line."""

    exit_code = 2


class InputError(TellsError):
    """The input file is missing, unreadable, not a video/image, or holds nothing usable."""


class OutputError(TellsError):
    """The output location cannot be written."""


class ProvisionError(TellsError):
    """A model or sample file could not be fetched or failed its checksum."""
