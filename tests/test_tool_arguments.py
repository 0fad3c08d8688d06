"""What a customer names, checked against the store's data: items, orders, options and copied details."""

from __future__ import annotations

import pytest

from tools.arguments import (
    alike_items_meant,
    items_listed_with,
    items_named,
    option_named,
    options_asked,
    options_fitting,
    order_by_price,
    orders_holding,
    orders_holding_most,
    payment_named,
    product_meant,
    said_in,
)

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
    assert option_named("can i exchnage my hoody for a blak one", VARIANTS, HOODIE)["item_id"] == "3"
    large = [{"item_id": "lb", "options": {"size": "L", "color": "black"}, "available": True},
             {"item_id": "lg", "options": {"size": "L", "color": "grey"}, "available": True}]
    assert option_named("i'll send it back, i need it in size L", large, HOODIE)["item_id"] == "lg"  # "back" no black
    both = [{**v, "available": True} for v in VARIANTS]
    assert option_named("size S while you're at it", both, {"size": "M", "color": "grey"}) is None  # not white


def test_an_option_turned_down_is_not_the_one_wanted() -> None:
    assert option_named("size M grey, not black", VARIANTS, HOODIE)["item_id"] == "2"
    assert option_named("black in XL instead of grey", VARIANTS, HOODIE)["item_id"] == "1"
    assert option_named("not M, black", VARIANTS, HOODIE)["item_id"] == "3"


def test_an_item_named_by_its_item_id() -> None:
    items = [{"name": "Mechanical Keyboard", "item_id": "1656367028"},
             {"name": "Running Shoes", "item_id": "4107812777"}]
    assert items_named("change item ID 1656367028 to item ID 1421289881", items) == items[:1]
    in_order = [{"name": "Mechanical Keyboard", "item_id": "1340995114", "product_id": "1656367028"},
                {"name": "Running Shoes", "item_id": "9791469541", "product_id": "6938111410"}]
    assert items_named("change item ID 1656367028 to item ID 1421289881", in_order) == in_order[:1]  # its product's


def test_an_option_named_by_its_item_id() -> None:
    ids = [{**v, "item_id": f"410781277{i}"} for i, v in enumerate(VARIANTS)]
    assert option_named("exchange my hoodie to item ID 4107812773", ids, HOODIE)["item_id"] == "4107812773"
    assert option_named("to item 4107812774 please", ids, HOODIE) is None  # not available
    assert option_named("to item 9999999999, the black XL", ids, HOODIE)["item_id"] == "4107812770"  # not one


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
    items = [{"name": "Wireless Earbuds"}, {"name": "T-Shirt"}, {"name": "Coffee Maker"}, {"name": "Hoodie"}]
    assert items_named("the ear buds dont work", items) == [items[0]]
    assert items_named("can i exchnage my hoody for a blak one", items) == [items[3]]
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
        "my visa", "the card ending in 9876", "use the gift card", "paypal pls", "my credit card", "another card",
        "pay the difference with my Giftcard")}
    assert named == {"my visa": "visa", "the card ending in 9876": "amex", "use the gift card": "gift",
                     "paypal pls": "paypal", "my credit card": None, "another card": None,
                     "pay the difference with my Giftcard": "gift"}
    preferred = "I would be angry but prefer gift card payment. If that is not possible, I would use the credit card"
    assert payment_named(preferred, methods)["payment_method_id"] == "gift"
    assert payment_named("to paypal, not the gift card", methods)["payment_method_id"] == "paypal"
    assert payment_named("paypal or the gift card, either is fine", methods) is None


def test_common_words_are_not_taken_for_misspelt_names() -> None:
    orders = [{"order_id": "#W1", "items": [{"name": "Coffee Maker"}]},
              {"order_id": "#W2", "items": [{"name": "Keeper"}]}]
    assert orders_holding("actually make it the black ones", orders) == []
    assert orders_holding("i'd like to keep the white one", orders) == []
    assert orders_holding("that makes sense, return them", orders) == []
    assert orders_holding("the coffe makr", orders) == orders[:1]


