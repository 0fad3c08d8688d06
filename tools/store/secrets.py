"""Secrets the service generates for itself, kept in the store so that every process on it shares them."""

from __future__ import annotations

import secrets

from sqlalchemy.exc import IntegrityError

from tools.store.db import Store
from tools.store.models import ServiceSecret


def service_secret(store: Store, name: str) -> str:
    """The secret called ``name``, generated (256 random bits) the first time any process asks for it."""
    with store.session() as session:
        row = session.get(ServiceSecret, name)
        if row is not None:
            return row.value
    try:
        with store.session(write=True) as session:
            session.add(ServiceSecret(name=name, value=secrets.token_urlsafe(32)))
    except IntegrityError:  # another process generated it first: use theirs
        pass
    with store.session() as session:
        row = session.get(ServiceSecret, name)
        assert row is not None
        return row.value
