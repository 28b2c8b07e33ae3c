"""Merge-on-read for the embedded engine: Delta deletion vectors written beside delta-rs.

delta-rs's MERGE is copy-on-write: a batch of keys spread over every file rewrites every file. With
deletion vectors (DVs) a touched file keeps its bytes, its replaced rows are marked in a DV, and only
the batch's new rows are written. delta-rs cannot write DVs (delta-rs issues #1094, #4079, #4512), so
this package does, following PROTOCOL.md of delta-io/delta section by section: format.py the bytes,
log.py the log, merge.py a MergePlan as a DV commit, reads.py DuckDB reads that skip deleted rows,
compaction.py the rewrite that purges DVs. Everything delta-rs can do (the protocol upgrade, loading
the table) stays with delta-rs.

Limits: local tables only (the commit's put-if-absent is a hard link), unpartitioned, single-part
checkpoints in the log replay. Needs pyroaring, a core dependency.
"""

from lakehouse.engines.embedded.deletion_vectors.compaction import CompactionResult, compact_deleted_files
from lakehouse.engines.embedded.deletion_vectors.format import (
    FILE_FORMAT_VERSION,
    PORTABLE_MAGIC,
    CommitConflictError,
    DeletionVectorError,
    deserialize_row_indexes,
    dv_file_path,
    read_deletion_vector,
    serialize_row_indexes,
    write_dv_file,
    z85_decode,
    z85_encode,
)
from lakehouse.engines.embedded.deletion_vectors.log import (
    DV_FEATURE,
    active_files,
    commit_actions,
    enable_deletion_vectors,
)
from lakehouse.engines.embedded.deletion_vectors.upsert import DvUpsertResult, upsert_with_deletion_vectors

__all__ = [
    "DV_FEATURE", "FILE_FORMAT_VERSION", "PORTABLE_MAGIC", "CommitConflictError", "CompactionResult",
    "DeletionVectorError", "DvUpsertResult", "active_files", "commit_actions", "compact_deleted_files",
    "deserialize_row_indexes", "dv_file_path", "enable_deletion_vectors", "read_deletion_vector",
    "serialize_row_indexes", "upsert_with_deletion_vectors", "write_dv_file", "z85_decode", "z85_encode",
]