BOTTLE = {"capacity": "500ml", "material": "glass", "color": "black"}
BOTTLES = [
    {"item_id": "b1", "options": {"capacity": "750ml", "material": "glass", "color": "black"}, "available": True,
     "price": 30.0},
    {"item_id": "b2", "options": {"capacity": "1000ml", "material": "steel", "color": "red"}, "available": True,
     "price": 45.0},
    {"item_id": "b3", "options": {"capacity": "250ml", "material": "glass", "color": "black"}, "available": True,
     "price": 15.0},
    {"item_id": "b4", "options": {"capacity": "500ml", "material": "steel", "color": "black"}, "available": True,
     "price": 35.0},
]


def test_an_option_asked_for_relative_to_the_one_the_customer_has() -> None:
    assert option_named("can I get a bigger one", BOTTLES, BOTTLE)["item_id"] == "b1"  # fewest other changes
    assert option_named("a smaller bottle please", BOTTLES, BOTTLE)["item_id"] == "b3"
    assert option_named("the most expensive one", BOTTLES, BOTTLE)["item_id"] == "b2"
    assert option_named("the cheapest, same capacity", BOTTLES, BOTTLE)["item_id"] == "b4"  # only one keeps it
    assert option_named("bigger, and the priciest", BOTTLES, BOTTLE)["item_id"] == "b2"
    assert option_named("a shorter one", BOTTLES, BOTTLE) is None  # no option of a bottle has a length
    assert option_named("a bigger glass one, the most expensive", BOTTLES, BOTTLE)["item_id"] == "b1"  # stays glass


def test_an_option_asked_for_at_its_end_of_the_range() -> None:
    camera = {"resolution": "24MP", "zoom": "3x", "storage": "SD card"}
    cameras = [{"item_id": f"c{i}", "options": dict(zip(camera, values, strict=True)), "available": available}
               for i, (values, available) in enumerate([(("30MP", "5x", "SD card"), True),
                                                        (("30MP", "10x", "SD card"), True),
                                                        (("24MP", "10x", "SD card"), False),
                                                        (("20MP", "3x", "SD card"), True)])]
    assert option_named("one with the maximum zoom capacity", cameras, camera)["item_id"] == "c1"  # c2 sold out
    assert option_named("the lowest resolution please", cameras, camera)["item_id"] == "c3"
    assert option_named("the largest one", BOTTLES, BOTTLE)["item_id"] == "b2"
    assert option_named("the smallest glass one", BOTTLES, BOTTLE)["item_id"] == "b3"
    assert option_named("the most colorful one", BOTTLES, BOTTLE) is None  # no option is about colour order


def test_an_option_whose_new_value_asked_for_is_sold_out_is_not_swapped_for_another() -> None:
    shelf = {"material": "glass", "color": "white", "height": "5 ft"}
    shelves = [{"item_id": item_id, "options": dict(zip(shelf, values, strict=True)), "available": available}
               for item_id, values, available in [("g4", ("glass", "white", "4 ft"), False),
                                                  ("g6", ("glass", "white", "6 ft"), True),
                                                  ("w4", ("wood", "white", "4 ft"), True)]]
    assert option_named("4 foot but with the same material and color", shelves, shelf) is None  # not 6 ft
    assert option_named("4 foot, same color, in wood", shelves, shelf)["item_id"] == "w4"
    assert option_named("a taller one, same material and color", shelves, shelf)["item_id"] == "g6"
    assert option_named("keep the material and color but make it taller", shelves, shelf)["item_id"] == "g6"
    assert option_named("keeping its color, a 4 foot one", shelves, shelf)["item_id"] == "w4"


