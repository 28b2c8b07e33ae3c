"""Where a bronze flow keeps its stored schema: every version, inferred once and then only evolved."""

from __future__ import annotations

from lakehouse.core.checkpoints import CheckpointLog
from lakehouse.sources.schema import StoredSchema


class SchemaStore:
    """Stored schema versions under `<checkpoint>/schemas/`: inferred once, then only evolved."""

    def __init__(self, checkpoints: CheckpointLog) -> None:
        self.log = checkpoints

    def latest(self) -> StoredSchema | None:
        versions = sorted(
            int(info.name.removesuffix(".json"))
            for info in self.log.storage.list_files(f"{self.log.root}/schemas", recursive=False)
            if info.name.removesuffix(".json").isdigit()
        )
        if not versions:
            return None
        return StoredSchema.from_json(self.log.storage.read_text(f"{self.log.root}/schemas/{versions[-1]}.json"))

    def history(self) -> list[StoredSchema]:
        infos = self.log.storage.list_files(f"{self.log.root}/schemas", recursive=False)
        return sorted(
            (StoredSchema.from_json(self.log.storage.read_text(i.uri)) for i in infos if i.name.endswith(".json")),
            key=lambda s: s.version,
        )

    def save(self, schema: StoredSchema) -> None:
        self.log.storage.write_text(f"{self.log.root}/schemas/{schema.version}.json", schema.to_json())
