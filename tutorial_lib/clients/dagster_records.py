"""What `DagsterClient` returns: materialization and check records, and the asset-key and metadata helpers
that turn GraphQL answers into them."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

AssetKeyPath = tuple[str, ...]


def key_path(key: str | Sequence[str]) -> AssetKeyPath:
    """An asset key given as 'a/b' or ['a', 'b'] as a tuple of parts."""
    return tuple(key.split("/")) if isinstance(key, str) else tuple(key)


def key_string(key: str | Sequence[str]) -> str:
    """An asset key as the 'a/b' string Dagster's UI shows."""
    return "/".join(key_path(key))


def metadata_value(entry: dict[str, Any]) -> Any:
    """The plain value of a GraphQL metadata entry."""
    for field_name in ("text", "intValue", "floatValue", "boolValue", "timestamp", "path", "url", "mdStr"):
        if field_name in entry:
            return entry[field_name]
    if "jsonString" in entry:
        return json.loads(entry["jsonString"])
    return None


@dataclass
class Materialization:
    """One recorded materialization of an asset."""

    asset_key: AssetKeyPath
    run_id: str
    timestamp: float
    partition: str | None
    tags: dict[str, str]
    metadata: dict[str, Any]


@dataclass
class CheckResult:
    """The latest execution of an asset check."""

    asset_key: AssetKeyPath
    name: str
    status: str
    passed: bool | None
    severity: str | None
    metadata: dict[str, Any]
    run_id: str
    timestamp: float
    evaluated_at: float | None = None

    def started_since(self, moment: float) -> bool:
        """Whether the execution started at or after `moment`. Dagster stores its start in whole seconds, so a
        check the sensor launched in the same second as a DAG run ended still counts as after it."""
        return self.timestamp >= math.floor(moment)