def test_a_value_told_apart_by_a_letter_is_named_by_all_its_words() -> None:
    kit = {"skin tone": "light", "brand": "Brand B"}
    kits = [{"item_id": item_id, "options": dict(zip(kit, values, strict=True)), "available": True}
            for item_id, values in [("a", ("dark", "Brand A")), ("c", ("dark", "Brand C")), ("b", ("dark", "Brand B"))]]
    assert option_named("from {'skin tone': 'light', 'brand': 'Brand B'} to {'skin tone': 'dark', 'brand': 'Brand A'}",
                        kits, kit)["item_id"] == "a"
    assert option_named("a dark one from brand c", kits, kit)["item_id"] == "c"
    assert option_named("a dark one", kits, kit)["item_id"] == "b"  # no brand asked: the fewest changes
    helmet = {"size": "S", "color": "red"}
    helmets = [{"item_id": size, "options": {"size": size, "color": "red"}, "available": True} for size in "SML"]
    assert option_named("a medium sized red one", helmets, helmet)["item_id"] == "M"  # a letter alone: as before


def test_a_value_with_a_number_is_named_by_its_number_not_by_its_unit() -> None:
    laptop = {"screen size": "15-inch", "processor": "i5", "ram": "32GB", "storage": "256GB SSD"}
    laptops = [{"item_id": item_id, "options": dict(zip(laptop, values, strict=True)), "available": True}
               for item_id, values in [("17", ("17-inch", "i7", "32GB", "1TB SSD")),
                                       ("8gb", ("15-inch", "i7", "8GB", "1TB SSD")),
                                       ("32gb", ("15-inch", "i7", "32GB", "1TB SSD"))]]
    said = "exchange it to i7 processor, 8GB, 1TB SSD. If you ask which laptop, it is 15-inch, 32GB"
    assert option_named(said, laptops, laptop)["item_id"] == "8gb"  # "inch" and "GB" name no size or memory
    assert option_named("an i7 with 1TB SSD, not the 17-inch", laptops, laptop)["item_id"] == "32gb"


def test_an_option_moved_by_an_amount_must_have_that_value() -> None:
    puzzle = {"pieces": "1500", "theme": "animals", "difficulty level": "intermediate"}
    puzzles = [{"item_id": f"p{i}", "options": dict(zip(puzzle, values, strict=True)), "available": True}
               for i, values in enumerate([("500", "art", "intermediate"), ("1000", "fantasy", "intermediate"),
                                           ("1000", "animals", "beginner")])]
    said = "a fancier theme, with 500 pieces less, but the same difficulty level"
    assert option_named(said, puzzles, puzzle)["item_id"] == "p1"  # 1000 pieces, not the 500 it says
    assert option_named("one with 200 pieces less", puzzles, puzzle) is None  # no 1300-piece puzzle
    assert option_named("250ml bigger please", BOTTLES, BOTTLE)["item_id"] == "b1"
    small = {"pieces": "500", "theme": "art", "difficulty level": "intermediate"}
    bigger = [{"item_id": f"q{i}", "options": dict(zip(small, values, strict=True)), "available": True}
              for i, values in enumerate([("1500", "art", "intermediate"), ("1500", "animals", "intermediate"),
                                          ("1500", "animals", "beginner"), ("2000", "animals", "intermediate")])]
    said = "I want the same difficulty, but 1000 more pieces, and I prefer animal than art theme if both are available"
    assert option_named(said, bigger, small)["item_id"] == "q1"  # 1500 pieces, intermediate, animals preferred


def test_several_fitting_options_are_all_offered_and_only_those() -> None:
    lamp = {"brightness": "high", "power source": "USB"}
    lamps = [{"item_id": f"l{i}", "options": {"brightness": b, "power source": p}, "available": True, "price": 10}
             for i, (b, p) in enumerate([("low", "battery"), ("medium", "AC adapter"), ("high", "battery")])]
    assert option_named("a less bright one", lamps, lamp) is None  # two are dimmer, neither named
    assert [v["item_id"] for v in options_fitting("a less bright one", lamps, lamp)] == ["l0", "l1"]
    assert option_named("a dimmer one that runs on battery", lamps, lamp)["item_id"] == "l0"
    assert len(options_fitting("something else", lamps, lamp)) == 3  # nothing asked: every other option


