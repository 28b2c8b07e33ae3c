"""What a landing reader hands to bronze's ingest SQL, whatever the format and engine.

A reader turns one landed file into a raw relation: the file's columns as text, in header order,
plus the lineage columns (spec.model SOURCE_FILENAME, SOURCE_FILE_MODIFIED, SOURCE_ROW) and
MALFORMED_RECORD, the whole line when the row could not be split into the header's fields (NULL
otherwise). The ingest SQL then types it against the stored schema and rescues what does not parse,
so the rules of sources/schema.py and kinds/append_ingest hold for every format.
"""

from __future__ import annotations

MALFORMED_RECORD = "__malformed_record"
