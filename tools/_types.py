"""Argument types shared by several tools (validated before any tool runs)."""

from typing import Annotated

from pydantic import Field, StringConstraints

OrderId = Annotated[str, Field(max_length=32, description="The order number, such as #W1234567.")]
ItemIds = Annotated[list[Annotated[str, StringConstraints(max_length=32)]], Field(min_length=1, max_length=20)]
PaymentMethodId = Annotated[str, Field(max_length=64, description="Payment method id, such as credit_card_123.")]
AddressLine = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
OptionalLine = Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)]
State = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=40)]
Country = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=56)]
Zip = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\d{5}(-\d{4})?$")]


def address(address1: str, address2: str, city: str, state: str, country: str, zip: str) -> dict[str, str]:
    """An address in the store's (tau2's) shape."""
    return {"address1": address1, "address2": address2, "city": city, "country": country, "state": state,
            "zip": zip}
