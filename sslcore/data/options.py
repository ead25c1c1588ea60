"""Forwarding user options (from the CLI or the dashboard) to a loader, with a clear error."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["call_with_options", "check_option_names"]

T = TypeVar("T")


def check_option_names(loader: Callable[..., Any], options: dict[str, Any], what: str) -> None:
    """Checks that every key of ``options`` is a keyword parameter of ``loader``.

    Args:
        loader: The function the options are meant for.
        options: Keyword arguments for it.
        what: What is being loaded, for the message (``"dataset 'wine'"``, a path, ...).

    Raises:
        TypeError: An option the loader does not accept, naming it and the accepted ones.
    """
    accepted = [
        name
        for name, p in inspect.signature(loader).parameters.items()
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    ]
    unknown = sorted(set(options) - set(accepted), key=repr)
    if unknown:
        listed = ", ".join(accepted) if accepted else "none"
        raise TypeError(
            f"{what}: unknown option(s) {', '.join(map(repr, unknown))}; accepted options: {listed}"
        )


def call_with_options(loader: Callable[..., T], options: dict[str, Any], what: str) -> T:
    """Calls ``loader(**options)`` after checking every option is one of its parameters.

    Args:
        loader: The function to call.
        options: Keyword arguments for it.
        what: What is being loaded, for the message (``"dataset 'wine'"``, a path, ...).

    Raises:
        TypeError: An option the loader does not accept, naming it and the accepted ones.
    """
    check_option_names(loader, options, what)
    return loader(**options)
