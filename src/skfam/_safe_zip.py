"""Bounded reading of ZIP archives and ``.npy`` data from untrusted bytes.

Nothing here inflates more than a caller's stated limit: declared sizes are checked before a
member is opened, members are read in chunks and the read stops past the limit. Every
failure is a :class:`ZipContentError` that says what is wrong; callers add the file name.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from collections.abc import Iterator
from typing import BinaryIO

import numpy as np

__all__ = [
    "ZIP_ERRORS",
    "ZipContentError",
    "check_npy",
    "check_stored_zip",
    "open_archive",
    "read_member",
]

_CHUNK = 1 << 20
_ENCRYPTED = 0x1

#: What :mod:`zipfile` raises on damaged archives (a flipped byte in a header can give a
#: wrong compression method, version, encryption flag, offset or name encoding).
ZIP_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    NotImplementedError,
    RuntimeError,
    EOFError,
    OSError,
    ValueError,
    OverflowError,
    struct.error,
)


class ZipContentError(ValueError):
    """An archive or array is damaged, crafted or larger than allowed."""


def open_archive(source: BinaryIO) -> tuple[zipfile.ZipFile, dict[str, zipfile.ZipInfo]]:
    """Open a ZIP archive and return it with its members by name, refusing odd members.

    Refused: duplicate names (``ZipFile.read`` would see only the last one), encrypted
    members, compression other than stored or deflated, and folders.
    """
    archive = zipfile.ZipFile(source)
    try:
        return archive, _checked_members(archive)
    except BaseException:
        archive.close()
        raise


def _checked_members(archive: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
    infos: dict[str, zipfile.ZipInfo] = {}
    for info in archive.infolist():
        if info.filename in infos:
            raise ZipContentError(f"the archive holds member {info.filename!r} twice.")
        if info.flag_bits & _ENCRYPTED:
            raise ZipContentError(f"member {info.filename!r} is marked encrypted.")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise ZipContentError(
                f"member {info.filename!r} uses compression method {info.compress_type}; "
                "only stored and deflated members are read."
            )
        if info.is_dir():
            raise ZipContentError(f"unexpected folder {info.filename!r} in the archive.")
        infos[info.filename] = info
    return infos


def _chunks(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> Iterator[bytes]:
    if info.file_size > limit:
        raise ZipContentError(
            f"member {info.filename!r} declares {info.file_size} bytes, more than the "
            f"{limit} allowed."
        )
    total = 0
    with archive.open(info) as handle:
        while chunk := handle.read(min(_CHUNK, limit - total + 1)):
            total += len(chunk)
            if total > limit:
                raise ZipContentError(
                    f"member {info.filename!r} inflates past the {limit} bytes allowed."
                )
            yield chunk


def read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    """Return the content of one member, never inflating more than ``limit`` bytes."""
    buffer = bytearray()
    for chunk in _chunks(archive, info, limit):
        buffer += chunk
    if len(buffer) != info.file_size:
        raise ZipContentError(
            f"member {info.filename!r} holds {len(buffer)} bytes, not the {info.file_size} "
            "its header declares."
        )
    return bytes(buffer)


def check_npy(data: bytes, what: str) -> None:
    """Check that ``data`` is one ``.npy`` array whose header matches its length.

    ``numpy.load`` allocates the array its header describes before reading the data, so a
    short file declaring a huge shape would allocate that much; this refuses it first, as
    well as object arrays (which would need pickle).
    """
    stream = io.BytesIO(data)
    try:
        major, _ = np.lib.format.read_magic(stream)
        if major == 1:
            shape, _, dtype = np.lib.format.read_array_header_1_0(stream)
        elif major in (2, 3):
            shape, _, dtype = np.lib.format.read_array_header_2_0(stream)
        else:
            raise ValueError(f"unknown .npy version {major}")
    except (ValueError, SyntaxError, TypeError, OverflowError, struct.error) as exc:
        raise ZipContentError(f"{what} is not a valid .npy array: {exc}") from exc
    if dtype.hasobject:
        raise ZipContentError(f"{what} holds Python objects, which are never unpickled.")
    expected = int(np.prod(shape, dtype=object)) * dtype.itemsize
    if expected != len(data) - stream.tell():
        raise ZipContentError(
            f"{what} declares shape {shape} of {dtype} ({expected} bytes) but holds "
            f"{len(data) - stream.tell()} bytes of data."
        )


def check_stored_zip(data: bytes, what: str) -> None:
    """Check an embedded archive written uncompressed (skops blobs, ``.npz``).

    Each member must be stored (so nothing inflates beyond the blob's own size) and each
    ``.npy`` member must match its header.
    """
    try:
        archive, infos = open_archive(io.BytesIO(data))
        with archive:
            for name, info in infos.items():
                if info.compress_type != zipfile.ZIP_STORED or info.file_size > len(data):
                    raise ZipContentError(
                        f"member {name!r} of {what} is compressed or larger than the blob."
                    )
                if name.endswith(".npy"):
                    check_npy(read_member(archive, info, len(data)), f"{name!r} of {what}")
    except ZipContentError:
        raise
    except ZIP_ERRORS as exc:
        raise ZipContentError(f"{what} is not a valid archive: {exc!r}") from exc
