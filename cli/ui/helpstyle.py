"""How help pages look: one placeholder style, none on flags.

Typer prints a type placeholder for every option: ``<bool>`` beside flags
(which take no value) and ``<str>``, ``<path>`` beside others, while caprec
names its values in capitals (``PATH``, ``N``, ``SECONDS``). :class:`HelpGroup`
tidies every command of the app once, before the first help page is built.
"""

from __future__ import annotations

from typer._click import Command, Context
from typer.core import TyperArgument, TyperGroup, TyperOption


def _placeholder(name: str | None) -> str:
    return (name or "value").upper()


class PlainArgument(TyperArgument):
    """An argument shown by its placeholder alone: ``PATH`` in usage and help, not ``{PATH}`` and ``<path>``."""

    def display_type_rich(self, ctx: Context) -> str | None:
        return None

    def _usage_display_name(self) -> str:
        name = self.display_name_raw
        return name if self.required else f"[{name}]"


def tidy_command(command: Command, ctx: Context) -> None:
    """Flags get no placeholder; a value without a chosen placeholder gets its name in capitals."""
    help_option = command.get_help_option(ctx)
    panels = [getattr(param, "rich_help_panel", None) for param in command.params]
    if isinstance(help_option, TyperOption) and panels and panels[-1]:
        # Options in panels: --help joins the last one instead of a panel of its own.
        help_option.rich_help_panel = panels[-1]
    params = [*command.params, help_option]
    for param in params:
        if isinstance(param, TyperOption):
            if param.is_flag:
                param.metavar = ""
            elif param.metavar is None:
                param.metavar = _placeholder(param.name)
        elif isinstance(param, TyperArgument):
            if param.metavar is None:
                param.metavar = _placeholder(param.name)
            # Typer builds the argument; only its look changes (no state is added).
            param.__class__ = PlainArgument
    if isinstance(command, TyperGroup):
        for sub in command.commands.values():
            tidy_command(sub, ctx)


class HelpGroup(TyperGroup):
    """The app's root group: tidies every command's options the first time it is asked for its help option."""

    _tidy = False

    def get_help_option(self, ctx: Context) -> TyperOption | None:
        option = super().get_help_option(ctx)
        if not self._tidy:
            self._tidy = True
            tidy_command(self, ctx)
        return option
