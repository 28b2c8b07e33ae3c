"""The customer scenario: landing batches and the exact silver rows and gold histories they must give.

Shared by every engine and storage variant (tests/scenarios/test_customer_scenarios.py).
"""

from __future__ import annotations

from decimal import Decimal

HEADER = "c_custkey,c_name,c_address,c_nationkey,c_phone,c_acctbal,c_mktsegment,c_comment"

# Each batch is a list of (file name, CSV body lines). Files of a batch land in this order.
BATCHES: list[list[tuple[str, list[str]]]] = [
    [
        ("customer_0001.csv", [
            '1,Customer#1,Old Street 1,15,25-989-741-2988,711.56,BUILDING,first',
            '2,Customer#2,Lane 2,13,23-768-687-3665,121.65,AUTOMOBILE,dup-first',
            '3,Customer#3,"",1,11-719-748-3364,7498.12,AUTOMOBILE,empty address',
            '2,Customer#2,Lane 2b,13,23-768-687-3665,121.65,AUTOMOBILE,dup-last',  # last occurrence wins
        ]),
        ("customer_0002.csv", [
            '4,Customer#4,Road 4,4,14-128-190-5944,2866.83,MACHINERY,',  # NULL comment
            '3,Customer#3,"",1,11-719-748-3364,7498.12,AUTOMOBILE,empty address',  # same row again
        ]),
    ],
    [
        ("customer_changes_0001.csv", [
            '1,Customer#1,New Avenue 9,15,25-989-741-2988,711.56,BUILDING,first',  # A -> B
            '2,Customer#2,Lane 2b,13,23-768-687-3665,121.65,AUTOMOBILE,dup-last',  # unchanged re-send
            '3,Customer#3,,1,11-719-748-3364,7498.12,AUTOMOBILE,empty address',  # '' -> NULL is a change
            '5,Customer#5,Plaza 5,3,13-750-942-6364,794.47,HOUSEHOLD,new key',
        ]),
    ],
    [
        ("customer_changes_0002.csv", [
            '1,Customer#1,Old Street 1,15,25-989-741-2988,711.56,BUILDING,first',  # B -> A
            '4,Customer#4,Road 4,4,14-128-190-5944,2866.83,MACHINERY,',  # unchanged re-send
            '5,Customer#5,Plaza 5,3,13-750-942-6364,-1.50,HOUSEHOLD,new key',  # balance change
            '5,Customer#5,Plaza 5,3,13-750-942-6364,-1.50,HOUSEHOLD,new key',  # exact duplicate
        ]),
    ],
]

COLUMNS = HEADER.split(",")


def row(key, name, address, nation, phone, balance, segment, comment):
    return dict(zip(COLUMNS, (key, name, address, nation, phone, Decimal(balance), segment, comment)))


C1_OLD = row(1, "Customer#1", "Old Street 1", 15, "25-989-741-2988", "711.56", "BUILDING", "first")
C1_NEW = row(1, "Customer#1", "New Avenue 9", 15, "25-989-741-2988", "711.56", "BUILDING", "first")
C2 = row(2, "Customer#2", "Lane 2b", 13, "23-768-687-3665", "121.65", "AUTOMOBILE", "dup-last")
C3_EMPTY = row(3, "Customer#3", "", 1, "11-719-748-3364", "7498.12", "AUTOMOBILE", "empty address")
C3_NULL = row(3, "Customer#3", None, 1, "11-719-748-3364", "7498.12", "AUTOMOBILE", "empty address")
C4 = row(4, "Customer#4", "Road 4", 4, "14-128-190-5944", "2866.83", "MACHINERY", None)
C5_FIRST = row(5, "Customer#5", "Plaza 5", 3, "13-750-942-6364", "794.47", "HOUSEHOLD", "new key")
C5_LAST = row(5, "Customer#5", "Plaza 5", 3, "13-750-942-6364", "-1.50", "HOUSEHOLD", "new key")

# Silver after each batch: one row per key, the latest state.
SILVER_AFTER = [
    [C1_OLD, C2, C3_EMPTY, C4],
    [C1_NEW, C2, C3_NULL, C4, C5_FIRST],
    [C1_OLD, C2, C3_NULL, C4, C5_LAST],
]

# Rows silver writes per batch (new or changed keys only).
SILVER_WRITES = [4, 3, 2]

# Gold history per key after all batches, oldest version first.
GOLD_HISTORY = {
    1: [C1_OLD, C1_NEW, C1_OLD],
    2: [C2],
    3: [C3_EMPTY, C3_NULL],
    4: [C4],
    5: [C5_FIRST, C5_LAST],
}

# Bronze holds every landed record.
BRONZE_ROWS_AFTER = [6, 10, 14]


def csv_bytes(lines: list[str]) -> bytes:
    return ("\n".join([HEADER, *lines]) + "\n").encode("utf-8")
