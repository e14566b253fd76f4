"""Errors the product reports to people: each message is one line that says what went wrong and what to run.

The message (`str(error)`) is what the command line prints; the chat shows `error.russian`, a Russian line
for the same problem. `exit_code` is the `rag` command's exit status for it (see README, "Exit status").
"""


class RagError(Exception):
    """A problem with input, corpus, model or index that a user can act on (never a bug)."""

    exit_code = 1
    RUSSIAN: str | None = None
    """The chat's line for this kind of error; None: the message itself (already Russian, or shown as is)."""

    def __init__(self, message: str, russian: str | None = None) -> None:
        super().__init__(message)
        self._russian = russian

    @property
    def russian(self) -> str:
        """The line the chat shows: the one given, else the kind's, else the message."""
        return self._russian or self.RUSSIAN or str(self)


class IndexMissing(RagError):
    """There is no index at the given folder yet."""

    RUSSIAN = "индекс ещё не построен: выполните rag index"


class IndexDamaged(RagError):
    """The index on disk cannot be loaded as it is; `rag index --rebuild` makes a new one."""

    RUSSIAN = "индекс повреждён: его нужно перестроить командой rag index --rebuild"


class IndexBusy(RagError):
    """Another process kept the index's writer lock longer than this update would wait."""

    exit_code = 75  # EX_TEMPFAIL: try again later
    RUSSIAN = "индекс сейчас обновляет другой процесс: попробуйте через несколько минут"


class ModelMismatch(RagError):
    """The index was built by another model than the one asked for, or its dimension differs."""

    RUSSIAN = "индекс построен другой моделью: его нужно перестроить командой rag index --rebuild"


class ModelUnavailable(RagError):
    """The embedding model can be neither loaded from disk nor downloaded."""

    RUSSIAN = "модель для поиска не загружается: подробности в журнале сервера"
