"""Runs one index update and kills itself with SIGKILL at its Nth step: `python -m tests.crash_child CORPUS INDEX N`.

A step is a call to one of the file-system operations an update makes (directory creation, file writes,
fsync, rename, pointer replacement, clean-up), to the word index's commit, or to embedding; odd N kill just
before the step's call, even N just after it. N = 0 runs the update to the end and prints the number of kill points.
"""

from __future__ import annotations

import functools
import os
import shutil
import signal
import sys

import rag
from rag.index import files, words
from rag.models.static import StaticEmbedder

target = int(sys.argv[3])
calls = 0


def killing(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        global calls
        calls += 1
        step = calls
        if 2 * step - 1 == target:
            os.kill(os.getpid(), signal.SIGKILL)
        try:
            return fn(*args, **kwargs)
        finally:  # also when the call raised (os.mkdir of an existing folder does)
            if 2 * step == target:
                os.kill(os.getpid(), signal.SIGKILL)

    return wrapper


for module, name in [(os, "mkdir"), (os, "fsync"), (os, "rename"), (os, "replace"), (shutil, "rmtree"),
                     (files, "write_bytes"), (words.WordsWriter, "commit"),
                     (StaticEmbedder, "encode_passages")]:
    setattr(module, name, killing(getattr(module, name)))

rag.build_index(sys.argv[1], sys.argv[2])
print(f"points={2 * calls}")
