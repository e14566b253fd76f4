"""Builds an index on a local Ray cluster, committing every 5 passages, and kills itself with SIGKILL just after
its second commit: `python -m tests.ray_kill_child CORPUS INDEX`."""

from __future__ import annotations

import os
import signal
import sys

import rag
from rag.index import store, update
from rag.models import navec

update.CHECKPOINT = 5
commit = store.Update.commit
commits = 0


def commit_then_die_at_the_second(self: store.Update, *args, **kwargs):
    global commits
    result = commit(self, *args, **kwargs)
    commits += 1
    if commits == 2:
        os.kill(os.getpid(), signal.SIGKILL)
    return result


store.Update.commit = commit_then_die_at_the_second
rag.build_index(sys.argv[1], sys.argv[2], model=navec.NAME, ray="auto", ray_actors=1)
