"""One registry through which every optimizer part is saved and rebuilt.

A part (a retriever, an update, a learning rate, a selection rule, the current
information) is a small object. Registering its class under a name lets any optimizer
built in Python be written to ``config.json`` and rebuilt exactly, a user's own part
classes included::

    @register_part("my_selection")
    @dataclass
    class MySelection(Selection):
        margin: float = 0.1

Dataclass parts need nothing more: their fields are their settings. Other classes
define ``to_dict()`` (their settings) and ``from_dict(data)``.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, TypeVar

from gpo.errors import ConfigError

__all__ = ["register_part", "part_to_dict", "part_from_dict", "registered_parts"]

T = TypeVar("T")

_REGISTRY: dict[str, type] = {}
_NAMES: dict[type, str] = {}


def register_part(name: str) -> Callable[[type[T]], type[T]]:
    """A class decorator that registers a part class under ``name``.

    Args:
        name: A name unique among the parts (``"relevance"``, ``"my_module.MyPart"``).

    Raises:
        ConfigError: Another class already holds the name.
    """

    def wrap(cls: type[T]) -> type[T]:
        held = _REGISTRY.get(name)
        if held is not None and held.__qualname__ != cls.__qualname__:
            raise ConfigError(f"the part name {name!r} is taken by {held.__module__}.{held.__qualname__}")
        _REGISTRY[name] = cls
        _NAMES[cls] = name
        return cls

    return wrap


def registered_parts() -> dict[str, type]:
    """Every registered part class by name."""
    return dict(_REGISTRY)


def _settings(part: Any) -> dict[str, Any]:
    if hasattr(part, "to_dict") and not dataclasses.is_dataclass(part):
        return dict(part.to_dict())
    if dataclasses.is_dataclass(part):
        out = {}
        for f in dataclasses.fields(part):
            if not f.init:
                continue
            value = getattr(part, f.name)
            out[f.name] = _value_to_data(value)
        return out
    raise ConfigError(f"{type(part).__name__} cannot be saved", hint="make it a dataclass or give it to_dict/from_dict")


def _value_to_data(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_value_to_data(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _value_to_data(v) for k, v in value.items()}
    if type(value) in _NAMES:
        return part_to_dict(value)
    raise ConfigError(
        f"cannot save a setting of type {type(value).__name__}",
        hint="settings of a part must be JSON values or registered parts",
    )


def part_to_dict(part: Any) -> dict[str, Any]:
    """A registered part as ``{"part": NAME, **settings}``.

    Raises:
        ConfigError: The part's class is not registered, or a setting is not JSON data.
    """
    name = _NAMES.get(type(part))
    if name is None:
        raise ConfigError(
            f"{type(part).__module__}.{type(part).__qualname__} is not a registered part",
            hint="decorate the class with @gpo.optim.parts.register_part('NAME') so runs can save and resume it",
        )
    return {"part": name, **_settings(part)}


def _data_to_value(value: Any) -> Any:
    if isinstance(value, dict) and "part" in value:
        return part_from_dict(value)
    if isinstance(value, list):
        return [_data_to_value(v) for v in value]
    return value


def part_from_dict(data: dict[str, Any]) -> Any:
    """Rebuilds a part from :func:`part_to_dict` output.

    Raises:
        ConfigError: The name is not registered (import the module that defines the part
            first) or the settings do not fit the class.
    """
    if not isinstance(data, dict) or "part" not in data:
        raise ConfigError(f"not a saved part: {data!r}")
    name = data["part"]
    cls = _REGISTRY.get(name)
    if cls is None:
        raise ConfigError(
            f"unknown part {name!r}",
            hint="import the module that registers it before loading the run",
        )
    settings = {k: v for k, v in data.items() if k != "part"}
    if hasattr(cls, "from_dict") and not dataclasses.is_dataclass(cls):
        return cls.from_dict(settings)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = set(settings) - set(fields)
    if unknown:
        raise ConfigError(f"part {name!r} has no setting {', '.join(sorted(unknown))}")
    values = {}
    for key, value in settings.items():
        value = _data_to_value(value)
        if isinstance(value, list) and "tuple" in str(fields[key].type):
            value = tuple(value)
        values[key] = value
    try:
        return cls(**values)
    except TypeError as exc:
        raise ConfigError(f"cannot rebuild part {name!r}: {exc}") from exc
