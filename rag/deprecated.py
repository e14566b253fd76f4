"""Old names kept for one release (until 0.2), each warning where it is used: see docs/internals.md,
"Deprecated names"."""

from __future__ import annotations

import warnings

UNTIL = "0.2"
"""The release that drops the old names."""


def renamed(old: str, new: str) -> property:
    """A read-only attribute `old` that gives `new` and warns that `old` is deprecated."""

    def read(self):
        warnings.warn(f"{type(self).__name__}.{old} is deprecated and goes in {UNTIL}: use .{new}",
                      DeprecationWarning, stacklevel=2)
        return getattr(self, new)

    return property(read, doc=f"Deprecated (goes in {UNTIL}): `{new}`.")


OLD_JSON_KEYS = {"article": "title"}
"""Keys of `rag ask --json` and the JSON API (a passage, a summary) under their old names, beside the new."""


def old_json_keys(record) -> dict:
    """The old keys of a passage's or summary's JSON object, with their values."""
    return {old: getattr(record, new) for old, new in OLD_JSON_KEYS.items()}
