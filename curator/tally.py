"""Records counted as they are read, so that a record whose row went missing is noticed.

A reader (WARC file, archive, repository, dataset) calls `take()` the moment it takes a
record (a WARC record, an archive member, a file, a dataset row) from its input, before it
builds that record's row, and puts the returned number in the row's `meta["record"]`. Rows
about the file as a whole (unreadable, corrupt, empty) carry no number. The extract phase
then checks, per task, that every number from 0 to `read - 1` has exactly one row
(curator/stats.py: `record_tally`, `check_records`), so an exception that swallows the rest of a file, or a member that
silently vanishes, fails the accounting instead of passing unseen.
"""

from __future__ import annotations


class Tally:
    __slots__ = ("read",)

    def __init__(self) -> None:
        self.read = 0

    def take(self) -> str:
        """The number of the record just taken (as a meta value), counting it."""
        k = self.read
        self.read += 1
        return str(k)
