"""The declarative base of the store's tables: one metadata for every table module."""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    pass
