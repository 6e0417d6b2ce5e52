"""Exceptions raised by the library; the CLI turns each into a one-line message."""

from __future__ import annotations


class SamverkanError(Exception):
    """Base class: a problem the user can fix (bad input, missing index, ...)."""

    exit_code = 2


class InvalidInputError(SamverkanError, ValueError):
    """A question, option or file the user gave is not usable."""


class CorpusNotFoundError(SamverkanError, FileNotFoundError):
    """A corpus folder or file that was asked for does not exist."""


class IndexNotFoundError(SamverkanError, FileNotFoundError):
    """No index was found where one was expected."""


class IndexMismatchError(SamverkanError):
    """The index on disk was built with another model or format."""


class ModelError(SamverkanError):
    """The embedding model could not be prepared or loaded."""


class MissingExtraError(SamverkanError, ImportError):
    """An optional dependency is not installed."""


class ServerError(SamverkanError):
    """The web server could not start (port taken, address not available)."""


class IndexDamagedError(IndexMismatchError):
    """Files of the index are missing, truncated or disagree with each other."""


class IndexBusyError(SamverkanError):
    """Another `index` run holds the index folder's lock."""


class StoreError(SamverkanError):
    """A database store cannot be used: unreachable, refused the login, or lacks pgvector."""


class UploadRefusedError(InvalidInputError):
    """Documents sent from the web page were refused: uploading is off, the token is wrong,
    or the request is over a size limit."""
