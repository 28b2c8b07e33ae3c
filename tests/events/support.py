"""A small customer landing and the event log's rows in a comparable form."""

from __future__ import annotations

import os
import time
from pathlib import Path

from lakehouse.core.config import Settings
from lakehouse.core.storage import Storage
from lakehouse.ops.events import read_events

HEADER = "c_custkey,c_name,c_address,c_nationkey,c_phone,c_acctbal,c_mktsegment,c_comment\n"
FILE_1 = HEADER + "1,A,addr1,1,111,1.00,BUILDING,x\n2,B,addr2,2,222,2.00,MACHINERY,y\n"
FILE_2 = HEADER + "1,A2,addr1,1,111,1.00,BUILDING,x\n3,C,addr3,3,333,3.00,HOUSEHOLD,z\n"
# Fields that depend on when or where a run happened, not on what it did.
TIMING_FIELDS = ("event_id", "run_id", "timestamp", "seconds", "engine", "details", "input")


def land(settings: Settings, name: str, text: str) -> None:
    """Land a file as if written a while ago (a run takes only files left alone for a moment), in
    name order."""
    path = Path(settings.landing) / "customer" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    stamp = time.time() - 3600 + len(list(path.parent.iterdir()))
    os.utime(path, (stamp, stamp))


def settings_in(tmp_path: Path, engine: str = "embedded", **env: str) -> Settings:
    return Settings.load(landing=str(tmp_path / "landing"), warehouse=str(tmp_path / "warehouse"), engine=engine,
                         env=env)


def events(settings: Settings, **filters: object) -> list[dict]:
    return read_events(settings, Storage(settings.s3), **filters).to_pylist()  # type: ignore[arg-type]


def comparable(rows: list[dict]) -> list[tuple]:
    """The rows without their timing fields, in an order that does not depend on timing."""
    kept = [tuple((k, v) for k, v in row.items() if k not in TIMING_FIELDS) for row in rows]
    return sorted(kept, key=repr)
