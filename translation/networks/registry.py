"""Generators and discriminators by name, as timm's ``register_model`` / ``create_model``.

Adding a generator is one registered function that builds it from a ``GeneratorConfig``::

    @register_generator("unet_256", size_multiple=256, norm="batch", dropout=True)
    def unet_256(config: GeneratorConfig) -> nn.Module:
        return UnetGenerator(config.in_channels, config.out_channels, 8, config.ngf, ...)

The registry then knows everything else: the name (what ``--netG`` accepts, what a checkpoint and the
ONNX metadata ``network`` record), the size multiple (height and width must be divisible by it for the
output to match the input) and the defaults of the function's options. A name holding ``{n}`` stands
for a family of names (``unet_{n}``: unet_32, unet_64, ...): the function then takes ``n`` first, and
``size_multiple`` is a function of ``n`` that raises ``TranslationError`` for an ``n`` that cannot work.
``initialise=False`` marks a network that initialises itself (``init_weights`` is not run over it).
Exact names are looked up before patterns. Discriminators: ``@register_discriminator("basic")`` on a
function of a ``DiscriminatorConfig``.
"""
from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from torch import nn

from ..errors import TranslationError

# (config) -> network; for a pattern (n, config) -> network. The config is a GeneratorConfig or a
# DiscriminatorConfig (config.py, which imports this module).
Builder = Callable[..., nn.Module]


@dataclass(frozen=True)
class GeneratorEntry:
    name: str                     # as --netG, checkpoints and the ONNX metadata write it, e.g. "unet_64"
    build: Callable[[Any], nn.Module]
    size_multiple: int
    defaults: dict[str, Any]      # the GeneratorConfig options this generator starts from (norm, dropout)
    initialise: bool = True       # False: the network initialises itself (init_weights would undo it)


@dataclass(frozen=True)
class _Pattern:
    """A family of names such as unet_{n}, resolved to an entry per name."""

    regex: re.Pattern[str]
    build: Builder
    size_multiple: int | Callable[[int], int]
    defaults: dict[str, Any]
    initialise: bool

    def entry(self, name: str) -> GeneratorEntry | None:
        if not (match := self.regex.fullmatch(name)):
            return None
        n = int(match.group(1))
        multiple = self.size_multiple(n) if callable(self.size_multiple) else self.size_multiple
        return GeneratorEntry(name, functools.partial(self.build, n), multiple, self.defaults, self.initialise)


_GENERATORS: dict[str, GeneratorEntry | _Pattern] = {}   # in registration order
_DISCRIMINATORS: dict[str, Builder] = {}


def register_generator(name: str, *, size_multiple: int | Callable[[int], int], initialise: bool = True,
                       **defaults: Any) -> Callable[[Builder], Builder]:
    def register(build: Builder) -> Builder:
        if name in _GENERATORS:
            raise ValueError(f"generator {name!r} is registered twice")
        if "{n}" in name:
            regex = re.compile(re.escape(name).replace(re.escape("{n}"), "([1-9][0-9]*)"))
            _GENERATORS[name] = _Pattern(regex, build, size_multiple, defaults, initialise)
        elif callable(size_multiple):
            raise ValueError(f"generator {name!r}: a size_multiple function needs a name with {{n}}")
        else:
            _GENERATORS[name] = GeneratorEntry(name, build, size_multiple, defaults, initialise)
        return build
    return register


def unregister_generator(name: str) -> None:
    del _GENERATORS[name]


def generator_entry(name: str) -> GeneratorEntry:
    """The generator registered as ``name``, or else under a pattern that matches it."""
    if isinstance(exact := _GENERATORS.get(name), GeneratorEntry):
        return exact
    for registered in _GENERATORS.values():
        if isinstance(registered, _Pattern) and (entry := registered.entry(name)) is not None:
            return entry
    raise TranslationError(f"unknown generator {name!r}; choose one of {', '.join(generator_names())}")


def generator_names() -> list[str]:
    """The registered names, patterns written with N (unet_N), in registration order."""
    return [template.replace("{n}", "N") for template in _GENERATORS]


def register_discriminator(name: str) -> Callable[[Builder], Builder]:
    def register(build: Builder) -> Builder:
        if name in _DISCRIMINATORS:
            raise ValueError(f"discriminator {name!r} is registered twice")
        _DISCRIMINATORS[name] = build
        return build
    return register


def discriminator_builder(name: str) -> Builder:
    if name not in _DISCRIMINATORS:
        raise TranslationError(f"unknown discriminator {name!r}; choose one of {', '.join(discriminator_names())}")
    return _DISCRIMINATORS[name]


def discriminator_names() -> list[str]:
    return list(_DISCRIMINATORS)
