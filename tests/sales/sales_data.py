"""Handmade TPC-H rows for the sales scenarios: two customers, four orders (one of them by a customer
who has not arrived yet), five lines, and the customer changes that follow."""

from __future__ import annotations

from lakehouse.spec.pipelines import CUSTOMER_COLUMNS

CUSTOMER_HEADER = ",".join(CUSTOMER_COLUMNS)
CUSTOMER_DATED_HEADER = CUSTOMER_HEADER + ",c_updated_at"
ORDERS_HEADER = ("o_orderkey,o_custkey,o_orderstatus,o_totalprice,o_orderdate,o_orderpriority,o_clerk,"
                 "o_shippriority,o_comment")
LINEITEM_HEADER = ("l_orderkey,l_partkey,l_suppkey,l_linenumber,l_quantity,l_extendedprice,l_discount,l_tax,"
                   "l_returnflag,l_linestatus,l_shipdate,l_commitdate,l_receiptdate,l_shipinstruct,l_shipmode,"
                   "l_comment")

# The initial load has no effective time: it took effect on 2024-01-01 (the landing contract, see
# spec/pipelines.py), and as the first versions they are valid from the low date. Orders are dated
# in 2024 so that customer changes can fall between them.
CUSTOMERS = [
    "1,Customer#1,Old Street 1,15,25-989-741-2988,711.56,BUILDING,first",
    "2,Customer#2,Lane 2,13,23-768-687-3665,121.65,AUTOMOBILE,second",
]

ORDERS = [
    "10,1,O,120.00,2024-03-01,1-URGENT,Clerk#1,0,before the move",
    "11,1,O,200.00,2024-09-01,2-HIGH,Clerk#2,0,after the move",
    "12,2,F,50.00,2024-02-01,3-MEDIUM,Clerk#3,0,other customer",
    "13,3,O,30.00,2024-05-05,5-LOW,Clerk#4,0,customer 3 arrives later",
]


def line(order: int, number: int, quantity: str, price: str, discount: str, tax: str, ship: str = "2024-10-01") -> str:
    return (f"{order},100{number},7,{number},{quantity},{price},{discount},{tax},N,O,{ship},{ship},{ship},"
            f"DELIVER IN PERSON,TRUCK,line {order}-{number}")


LINES = [
    line(10, 1, "2", "100.00", "0.10", "0.05"),
    line(10, 2, "1", "20.00", "0.00", "0.00"),
    line(11, 1, "5", "200.00", "0.05", "0.08"),
    line(12, 1, "3", "50.00", "0.20", "0.00"),
    line(13, 1, "1", "30.00", "0.00", "0.00"),
]


def customer(key: int, address: str, updated_at: str | None) -> str:
    names = {1: ("15", "25-989-741-2988", "711.56", "BUILDING", "first"),
             2: ("13", "23-768-687-3665", "121.65", "AUTOMOBILE", "second"),
             3: ("3", "13-750-942-6364", "794.47", "HOUSEHOLD", "late arrival")}
    nation, phone, balance, segment, comment = names[key]
    return f"{key},Customer#{key},{address},{nation},{phone},{balance},{segment},{comment},{updated_at or ''}"


def land_initial(lake) -> None:
    lake.land("customer", "customer_0001.csv", CUSTOMER_HEADER, CUSTOMERS)
    lake.land("orders", "orders_0001.csv", ORDERS_HEADER, ORDERS)
    lake.land("lineitem", "lineitem_0001.csv", LINEITEM_HEADER, LINES)


def land_customer_changes(lake, name: str, rows: list[str]) -> None:
    lake.land("customer", name, CUSTOMER_DATED_HEADER, rows)
