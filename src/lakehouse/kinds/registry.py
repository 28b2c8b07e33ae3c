"""The one strategy per kind. A new kind is a folder under kinds/ and one line here."""

from __future__ import annotations

from lakehouse.kinds.append_ingest.strategy import AppendIngest
from lakehouse.kinds.fact.strategy import FactBuild
from lakehouse.kinds.scd1.strategy import Scd1Upsert
from lakehouse.kinds.scd2.strategy import Scd2FromChanges
from lakehouse.spec.model import Kind

STRATEGIES = {
    Kind.APPEND_INGEST: AppendIngest(),
    Kind.SCD1_UPSERT: Scd1Upsert(),
    Kind.SCD2_FROM_CHANGES: Scd2FromChanges(),
    Kind.FACT: FactBuild(),
}
