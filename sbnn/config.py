"""Typed stage configurations: pydantic models loadable from YAML, overridable from the CLI.

Each stage has one config class (``TrainConfig``, ``ExportConfig``, ...) deriving from
:class:`StageConfig`. A config is resolved from (lowest to highest priority) the class defaults, a
YAML file (``--config``) and ``--set key.sub=value`` overrides, validated, and saved as
``<run>/<stage>/config.yaml`` so that every run records exactly what produced it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from sbnn.errors import ConfigError
from sbnn.runs import write_yaml

T = TypeVar("T", bound="StageConfig")

_BASE60 = re.compile(r"^[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?$")


class YamlLoader(yaml.SafeLoader):
    """YAML 1.1 reads ``1:8`` as the base-60 number 68; in sbnn it is an N:M mask structure (a string)."""

    def resolve(self, kind, value, implicit):
        if kind is yaml.ScalarNode and implicit[0] and _BASE60.match(value):
            return "tag:yaml.org,2002:str"
        return super().resolve(kind, value, implicit)


def parse_yaml(text: str) -> Any:
    return yaml.load(text, Loader=YamlLoader)


class StageConfig(BaseModel):
    """Base class: unknown keys are errors, values are validated on assignment."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    @classmethod
    def resolve(cls: type[T], yaml_path: str | os.PathLike | None = None, overrides: list[str] | None = None,
                section: str | None = None, **values: Any) -> T:
        """Defaults <- YAML file (optionally one top-level ``section`` of it) <- ``--set`` <- keywords."""
        data: dict[str, Any] = {}
        if yaml_path is not None:
            data = load_yaml(yaml_path)
            if section is not None:
                data = data.get(section, {}) or {}
                if not isinstance(data, dict):
                    raise ConfigError(f"{yaml_path}: section '{section}' must be a mapping")
        for item in overrides or []:
            key, sep, raw = item.partition("=")
            if not sep or not key:
                raise ConfigError(f"--set expects key=value, got {item!r}")
            _assign(data, key.strip().split("."), parse_yaml(raw))
        for key, value in values.items():
            if value is not None:
                _assign(data, key.split("."), value)
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            e = exc.errors()[0]
            loc = ".".join(str(p) for p in e["loc"]) or cls.__name__
            raise ConfigError(f"invalid {cls.__name__} value for '{loc}': {e['msg']}") from None

    def save(self, path: str | os.PathLike) -> Path:
        return write_yaml(path, self.model_dump(mode="json"))

    @classmethod
    def load(cls: type[T], path: str | os.PathLike) -> T:
        return cls.resolve(path)


def load_yaml(path: str | os.PathLike) -> dict[str, Any]:
    path = Path(path)
    try:
        data = parse_yaml(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"config file {path} not found") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML ({str(exc).splitlines()[0]})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must contain a mapping of config keys")
    return data


def _assign(data: dict[str, Any], keys: list[str], value: Any) -> None:
    for key in keys[:-1]:
        node = data.setdefault(key, {})
        if not isinstance(node, dict):
            raise ConfigError(f"cannot set '{'.'.join(keys)}': '{key}' is not a section")
        data = node
    data[keys[-1]] = value
