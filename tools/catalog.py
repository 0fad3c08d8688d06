"""The product catalogue: products and their variant items (anyone may ask)."""

from __future__ import annotations

from pydantic import Field
from sqlalchemy import select

from core.errors import ToolFailed
from tools.context import ToolContext
from tools.registry import tool
from tools.store import Store
from tools.store.models import Product, Variant
from tools.views import ProductView, product_view


def products(store: Store) -> dict[str, str]:
    """Every product the store sells, name to product id (the catalogue is public)."""
    with store.session() as session:
        return {name: product_id for name, product_id in session.execute(select(Product.name, Product.id))}


def product_names(store: Store) -> list[str]:
    """The name of every product the store sells."""
    return list(products(store))


@tool(label="Looking up the product", needs_identity=False)
def get_product_details(ctx: ToolContext, product_id: str = Field(max_length=32)) -> ProductView:
    """Show a product and all its options (variant items) with price and availability.

    Args:
        product_id: The product id (not an item id).
    """
    product = ctx.session.get(Product, product_id.strip())
    if product is None:
        raise ToolFailed("I couldn't find that product.")
    return product_view(product)


@tool(label="Looking up the item", needs_identity=False)
def get_item_details(ctx: ToolContext, item_id: str = Field(max_length=32)) -> ProductView:
    """Show one variant item (its product, options, price and availability).

    Args:
        item_id: The item id (not a product id).
    """
    variant = ctx.session.get(Variant, item_id.strip())
    if variant is None:
        raise ToolFailed("I couldn't find that item.")
    view = product_view(variant.product)
    return view.model_copy(update={"variants": [v for v in view.variants if v["item_id"] == variant.item_id]})
