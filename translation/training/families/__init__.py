"""Model families by name (in the manner of timm's ``register_model``).

Each module of this package defines one family, a ``Family`` subclass (training/family.py), and
registers it with ``@register_family("NAME")``: ``translation train NAME`` and the training loop then
find it, so adding a family is adding a module here. The modules are imported on the first look-up.
"""
from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from typing import TypeVar

from ...errors import TranslationError

FamilyClass = TypeVar("FamilyClass", bound=type)

_FAMILIES: dict[str, type] = {}
_discovered = False


def register_family(name: str) -> Callable[[FamilyClass], FamilyClass]:
    def register(family: FamilyClass) -> FamilyClass:
        if name in _FAMILIES:
            raise ValueError(f"model family {name!r} is registered twice")
        family.name = name  # type: ignore[attr-defined]
        _FAMILIES[name] = family
        return family
    return register


def unregister_family(name: str) -> None:
    del _FAMILIES[name]


def get_family(name: str) -> type:
    """The ``Family`` subclass registered as ``name``."""
    _discover()
    if name not in _FAMILIES:
        raise TranslationError(f"unknown model family {name!r}; choose one of {', '.join(family_names())}")
    return _FAMILIES[name]


def family_names() -> list[str]:
    _discover()
    return list(_FAMILIES)


def _discover() -> None:
    global _discovered
    if not _discovered:
        for module in pkgutil.iter_modules(__path__):
            importlib.import_module(f"{__name__}.{module.name}")
        _discovered = True