def test_a_word_given_as_a_size_names_the_size_only() -> None:
    helmet = {"size": "S", "color": "red", "ventilation": "low"}
    helmets = [{"item_id": f"h{i}", "options": {"size": s, "color": "red", "ventilation": v}, "available": True}
               for i, (s, v) in enumerate([("M", "high"), ("M", "medium"), ("S", "medium")])]
    assert option_named("a medium sized one with high ventilation", helmets, helmet)["item_id"] == "h0"
    assert option_named("size M, medium ventilation", helmets, helmet)["item_id"] == "h1"


def test_higher_resolution_orders_4k_above_1080p() -> None:
    camera = {"resolution": "1080p"}
    cameras = [{"item_id": "c4", "options": {"resolution": "4K"}, "available": True},
               {"item_id": "c7", "options": {"resolution": "720p"}, "available": True}]
    assert option_named("one with a higher resolution", cameras, camera)["item_id"] == "c4"


def test_an_item_named_as_what_another_came_with_is_not_meant() -> None:
    items = [{"name": "Backpack"}, {"name": "Vacuum Cleaner"}]
    assert items_named("return the backpack I received with the vacuum cleaner", items) == items[:1]
    assert items_named("return the vacuum cleaner that came with the backpack", items) == items[1:]
    assert items_named("return the backpack and the vacuum cleaner", items) == items


def test_items_listed_together_are_one_request() -> None:
    items = [{"name": "Vacuum Cleaner"}, {"name": "Headphones"}, {"name": "Smart Watch"}, {"name": "Desk Lamp"},
             {"name": "Smart Thermostat"}]  # "smart" names two items: part of the listed name all the same
    said = "Also, I want to return the cleaner, headphone, and smart watch. The lamp is fine."
    assert items_listed_with(said, items, items[:1]) == items[:3]
    assert items_listed_with("return the cleaner and exchange the lamp", items, items[:1]) == items[:1]
    assert items_listed_with("return the lamp", items, []) == []


LAMP = {"color": "white", "brightness": "medium", "power source": "USB"}
LAMPS = [{"item_id": str(n), "options": dict(zip(LAMP, values, strict=True)), "available": True} for n, values in
         enumerate([("white", "high", "USB"), ("black", "high", "AC adapter"), ("silver", "low", "AC adapter"),
                    ("silver", "low", "battery"), ("black", "low", "USB"), ("white", "medium", "USB")])]


def test_choices_ranked_by_the_customer_decide_between_fitting_options() -> None:
    def chosen(text: str) -> dict[str, str]:
        return option_named(text, LAMPS, LAMP)["options"]

    assert chosen("a less bright one (prefer battery > USB > AC)")["power source"] == "battery"
    assert chosen("a less bright one, prefer AC > battery > USB")["power source"] == "AC adapter"
    assert chosen("a dimmer lamp, I'd prefer AC over battery")["power source"] == "AC adapter"
    # ranked words are not choices named outright: "AC" ranked last does not beat USB ranked first
    assert chosen("a brighter one (prefer battery > USB > AC)") == {"color": "white", "brightness": "high",
                                                                  "power source": "USB"}
    assert options_fitting("a brighter one (prefer battery > USB > AC)", LAMPS, LAMP) == [LAMPS[0]]


def test_an_item_named_only_by_words_of_a_fuller_match_is_not_meant() -> None:
    items = [{"name": "Smart Thermostat"}, {"name": "Smart Watch"}, {"name": "Mechanical Keyboard"}]

    def names(text: str) -> list[str]:
        return [i["name"] for i in items_named(text, items)]

    assert names("exchange the keyboard and the smart thermostat") == ["Smart Thermostat", "Mechanical Keyboard"]
    assert names("my smart watch stopped") == ["Smart Watch"]
    assert names("the smart watch and the smart thermostat") == ["Smart Thermostat", "Smart Watch"]
    assert names("the smart one") == ["Smart Thermostat", "Smart Watch"]  # equally named: both, code asks


