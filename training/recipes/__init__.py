"""Recipes: one TOML file per shipped model, holding every setting that produced it.

A recipe's keys are the `sentiment train` flags in snake_case, grouped into tables only for
reading; a flag given on the command line overrides its key.
"""

from __future__ import annotations

import argparse
import tomllib
from pathlib import Path
from typing import Any

RECIPES_DIR = Path(__file__).resolve().parent
# what a run is asked to do, not how a model is made (and `models`: a recipe makes one model)
NOT_IN_RECIPES = {"help", "recipe", "dry_run", "models", "resume"}


class RecipeError(ValueError):
    """A recipe that cannot be found, read or applied; the message names the file."""


def available_recipes() -> list[str]:
    return sorted(path.stem for path in RECIPES_DIR.glob("*.toml"))


def recipe_path(name_or_path: str) -> Path:
    """A shipped recipe's name ("bilstm"), or the path of a .toml file."""
    path = Path(name_or_path)
    if path.suffix == ".toml":
        if not path.is_file():
            raise RecipeError(f"{path}: no such recipe file")
        return path
    shipped = RECIPES_DIR / f"{name_or_path}.toml"
    if not shipped.is_file():
        raise RecipeError(
            f"no recipe named {name_or_path!r}; shipped recipes: "
            f"{', '.join(available_recipes())} (or give a path to a .toml file)"
        )
    return shipped


def read_recipe(path: Path) -> dict[str, Any]:
    """The recipe's settings as one flat table (its tables merged; a key may appear once)."""
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise RecipeError(f"{path}: unreadable recipe: {error}") from error
    settings: dict[str, Any] = {}
    for key, value in document.items():
        for inner_key, inner_value in value.items() if isinstance(value, dict) else [(key, value)]:
            if inner_key in settings:
                raise RecipeError(f"{path}: {inner_key!r} is set twice")
            settings[inner_key] = inner_value
    return settings


def apply_recipe(parser: argparse.ArgumentParser, settings: dict[str, Any], path: Path) -> argparse.Namespace:
    """A namespace holding the recipe's values, converted and checked as the flags would be;
    parse_args(argv, namespace=...) then lets any flag given override them."""
    actions: dict[str, argparse.Action] = {}
    for action in parser._actions:  # argparse keeps no public index; the first flag of a dest wins
        actions.setdefault(action.dest, action)
    namespace = argparse.Namespace()
    for key, value in settings.items():
        action = actions.get(key)
        if action is None or key in NOT_IN_RECIPES:
            known = sorted(dest for dest in actions if dest not in NOT_IN_RECIPES)
            raise RecipeError(
                f"{path}: unknown setting {key!r}; a recipe sets flags of {parser.prog}: {', '.join(known)}"
            )
        setattr(namespace, key, convert(action, value, f"{path}: {key}"))
    return namespace


class ListFlag(argparse.Action):
    """A flag that may be given more than once (like action="append"), whose first use on the
    command line replaces a recipe's list instead of extending it."""

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        marker = f"{self.dest}_given"
        kept = list(getattr(namespace, self.dest, None) or []) if getattr(namespace, marker, False) else []
        setattr(namespace, marker, True)
        setattr(namespace, self.dest, [*kept, values])


def convert(action: argparse.Action, value: Any, where: str) -> Any:
    """`value` as the flag's own type would give it, within its choices."""
    if isinstance(action, ListFlag):
        values = value if isinstance(value, list) else [value]
        return [convert_one(action, item, where) for item in values]
    if action.nargs == 0:  # store_true
        if not isinstance(value, bool):
            raise RecipeError(f"{where} must be true or false, not {value!r}")
        return value
    return convert_one(action, value, where)


def convert_one(action: argparse.Action, value: Any, where: str) -> Any:
    if isinstance(value, (dict, list)) or isinstance(value, bool) and action.type is not None:
        raise RecipeError(f"{where}: expected a single value, not {value!r}")
    if action.type is None and not isinstance(value, str):
        raise RecipeError(f"{where}: expected a string, not {value!r}")
    try:
        converted = action.type(value) if action.type is not None else value
    except (TypeError, ValueError) as error:
        raise RecipeError(f"{where}: {error}") from error
    if action.type is int and converted != value:
        raise RecipeError(f"{where}: expected a whole number, not {value!r}")
    if action.choices is not None and converted not in action.choices:
        raise RecipeError(f"{where}: {value!r} is not one of {', '.join(map(str, action.choices))}")
    return converted
