"""What a customer names, checked against the store's data: items, orders, options and copied details."""

from __future__ import annotations

from tools.arguments import items_named, option_named, orders_holding, payment_named, said_in

HOODIE = {"size": "S", "color": "grey"}
VARIANTS = [
    {"item_id": "1", "options": {"size": "XL", "color": "black"}, "available": True},
    {"item_id": "2", "options": {"size": "M", "color": "grey"}, "available": True},
    {"item_id": "3", "options": {"size": "S", "color": "black"}, "available": True},
    {"item_id": "4", "options": {"size": "L", "color": "black"}, "available": True},
    {"item_id": "5", "options": {"size": "S", "color": "white"}, "available": False},
]


def test_an_option_named_keeps_what_was_not_named() -> None:
    assert option_named("can i swap my hoodie for a black one", VARIANTS, HOODIE)["item_id"] == "3"
    assert option_named("black in XL please", VARIANTS, HOODIE)["item_id"] == "1"


def test_an_option_turned_down_is_not_the_one_wanted() -> None:
    assert option_named("size M grey, not black", VARIANTS, HOODIE)["item_id"] == "2"
    assert option_named("black in XL instead of grey", VARIANTS, HOODIE)["item_id"] == "1"
    assert option_named("not M, black", VARIANTS, HOODIE)["item_id"] == "3"


def test_an_option_nobody_named_or_not_available_is_none() -> None:
    assert option_named("a different one", VARIANTS, HOODIE) is None
    assert option_named("white please", VARIANTS, HOODIE) is None


def test_an_option_turned_off_by_its_name() -> None:
    keyboard = {"switch type": "linear", "backlight": "RGB", "size": "full size"}
    variants = [{"item_id": item_id, "available": available,
                 "options": {"switch type": "clicky", "backlight": backlight, "size": size}}
                for item_id, available, backlight, size in [("a", True, "none", "full size"), ("b", True, "RGB", "80%"),
                                                            ("c", False, "RGB", "full size")]]
    wanted = "the same one but clicky. If there is no clicky, RGB, full size one, I'd go for no backlight"
    assert option_named(wanted, variants, keyboard)["item_id"] == "a"
    assert option_named("clicky please", variants, keyboard) is None  # two ways to be clicky: ask


def test_items_and_orders_named_with_typos_and_spaces() -> None:
    items = [{"name": "Wireless Earbuds"}, {"name": "T-Shirt"}, {"name": "Coffee Maker"}]
    assert items_named("the ear buds dont work", items) == [items[0]]
    assert items_named("my tshrt", items) == [items[1]]
    assert items_named("the cofee maker", items) == [items[2]]
    orders = [{"order_id": "#W1", "items": [items[0]]}, {"order_id": "#W2", "items": [items[2]]}]
    assert orders_holding("wheres my coffe maker", orders) == [orders[1]]


def test_a_detail_said_allows_misspelt_words_but_not_other_numbers() -> None:
    assert said_in("ordered by mistake", "i orderd it by mistke")
    assert not said_in("ordered by mistake", "i don't need it")
    assert said_in("12 Main St 97201", "12 main st, 97201")
    assert not said_in("12 Main St 97210", "12 main st, 97201")


def test_a_payment_method_is_named_by_kind_brand_or_last_four() -> None:
    methods = [{"payment_method_id": "visa", "source": "credit_card", "description": "Visa ending 1234"},
               {"payment_method_id": "amex", "source": "credit_card", "description": "Amex ending 9876"},
               {"payment_method_id": "gift", "source": "gift_card", "description": "gift card (balance $20.00)"},
               {"payment_method_id": "paypal", "source": "paypal", "description": "PayPal"}]
    named = {t: (payment_named(t, methods) or {}).get("payment_method_id") for t in (
        "my visa", "the card ending in 9876", "use the gift card", "paypal pls", "my credit card", "another card")}
    assert named == {"my visa": "visa", "the card ending in 9876": "amex", "use the gift card": "gift",
                     "paypal pls": "paypal", "my credit card": None, "another card": None}


def test_common_words_are_not_taken_for_misspelt_names() -> None:
    orders = [{"order_id": "#W1", "items": [{"name": "Coffee Maker"}]},
              {"order_id": "#W2", "items": [{"name": "Keeper"}]}]
    assert orders_holding("actually make it the black ones", orders) == []
    assert orders_holding("i'd like to keep the white one", orders) == []
    assert orders_holding("that makes sense, return them", orders) == []
    assert orders_holding("the coffe makr", orders) == orders[:1]
