"""The article table (`rag.index.table`) against the plain dict it stands for: whatever sequence of adds,
replacements and removals, committed in any number of updates and merged by the policy, it lists exactly
what a dict updated the same way holds, while each update writes only its own rows."""

import random
from dataclasses import replace
from pathlib import Path

import numpy as np

from rag.index import merging
from rag.index.table import ArticleEntry, Articles


def entry(n: int, first: int, passages: int) -> ArticleEntry:
    return ArticleEntry(f"hash{n}", f"Статья {n}", first, passages, "2025-03-0" + str(1 + n % 9),
                        None if n % 3 else "Zakon.kz", None, 100 + n, 10**18 + n, f"text{n}")


def merge(table: Articles, folder: Path, name: str) -> Articles:
    """What `Update.commit` does once the change is written: merge as the policy says."""
    for round_ in range(len(table.entries)):
        chosen = merging.to_merge(table.entries, {e.name: e.live for e in table.entries}, False)
        if not chosen:
            break
        table = table.merged(folder, f"{name}-m{round_}", chosen)
    return table


def test_the_table_holds_what_a_dict_would_through_many_updates_and_merges(tmp_path: Path) -> None:
    rng = random.Random(7)
    reference: dict[str, ArticleEntry] = {}
    table, next_id = Articles(tmp_path), 0
    for update in range(40):
        added, removed = {}, set()
        for _ in range(rng.choice([1, 1, 2, 30])):
            source = f"{rng.randrange(200):03d}.md"
            action = rng.random()
            if action < 0.2 and source in reference:
                removed.add(source)
                added.pop(source, None)
                del reference[source]
            elif action < 0.3 and source in reference:  # same text, new file stat: the row is written again
                reference[source] = added[source] = replace(reference[source], mtime_ns=update)
            else:
                passages = rng.randint(1, 5)
                reference[source] = added[source] = entry(update, next_id, passages)
                next_id += passages
        table = table.changed(added, removed).write(tmp_path, f"a-{update:08d}")
        assert not added or (table.entries[-1].name, table.entries[-1].rows) == (f"a-{update:08d}", len(added))
        table = merge(table, tmp_path, f"a-{update:08d}")

        reopened = Articles(tmp_path, table.entries)  # as the next reader finds it
        assert dict(reopened.items()) == reference
        assert len(reopened) == len(reference) and set(reopened) == set(reference)
        assert all(reopened[s] == e for s, e in reference.items())
        assert reopened.stats() == {s: (e.size, e.mtime_ns, e.text_hash) for s, e in reference.items()}
        firsts, counts = reopened.spans()
        spans = sorted((e.first, e.passages) for e in reference.values())
        assert sorted(zip(firsts.tolist(), counts.tolist())) == spans
        assert len(table.entries) < 3 * merging.MERGE_FACTOR


def test_an_update_writes_its_rows_alone_and_reads_leave_the_files_mapped(tmp_path: Path) -> None:
    big = {f"{n:05d}.md": entry(n, 3 * n, 3) for n in range(5000)}
    table = Articles(tmp_path).changed(dict(big), set()).write(tmp_path, "a-1")
    one = table.changed({"new.md": entry(9, 15000, 2)}, {"00007.md"}).write(tmp_path, "a-2")
    assert [e.rows for e in one.entries] == [5000, 1] and one.entries[0].deleted == (7,)
    assert (tmp_path / "a-2.arrow").stat().st_size < (tmp_path / "a-1.arrow").stat().st_size / 100
    assert "00007.md" not in one and one["new.md"].passages == 2 and len(one) == 5000
    live = np.zeros(15002, dtype=bool)
    for first, count in zip(*one.spans()):
        live[first:first + count] = True
    assert not live[21:24].any() and live[15000:15002].all()
