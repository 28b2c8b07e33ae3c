"""Values that look like tpchgen-cli's (TPC-H spec 4.2.2), drawn from a seeded random.Random."""

from __future__ import annotations

import random
import string

SEGMENTS = ("AUTOMOBILE", "BUILDING", "FURNITURE", "HOUSEHOLD", "MACHINERY")
ORDER_PRIORITIES = ("1-URGENT", "2-HIGH", "3-MEDIUM", "4-NOT SPECIFIED", "5-LOW")
_ADDRESS_CHARS = string.ascii_letters + string.digits + ",. "
_WORDS = (
    "furiously regular deposits sleep slyly carefully final packages cajole ironic accounts "
    "haggle blithely pending requests boost quickly even theodolites nag bold instructions"
).split()


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


def clerk(rng: random.Random, scale_clerks: int = 1000) -> str:
    return f"Clerk#{rng.randint(1, scale_clerks):09d}"
