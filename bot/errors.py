"""Errors a user can cause and fix. Every surface shows their message, never a traceback."""


class PaperchatError(Exception):
    """Base class: a domain error with a message meant for the user."""


class IngestError(PaperchatError):
    """A corpus file cannot be read: missing, undecodable, of no known layout, or empty."""


class LibraryError(PaperchatError):
    """A library folder is missing, damaged, locked, or was built differently; or its
    embedding engine cannot run."""


class SettingsError(PaperchatError):
    """A setting or settings file that cannot be used as given (such as a malformed login)."""


class QueryError(PaperchatError):
    """A question or reference that cannot be answered as asked (blank, too long, unknown)."""
