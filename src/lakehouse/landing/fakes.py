"""Values that look like tpchgen-cli's (TPC-H spec 4.2.2), drawn from a seeded random.Random."""

from __future__ import annotations

import random
import string

SEGMENTS = ("AUTOMOBILE", "BUILDING", "FURNITURE", "HOUSEHOLD", "MACHINERY")
_ADDRESS_CHARS = string.ascii_letters + string.digits + ",. "
_WORDS = ["furiously", "regular", "deposits", "sleep", "slyly", "carefully", "final", "packages", "cajole", "ironic", "accounts", "haggle", "blithely", "pending", "requests", "boost", "quickly", "even", "theodolites", "nag", "bold", "instructions"]


def address(rng: random.Random) -> str:
    # Never starts or ends with a space, so no field trimming downstream can change it.
    middle = "".join(rng.choice(_ADDRESS_CHARS) for _ in range(rng.randint(8, 38)))
    return rng.choice(string.ascii_letters) + middle + rng.choice(string.digits)


def phone(rng: random.Random, nationkey: int) -> str:
    # TPC-H: the country code is the nation key + 10.
    return f"{nationkey + 10}-{rng.randint(100, 999)}-{rng.randint(100, 999)}-{rng.randint(1000, 9999)}"


def money(value: float) -> str:
    return f"{value:.2f}"


def comment(rng: random.Random) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(rng.randint(4, 12)))

