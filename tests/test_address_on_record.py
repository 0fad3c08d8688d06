"""An address the customer refers to instead of writing it out is taken from their own records, and only when
the words point to exactly one of them other than the address being changed."""

from __future__ import annotations

import pytest

from agent.executor.address import address_on_record

HOME = {"address1": "1 Main St", "address2": "", "city": "Charlotte", "state": "NC", "country": "USA", "zip": "28243"}
SON = {"address1": "5 K St", "address2": "Apt 2", "city": "Washington", "state": "DC", "country": "USA",
       "zip": "20001"}
OFFICE = {"address1": "9 Broadway", "address2": "", "city": "New York", "state": "NY", "country": "USA",
          "zip": "10001"}
ORDERS = {"#W1000001": SON, "#W1000002": HOME, "#W1000003": OFFICE}


def meant(text: str, current: dict[str, str]) -> dict[str, str] | None:
    return address_on_record(text, account=HOME, orders=ORDERS, current=current)


@pytest.mark.parametrize(("text", "current", "expected"), [
    ("I want to change it to my default address in Charlotte instead", SON, HOME),
    ("it went to my son in Washington DC, change it to my default address in Charlotte", SON, HOME),
    ("please send it to the address on file", OFFICE, HOME),
    ("send my order to my NYC address, it's in my other order", SON, OFFICE),
    ("make the address the same as order #W1000003", SON, OFFICE),
    ("all my pending orders to the Washington DC address, along with my default address", HOME, SON),
])
def test_an_address_referred_to_is_the_one_record_it_names(text: str, current: dict[str, str],
                                                          expected: dict[str, str]) -> None:
    assert meant(text, current) == expected


@pytest.mark.parametrize(("text", "current"), [
    ("change the address of #W1000001 and #W1000003", SON),  # which orders to change, not where to
    ("use the address in my other order", HOME),  # two other orders, two addresses
    ("the one on file", HOME),  # the account's address is the one being changed
    ("send it to my sister's place", SON),  # no record named
    ("the order on my account should go somewhere else", SON),  # the account is named, not its address
    ("my default address in Charlotte", HOME),  # the only one named is the one being changed
    ("it went to my son in Washington, change it to my place in Charlotte", HOME),  # both places named
])
def test_no_record_or_several_is_no_address(text: str, current: dict[str, str]) -> None:
    assert meant(text, current) is None


def test_a_city_nickname_in_capitals_is_matched_only_in_capitals() -> None:
    los_angeles = {**OFFICE, "city": "Los Angeles", "state": "CA", "zip": "90001"}
    orders = {**ORDERS, "#W1000003": los_angeles}
    assert address_on_record("send it to my LA address", account=HOME, orders=orders, current=SON) == los_angeles
    assert address_on_record("cambiar la dirección", account=HOME, orders=orders, current=SON) is None