def test_all_orders_is_not_all_items() -> None:
    items = [{"name": "Hiking Boots"}, {"name": "Smart Watch"}, {"name": "T-Shirt"}]

    def names(text: str) -> list[str]:
        return [i["name"] for i in items_named(text, items)]

    assert names("cancel all pending orders and return the watch I have received") == ["Smart Watch"]
    assert names("cancel both orders and return the boots") == ["Hiking Boots"]
    assert names("return everything in my order") == names("return all of it") == names("both") == [
        "Hiking Boots", "Smart Watch", "T-Shirt"]
    assert names("return all items") == names("I want to return all things ordered.") == names("return them all") == [
        "Hiking Boots", "Smart Watch", "T-Shirt"]
    assert names("return all t-shirts and watches I received in different orders") == ["Smart Watch", "T-Shirt"]
    assert names("that's all i needed, thanks") == []


def test_items_left_out_of_all_are_not_meant() -> None:
    items = [{"name": "Coffee Maker"}, {"name": "Pet Bed"}, {"name": "Backpack"}]

    def names(text: str) -> list[str]:
        return [i["name"] for i in items_named(text, items)]

    assert names("I want to return everything I just bought except the coffee maker.") == ["Pet Bed", "Backpack"]
    assert names("return all of it apart from the backpack. Refund to paypal please") == ["Coffee Maker", "Pet Bed"]
    assert names("return everything but the pet bed and the backpack") == ["Coffee Maker"]
    assert names("return the backpack, except if it costs me a fee") == ["Backpack"]  # no "all": nothing left out


CATALOGUE = ["T-Shirt", "Desk Lamp", "Smart Watch", "Smart Thermostat", "Hoodie"]


def test_the_product_a_question_is_about_is_the_one_it_names() -> None:
    assert product_meant("how many tshirt options are available", "T-Shirt", CATALOGUE) == "T-Shirt"
    assert product_meant("do you have the desk lamp in brass?", "lamp", CATALOGUE) == "Desk Lamp"
    assert product_meant("is the smart watch available in gold", "watch", CATALOGUE) == "Smart Watch"
    assert product_meant("is the smart thing available", "Smart Watch", CATALOGUE) is None  # the hint is a guess
    assert product_meant("what colors do you have", "Hoodie", CATALOGUE) is None  # the customer named nothing
    assert product_meant("any jackets?", "Rain Jacket", CATALOGUE) is None  # not in this catalogue


def test_the_option_values_a_question_asks_about() -> None:
    assert options_asked("do you have a small black one?", VARIANTS) == {"size": ["S"], "color": ["black"]}
    assert options_asked("any hoodie in size S or XL", VARIANTS) == {"size": ["XL", "S"]}
    assert options_asked("extra large please", VARIANTS) == {"size": ["XL"]}
    assert options_asked("how many options are there, i'm curious", VARIANTS) == {}  # "m" in "i'm" is no size
    assert options_asked("in green?", VARIANTS) == {}
    shirts = [{"options": {"style": style, "size": "S"}} for style in ("crew neck", "v-neck")]
    assert options_asked("same v neck, s size", shirts) == {"style": ["v-neck"], "size": ["S"]}
    assert options_asked("a neck that fits", shirts) == {}  # "neck" names neither style in full


@pytest.mark.parametrize(("said", "value"), [
    ("change the shelf to 4 foot", "4 ft"), ("make it 5 feet tall", "5 ft"), ("a 12 inch one", "12 inches"),
    ("the 10 inch screen", "10-inch"), ("1.5 liters please", "1.5L"), ("the 1000 ml bottle", "1000ml"),
    ("in 4k", "4K"), ("the 8 cup one", "8 cups"),
])
def test_a_unit_is_named_however_the_customer_writes_it(said: str, value: str) -> None:
    assert options_asked(said, [{"options": {"size": value}}, {"options": {"size": "99 ft"}}]) == {"size": [value]}


