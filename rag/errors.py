"""Errors the product reports to people: each message says what went wrong and what to run."""


class RagError(Exception):
    """A problem with input, corpus, model or index that a user can act on (never a bug)."""


class IndexMissing(RagError):
    """There is no index at the given folder yet."""


class IndexDamaged(RagError):
    """The index on disk cannot be loaded as it is; `rag index --rebuild` makes a new one."""


class ModelMismatch(RagError):
    """The index was built by another model than the one asked for, or its dimension differs."""


class ModelUnavailable(RagError):
    """The embedding model can be neither loaded from disk nor downloaded."""
