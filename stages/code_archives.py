"""Tar and zip archives of one repository, read one member at a time with every read bounded.

An archive is read in two passes, so that no two members' texts are ever held together:
a survey (member count, declared sizes, the repository's name, a prefix of its root licence
files), then the members in archive order. The caps (ExtractSettings):

- more than `max_archive_members` members, or declared sizes adding up to more than
  `max_archive_bytes`: the archive is refused from the survey, before any member is read
  (one file-level `code.archive_too_large` row, see stages/code_source.py);
- while reading, the bytes actually read are counted as well (declared sizes can lie): a
  member that would take them past `max_archive_bytes`, and every member after it, is
  `code.archive_too_large`;
- a member is read with read(max_code_file_bytes + 1) whatever its header says, a licence
  file with read(max_license_bytes), at most MAX_LICENSE_FILES of them;
- tar: pax and GNU long-name headers larger than MAX_TAR_META, GNU and pax 1.0 sparse members,
  and a broken header after the first member make the rest of the archive corrupt (tarfile
  would read such headers or sparse maps whole, or take a broken header for the end of the
  archive and silently drop what follows); sparse files do not occur in source trees.

An error reading one member (bad CRC, bad compressed data, encryption, truncation) is that
member's `code.corrupt_member` and reading goes on with the next one; an error building a
member's row is that member's row (stages/code_rows.safe_row); an error in the archive's
structure ends it (the caller's `code.corrupt` row).
"""

from __future__ import annotations

import os
import posixpath
import tarfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from stages import licenses
from stages.code_rows import MAX_LICENSE_FILES
from stages.reading import arrow_safe

ARCHIVE_EXTS = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz", ".zip")
MAX_TAR_META = 1 << 20
"""Largest pax / GNU long-name header read (real ones are a few hundred bytes)."""


class ArchiveTooLarge(Exception):
    """The second pass met more members than the survey allowed (the file changed)."""


@dataclass
class Member:
    name: str
    kind: str  # "file", "dir", "symlink", "other"
    size: int  # as declared in the archive
    read: Callable[[int], bytes] | None = None  # at most n bytes of the content


@dataclass
class Survey:
    repo: str
    strip: int  # leading path components to remove (GitHub's archives hold one top folder)
    members: int = 0
    declared: int = 0
    licence_texts: dict[str, str] = field(default_factory=dict)
    too_large: bool = False


@dataclass
class Item:
    """One member as read: `data` is None when it was not read (`reason`, or too large)."""
    path: str
    record: str
    size: int
    reason: str | None = None
    data: bytes | None = None
    error: str | None = None


class _BoundedTarInfo(tarfile.TarInfo):
    """TarInfo that refuses oversized metadata headers and a broken header past the first."""

    @classmethod
    def fromtarfile(cls, tf):
        try:
            return super().fromtarfile(tf)
        except tarfile.InvalidHeaderError as e:
            if tf.offset:  # tarfile would end the archive here without a word
                raise tarfile.SubsequentHeaderError(f"bad header at offset {tf.offset}: {e}") from None
            raise

    def _proc_member(self, tf):
        meta = (tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK, tarfile.XHDTYPE, tarfile.XGLTYPE,
                tarfile.SOLARIS_XHDTYPE)
        if self.type in meta and self.size > MAX_TAR_META:
            raise tarfile.SubsequentHeaderError(f"a {self.size}-byte metadata header (over {MAX_TAR_META})")
        if self.type == tarfile.GNUTYPE_SPARSE:
            raise tarfile.SubsequentHeaderError("a GNU sparse member (its maps are read without a limit)")
        return super()._proc_member(tf)

    def _proc_gnusparse_10(self, next, pax_headers, tf):
        raise tarfile.SubsequentHeaderError("a pax 1.0 sparse member (its map is read without a limit)")


def _tar_members(path: str) -> Iterator[Member]:
    with tarfile.open(path, "r:*", tarinfo=_BoundedTarInfo) as tf:
        while (info := tf.next()) is not None:
            tf.members = []  # tarfile keeps every header otherwise: memory grows with the count
            if info.isdir():
                yield Member(info.name, "dir", 0)
            elif info.issym() or info.islnk():
                yield Member(info.name, "symlink", 0)
            elif info.isfile():
                yield Member(info.name, "file", info.size, lambda n, i=info: tf.extractfile(i).read(n))
            else:
                yield Member(info.name, "other", 0)


