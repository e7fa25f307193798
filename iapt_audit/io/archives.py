"""Bounded decompression: every archive the tool opens is refused before it can exhaust memory.

Extracts and published files arrive as .zip, .csv.gz and .xlsx (itself a zip). A hostile or
damaged archive can claim gigabytes from a few kilobytes (a "decompression bomb"), so every
decompression is bounded twice, **per member and in total**:

* by size: ``MAX_UNPACKED_BYTES`` for an input, ``WORKBOOK_MAX_UNPACKED_BYTES`` for a workbook's
  XML (openpyxl holds a sheet as Python objects, about 60 times its XML, and parses ~5 MB/s);
* by ratio: more than ``MAX_RATIO`` times the packed size, once past ``RATIO_FLOOR`` (ordinary
  CSVs and sheets compress 5-20 times; a bomb 1,000 times and more).

A zip's directory states each member's sizes, so zips are checked before a byte is unpacked
(``check_zip``); a member cannot unpack beyond its stated size (Python's zipfile stops there and
the CRC then fails). A gzip stream states nothing reliable (its size field is modulo 4 GiB and
written by the sender), so it is counted by streaming it through zlib into nothing
(``check_gzip``): constant memory, refused the moment it passes its bound.

Damage a real user meets is one line and exit 2 (``InputError``), never a traceback: a bad CRC, a
password-protected member, a compression method Python cannot read (Windows Explorer's
Deflate64 for large files), a truncated archive.
"""

from __future__ import annotations

import gzip
import shutil
import zipfile
import zlib
from pathlib import Path

from iapt_audit.errors import InputError

MAX_UNPACKED_BYTES = 2 << 30            # an extract (or published file) unpacked, in total
WORKBOOK_MAX_UNPACKED_BYTES = 96 << 20  # a workbook's XML: ~1M cells, under a minute in openpyxl
MAX_RATIO = 200
RATIO_FLOOR = 1 << 20                   # small members may compress better than MAX_RATIO
READABLE_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "Deflate",
                    zipfile.ZIP_BZIP2: "bzip2", zipfile.ZIP_LZMA: "LZMA"}
OTHER_METHODS = {9: "Deflate64 (Windows Explorer's method for large files)", 12: "bzip2", 99: "AES encryption"}
# the errors reading a zip member can raise: damage, a bad CRC, encryption, an unknown method
ZIP_READ_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, RuntimeError, NotImplementedError,
                   zlib.error, ValueError)
CHUNK = 1 << 20


def limit_for(packed: int, max_bytes: int = MAX_UNPACKED_BYTES) -> int:
    """The most bytes ``packed`` compressed bytes may unpack to: the ratio bound, never above ``max_bytes``."""
    return min(max_bytes, max(RATIO_FLOOR, MAX_RATIO * packed))


def check_zip(path: Path, what: str = "zip archive", max_bytes: int = MAX_UNPACKED_BYTES,
              members=None) -> list[zipfile.ZipInfo]:
    """The archive's members, after refusing a damaged archive or one that would unpack too far.

    ``members`` (names) limits the per-member checks to the members that will be read; the total
    is always over those members. Raises ``InputError`` naming the archive (and member).
    """
    try:
        with zipfile.ZipFile(path) as archive:
            infos = [i for i in archive.infolist() if not i.is_dir()]
    except ZIP_READ_ERRORS:
        raise InputError(f"the {what} is damaged or not a real .{path.suffix.lstrip('.').lower()} file",
                         file=path, fix=f"re-save it from the program that made it, or re-export the {what}") from None
    chosen = infos if members is None else [i for i in infos if i.filename in set(members)]
    for info in chosen:
        where = f"{path}:{info.filename}"
        if info.flag_bits & 0x1:
            raise InputError("the member is password-protected", file=where,
                             fix="make the archive again without a password")
        if info.compress_type not in READABLE_METHODS:
            method = OTHER_METHODS.get(info.compress_type, f"method {info.compress_type}")
            raise InputError(f"the member is compressed with {method}, which cannot be read", file=where,
                             fix="make the archive again with ordinary Deflate compression (e.g. `zip -r`, "
                                 "or 7-Zip's Zip format with Deflate)")
        _refuse_if_beyond(where, info.file_size, info.compress_size, max_bytes, what)
    _refuse_if_beyond(path, sum(i.file_size for i in chosen), sum(i.compress_size for i in chosen), max_bytes, what)
    return chosen


