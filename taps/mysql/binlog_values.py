"""Binlog values (as mysql-replication decodes them) to the values a snapshot would emit for
the same row: ENUM/SET text, BIT and TINYINT(1), exact DECIMAL, TIME text (with the library's
negative-fraction misreading undone), JSON, WKT."""

from __future__ import annotations

import base64
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import orjson
from tapwell.singer.schema import property_format, property_types

from .sync_common import SyncContext
from .types import Column, binlog_time, enum_values, float32_text, json_text, time_text


class ValueMapper:
    """Binlog values (as mysql-replication decodes them) to the values a snapshot would emit."""

    def __init__(self, ctx: SyncContext) -> None:
        self.ctx = ctx

    def value(self, col: Column, prop: dict[str, Any], v: Any) -> Any:
        if v is None:
            return None
        kind = col.kind
        if kind == "bool":
            flag = int(v, 2) if isinstance(v, str) else v
            return bool(flag) if "boolean" in property_types(prop) else int(flag)
        if kind == "bit":
            return (
                int(v, 2)
                if isinstance(v, str)
                else int.from_bytes(v, "big")
                if isinstance(v, bytes)
                else v
            )
        if kind == "float" and col.data_type == "float" and isinstance(v, float):
            return float32_text(v)
        if kind == "decimal" and isinstance(v, Decimal):
            return orjson.Fragment(format(v, "f"))
        if kind == "time":
            if isinstance(v, str):
                return v
            return time_text(binlog_time(v), col.datetime_precision or 0)
        if kind == "date" and isinstance(v, date) and property_format(prop) == "date-time":
            return datetime(v.year, v.month, v.day)
        if kind == "json":
            if isinstance(v, (str, bytes)):
                return json_text(v)
            return _plain_json(v)
        if kind == "year" and v == 1900 and col.column_type.lower() != "year(2)":
            return 0  # YEAR's zero (0000), which the binlog reader makes 1900 + 0
        if kind == "binary" and isinstance(v, (bytes, bytearray)):
            return base64.b64encode(bytes(v)).decode("ascii")
        if kind == "string":
            if isinstance(v, (set, frozenset)):
                order = enum_values(col.column_type)
                return ",".join(x for x in order if x in v)
            if isinstance(v, bytes):
                return v.decode("utf-8", errors="replace")
        if kind == "spatial" and isinstance(v, (bytes, bytearray)):
            cur = self.ctx.conn.cursor()
            cur.execute("SELECT ST_AsText(ST_GeomFromWKB(UNHEX(%s)))", (bytes(v[4:]).hex(),))
            text = cur.fetchone()[0]
            cur.close()
            return text
        return v


def _plain_json(v: Any) -> Any:
    if isinstance(v, dict):
        return {
            (k.decode() if isinstance(k, bytes) else str(k)): _plain_json(x) for k, x in v.items()
        }
    if isinstance(v, list):
        return [_plain_json(x) for x in v]
    if isinstance(v, bytes):
        return v.decode("utf-8", errors="replace")
    return v