def _zip_members(path: str) -> Iterator[Member]:
    with zipfile.ZipFile(path) as zf:  # the central directory: bounded by the file's own size
        for info in zf.infolist():
            if info.is_dir():
                yield Member(info.filename, "dir", 0)
            elif (info.external_attr >> 16) & 0o170000 == 0o120000:
                yield Member(info.filename, "symlink", 0)
            else:
                def read(n: int, i=info) -> bytes:
                    with zf.open(i) as f:
                        return f.read(n)
                yield Member(info.filename, "file", info.file_size, read)


def members(path: str) -> Iterator[Member]:
    """Every member of a tar or zip archive, in archive order, read lazily."""
    return _zip_members(path) if path.lower().endswith(".zip") else _tar_members(path)


def _escapes(name: str) -> bool:
    norm = posixpath.normpath(name) if name else name
    return name.startswith("/") or norm == ".." or norm.startswith("../")


def inner_path(name: str, strip: int) -> str:
    """The member's path inside the repository (the raw name when it escapes), as a name to
    show: decoded once, here (tarfile keeps a byte that is not UTF-8 as a lone surrogate,
    which becomes a `\\xNN` escape), so every row built from it can be stored."""
    if _escapes(name):
        return arrow_safe(name)
    norm = posixpath.normpath(name) if name else name
    return arrow_safe(norm.split("/", strip)[-1] if strip else norm)


def _base_name(path: str) -> str:
    base = os.path.basename(path)
    for ext in ARCHIVE_EXTS:
        if base.lower().endswith(ext):
            return base[: -len(ext)]
    return base


def survey(path: str, settings) -> Survey:
    """Pass one: counts, declared sizes, repository name and licence prefixes. A structural
    error part-way ends the survey with what was seen (pass two meets the same error and
    reports it after the members before it); one at the start is raised."""
    tops: set[str] = set()
    all_nested = True
    sv = Survey(repo="", strip=0)
    candidates: dict[str, str] = {}  # normalised name -> licence text prefix
    per_depth = {1: 0, 2: 0}
    first_top = None
    it = members(path)
    try:
        for m in it:
            sv.members += 1
            sv.declared += m.size
            if sv.members > settings.max_archive_members or sv.declared > settings.max_archive_bytes:
                sv.too_large = True
                break
            if m.kind == "dir" or not m.name:
                continue
            top = m.name.split("/", 1)[0]
            first_top = first_top if first_top is not None else top
            if len(tops) < 2:
                tops.add(top)
            all_nested = all_nested and "/" in m.name
            if m.kind != "file" or _escapes(m.name):
                continue
            norm = posixpath.normpath(m.name)
            depth = norm.count("/") + 1
            if depth > 2 or (depth == 2 and top != first_top) or per_depth[depth] >= MAX_LICENSE_FILES:
                continue
            if licenses.is_license_file(norm.rsplit("/", 1)[-1]):
                per_depth[depth] += 1
                try:
                    candidates[norm] = m.read(settings.max_license_bytes).decode("utf-8", "replace")
                except Exception:  # noqa: BLE001 - an unreadable licence counts as absent
                    pass
    except Exception:  # noqa: BLE001
        if sv.members == 0:
            raise
    finally:
        it.close()
    if len(tops) == 1 and all_nested:
        sv.repo, sv.strip = tops.pop(), 1
    else:
        sv.repo, sv.strip = _base_name(path), 0
    for norm, text in candidates.items():
        inner = inner_path(norm, sv.strip)
        if "/" not in inner:
            sv.licence_texts[inner] = text
    return sv


def read_items(path: str, sv: Survey, settings, take: Callable[[], str]) -> Iterator[Item]:
    """Pass two: every member that is not a folder, read with the caps of the module's
    docstring (every file, as its blob sha is part of its id); `take` numbers each member as
    it is taken (curator/tally.py)."""
    file_cap = settings.max_code_file_bytes
    total = count = 0
    full = False
    it = members(path)
    try:
        for m in it:
            count += 1
            if count > settings.max_archive_members:
                raise ArchiveTooLarge(f"more than {settings.max_archive_members} members")
            if m.kind == "dir":  # not a record: folders leave no row
                continue
            item = Item(inner_path(m.name, sv.strip), take(), m.size)
            if _escapes(m.name):
                item.reason = "escapes_repo"
            elif m.kind != "file":
                item.reason = "symlink" if m.kind == "symlink" else "not_a_file"
            elif full or total + min(m.size, file_cap + 1) > settings.max_archive_bytes:
                full, item.reason = True, "archive_too_large"
            elif m.size <= file_cap:
                try:
                    item.data = m.read(file_cap + 1)
                    total += len(item.data)
                except Exception as e:  # noqa: BLE001 - one member's error is that member's row
                    item.reason, item.error = "corrupt_member", f"{type(e).__name__}: {e}"[:500]
            yield item
    finally:
        it.close()
