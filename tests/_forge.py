"""Forging model files as an attacker would, for the tests of crafted files.

An attacker who can edit a model file but holds no signing key can still recompute every
integrity field of the format: the manifest's per-member tables ``checksums`` and ``sizes``
and ``manifest.sha256``. :func:`forge` does exactly that, so a forged file reaches the
checks of the content itself and only those can refuse it.

Archives that are malformed on purpose (duplicate members, stale checksums, a member
appended to another archive) are written by hand in the tests that need them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import zipfile
from collections.abc import Callable, Iterable, Mapping

__all__ = ["forge"]

#: Members of a model file that are not listed in its manifest.
_HEADER = ("manifest.json", "manifest.sha256", "manifest.hmac")


def forge(
    src: str | os.PathLike,
    dst: str | os.PathLike,
    *,
    replace: Mapping[str, bytes | Callable[[bytes], bytes]] | None = None,
    drop: Iterable[str] = (),
    edit_manifest: Callable[[dict], None] | None = None,
    key: bytes | str | None = None,
) -> None:
    """Copy the model file ``src`` to ``dst`` with edits and its integrity fields recomputed.

    Steps, in this order:

    1. Read every member of ``src`` but the header (``manifest.*``), keeping their order.
    2. ``replace``: member name -> new bytes (replacing a member or, for a new name, adding
       it at the end), or a function ``edit(old_bytes) -> new_bytes`` of an existing
       member.
    3. ``drop``: names of members to leave out.
    4. Set the manifest's ``checksums`` (SHA-256) and ``sizes`` for exactly the members now
       present, as ``save_model`` writes them (format version 2).
    5. ``edit_manifest(manifest)``: change the parsed manifest in place. It runs after the
       recomputation, so it can also break the tables on purpose (e.g. drop ``sizes``).
    6. Write ``manifest.json`` (serialised as ``save_model`` does), ``manifest.sha256``
       and, only if ``key`` is given, ``manifest.hmac`` (HMAC-SHA256 of the manifest
       bytes under ``key``; a str is UTF-8), then the members, deflated. Without ``key``
       the source's ``manifest.hmac`` is dropped, never copied stale.

    With no arguments the copy loads exactly like ``src``.
    """
    with zipfile.ZipFile(src) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        members = {n: archive.read(n) for n in archive.namelist() if n not in _HEADER}
    for name, new in (replace or {}).items():
        members[name] = new(members[name]) if callable(new) else new
    for name in drop:
        del members[name]
    manifest["checksums"] = {n: hashlib.sha256(d).hexdigest() for n, d in members.items()}
    manifest["sizes"] = {n: len(d) for n, d in members.items()}
    if edit_manifest is not None:
        edit_manifest(manifest)
    manifest_bytes = json.dumps(manifest, indent=1, sort_keys=True).encode("utf-8")
    header = [
        ("manifest.json", manifest_bytes),
        ("manifest.sha256", hashlib.sha256(manifest_bytes).hexdigest().encode("ascii")),
    ]
    if key is not None:
        secret = key.encode("utf-8") if isinstance(key, str) else key
        tag = hmac.new(secret, manifest_bytes, hashlib.sha256).hexdigest()
        header.append(("manifest.hmac", tag.encode("ascii")))
    with zipfile.ZipFile(dst, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in [*header, *members.items()]:
            archive.writestr(name, data)
