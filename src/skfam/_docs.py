"""Shared numpydoc fragments, filled into class docstrings in one place."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def fill_doc(**fragments: str) -> Callable[[T], T]:
    """Replace ``%(name)s`` in the decorated object's docstring by ``fragments[name]``."""

    def decorate(obj: T) -> T:
        obj.__doc__ = (obj.__doc__ or "") % {
            name: text.strip() for name, text in fragments.items()
        }
        return obj

    return decorate