def check_gzip(path: Path, max_bytes: int = MAX_UNPACKED_BYTES) -> int:
    """Stream a gzip file through zlib (keeping nothing); its unpacked size, or ``InputError``
    as soon as it passes ``limit_for(its size)``."""
    limit = limit_for(path.stat().st_size, max_bytes)
    total = 0
    try:
        with gzip.open(path, "rb") as handle:
            while chunk := handle.read(CHUNK):
                total += len(chunk)
                if total > limit:
                    _refuse_if_beyond(path, total, path.stat().st_size, max_bytes, "gzip file", partial=True)
    except (OSError, EOFError, zlib.error) as err:  # gzip.BadGzipFile is an OSError
        raise InputError(f"cannot read the file ({type(err).__name__})", file=path,
                         fix="check it is a complete .csv or .csv.gz file") from None
    return total


def copy_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, target, where: str) -> None:
    """Unpack one (already checked) member into the open binary file ``target``, streamed."""
    try:
        with archive.open(info) as source:
            shutil.copyfileobj(source, target, CHUNK)
    except ZIP_READ_ERRORS as err:
        raise InputError(f"the member is damaged ({_reason(err)})", file=where,
                         fix="download or copy the archive again, or re-export the extract") from None


def read_member(archive_path: Path, member: str, size: int = -1) -> bytes:
    """The (first ``size``) bytes of one zip member already bounded by ``check_zip``."""
    where = f"{archive_path}:{member}"
    try:
        with zipfile.ZipFile(archive_path) as archive, archive.open(member) as handle:
            return handle.read(size)
    except ZIP_READ_ERRORS as err:
        raise InputError(f"the member is damaged ({_reason(err)})", file=where,
                         fix="download the archive again") from None


def gunzip_bounded(data: bytes, where, max_bytes: int = MAX_UNPACKED_BYTES, size: int = -1) -> bytes:
    """Decompress gzip ``data`` held in memory (every member of it); only the first ``size``
    bytes when ``size`` >= 0. The whole is first counted chunk by chunk, keeping nothing, and
    refused beyond ``limit_for(len(data))`` before any of it is kept."""
    if size < 0:
        limit, total = limit_for(len(data), max_bytes), 0
        for piece in _inflated(data, where):
            total += len(piece)
            if total > limit:
                _refuse_if_beyond(where, total, len(data), max_bytes, "gzip file", partial=True)
    out, produced = [], 0
    for piece in _inflated(data, where):
        out.append(piece)
        produced += len(piece)
        if 0 <= size <= produced:
            break
    whole = b"".join(out)
    return whole if size < 0 else whole[:size]


def _inflated(data: bytes, where):
    """The decompressed bytes of every gzip member in ``data``, a chunk at a time: input is fed
    in slices (no copy of the rest per step) and each step's output is at most ``CHUNK``."""
    view, position = memoryview(data), 0
    try:
        while position < len(view):
            inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
            while not inflater.eof:
                if position >= len(view) and not inflater.unconsumed_tail:
                    raise zlib.error("the gzip stream is truncated")
                piece = view[position:position + CHUNK]
                position += len(piece)
                pending = bytes(piece)
                while pending and not inflater.eof:
                    yield inflater.decompress(pending, CHUNK)
                    pending = inflater.unconsumed_tail  # at most one slice
            position -= len(inflater.unused_data)  # the next member starts here
    except zlib.error as err:
        raise InputError(f"cannot read the file ({_reason(err)})", file=where,
                         fix="download it again; .zip, .gz and plain .csv are read") from None


def _refuse_if_beyond(where, unpacked: int, packed: int, max_bytes: int, what: str, partial: bool = False) -> None:
    more = "more than " if partial else ""
    if unpacked > max_bytes:
        raise InputError(f"the {what} would unpack to {more}{_size(unpacked)} (limit {_size(max_bytes)})", file=where,
                         fix="send large extracts as CSV or Parquet files in a folder" if max_bytes < MAX_UNPACKED_BYTES
                         else "split the extract, or send it unpacked as CSV or Parquet files in a folder")
    if unpacked > RATIO_FLOOR and unpacked > MAX_RATIO * max(packed, 1):
        raise InputError(f"the {what} unpacks {more}{unpacked / max(packed, 1):.0f} times larger than its size, "
                         "which only a deliberately crafted file does", file=where,
                         fix="re-export the extract from the source system")


def _size(n: int) -> str:
    return f"{n / 2**30:.1f} GiB" if n >= 1 << 30 else f"{n / 2**20:.0f} MiB"


def _reason(err: Exception) -> str:
    text = str(err).splitlines()[0][:80] if str(err) else type(err).__name__
    return "bad CRC: the archive is damaged" if "CRC" in text else text
