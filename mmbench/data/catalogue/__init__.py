"""A catalogue of named benchmarks on the Hugging Face Hub (CelebA, FairFace, QM9, Hateful Memes, MELD).

Data, not code per dataset: :mod:`mmbench.data.catalogue.entries` holds one
:class:`~mmbench.data.catalogue.card.BenchmarkCard` per benchmark, and :func:`register_catalogue` registers
them all through the datasets hook, like any plugin's datasets. Import-light (no ``datasets``/``torch``).
"""

from __future__ import annotations

from typing import Any, Callable

from mmbench.data.catalogue import entries
from mmbench.data.catalogue.card import LIST_COLUMNS, BenchmarkCard

__all__ = ["LIST_COLUMNS", "BenchmarkCard", "cards", "register_catalogue"]


def cards() -> dict[str, tuple[str, BenchmarkCard]]:
    """``{registered name: (attribute in entries, card)}`` for every card in the catalogue."""
    return {card.name: (attr, card) for attr, card in vars(entries).items() if isinstance(card, BenchmarkCard)}


def register_catalogue(register: Callable[..., Any]) -> None:
    """Register every card as a dataset: its factory is a ``lazy()`` target naming the card in
    :mod:`~mmbench.data.catalogue.entries` (a cell's provenance names the data's fingerprint, so editing an
    entry's revision — other data — makes stored results stale)."""
    from mmbench.plugins.registry import lazy

    for name, (attr, card) in cards().items():
        register(name, lazy(f"{entries.__name__}:{attr}"), **card.listing())