def test_of_the_orders_holding_what_is_named_those_holding_most_of_it() -> None:
    orders = [{"order_id": "#W1000001", "items": [{"name": "Backpack"}, {"name": "Desk Lamp"}]},
              {"order_id": "#W1000002", "items": [{"name": "Backpack"}, {"name": "Perfume"}]}]
    said = "change the desk lamp to black, and the backpack to medium"
    assert [o["order_id"] for o in orders_holding_most(said, orders)] == ["#W1000001"]
    assert len(orders_holding_most("the backpack", orders)) == 2  # no more to tell them apart
    assert orders_holding_most("my coffee maker", orders) == []


def test_of_alike_items_the_one_meant_is_told_by_its_options_or_asked_about() -> None:
    robotic = {"item_id": "1", "name": "Vacuum Cleaner", "options": {"type": "robotic", "bag": "bagless"}}
    purifier = {"item_id": "2", "name": "Air Purifier", "options": {"room size": "large"}}
    canister = {"item_id": "3", "name": "Vacuum Cleaner", "options": {"type": "canister", "bag": "bagless"}}
    items = [robotic, purifier, canister]
    one_vacuum = "return an air purifier and a vacuum cleaner"
    assert alike_items_meant(one_vacuum, items) == ([purifier], [[robotic, canister]])
    assert alike_items_meant("return the robotic one", items) == ([robotic, purifier], [])
    assert alike_items_meant("return both vacuum cleaners", items) == (items, [])
    assert alike_items_meant("all of them", items) == (items, [])
    assert alike_items_meant("the bagless one", items) == ([purifier], [[robotic, canister]])  # both are bagless
    assert alike_items_meant("only the canister one, i'm keeping the robotic one", items) == ([purifier, canister], [])
    priced = [{**robotic, "price": 600.0}, purifier, {**canister, "price": 300.0}]
    assert alike_items_meant("return the vacuum that is more expensive", priced) == ([priced[0], purifier], [])
    assert alike_items_meant("the cheaper vacuum cleaner", priced) == ([purifier, priced[2]], [])
    elsewhere = "return the cheaper speaker. Also change the vacuum to a canister one"  # price is the speaker's
    assert alike_items_meant(elsewhere, priced) == ([purifier], [[priced[0], priced[2]]])
    small = {"item_id": "4", "name": "Laptop", "options": {"screen size": "13-inch", "color": "silver"}}
    large = {"item_id": "5", "name": "Laptop", "options": {"screen size": "17-inch", "color": "black"}}
    said = "I want to modify the 17-inch laptop to the 13-inch version. I also want all available 13-inch options"
    assert alike_items_meant(said, [small, large]) == ([large], [])  # as it is, not what it becomes


def test_of_two_orders_holding_the_item_the_more_or_less_expensive_ones_is_meant() -> None:
    orders = [{"order_id": "#W1", "items": [{"name": "Tablet", "price": 1018.68}, {"name": "Pet Bed", "price": 40}]},
              {"order_id": "#W2", "items": [{"name": "Tablet", "price": 903.95}]},
              {"order_id": "#W3", "items": [{"name": "Pet Bed", "price": 99}]}]
    holding = orders[:2]
    assert order_by_price("return the more expensive tablet", holding)["order_id"] == "#W1"
    assert order_by_price("I only need one tablet, return the cheaper one", holding)["order_id"] == "#W2"
    assert order_by_price("return my tablet", holding) is None  # asks for neither: code asks which
    same = [orders[0], {**orders[1], "items": [{"name": "Tablet", "price": 1018.68}]}]
    assert order_by_price("return the pricier tablet", same) is None
