"""The ``lgn-hw`` command line: a click group that loads each stage's subcommand lazily.

Subcommands live in the stage that owns them (``module:attribute`` in ``COMMANDS``) and are only
imported when listed or invoked, so ``lgn-hw --help`` stays fast and keeps working when a stage's
module is absent or fails to import: such a command is listed with a one-line explanation and
invoking it raises a ``click.ClickException`` naming the missing module or package.
"""

from __future__ import annotations

import importlib

import click

from lgn_hw import __version__

#: subcommand name -> "module:attribute" of its click.Command
COMMANDS: dict[str, str] = {
    "infer": "lgn_hw.infer:infer_command",
    "export": "lgn_hw.export.cli:export_command",
    "rtl": "rtl.cli:rtl_command",
    "sim": "rtl.cli:sim_command",
    "build": "boards.cli:build_command",
    "report": "flows.cli:report_command",
    "verify": "flows.cli:verify_command",
    "synth": "flows.cli:synth_command",
    "run": "boards.cli:run_command",
    "boards": "boards.cli:boards_command",
}


def _import_error_reason(spec: str, exc: BaseException) -> str:
    module = spec.split(":", 1)[0]
    if isinstance(exc, ModuleNotFoundError) and exc.name:
        if exc.name == module or module.startswith(exc.name + "."):
            return f"module {module!r} not found"
        return f"module {module!r} needs package {exc.name!r} (not installed)"
    if isinstance(exc, AttributeError):
        return f"{spec} not found ({exc})"
    first = str(exc).splitlines()[0] if str(exc) else ""
    return f"importing {module!r} failed: {type(exc).__name__}: {first}"


def _unavailable_command(name: str, spec: str, reason: str) -> click.Command:
    """A placeholder listed in --help that fails with a one-line ClickException when invoked."""

    def callback(**_kwargs):
        raise click.ClickException(f"`lgn-hw {name}` is unavailable: {reason}")

    return click.Command(
        name,
        callback=callback,
        help=f"(unavailable: {reason})",
        short_help=f"(unavailable: {reason})",
        context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
        add_help_option=False,
    )


def load_command(name: str) -> click.Command:
    """Import and return the click command for ``name`` (a placeholder if it cannot be loaded)."""
    spec = COMMANDS[name]
    module_name, attr = spec.split(":", 1)
    try:
        module = importlib.import_module(module_name)
        cmd = getattr(module, attr)
    except Exception as exc:  # any import-time failure becomes a listed, explained placeholder
        return _unavailable_command(name, spec, _import_error_reason(spec, exc))
    if not isinstance(cmd, click.Command):
        return _unavailable_command(name, spec, f"{spec} is not a click command")
    return cmd


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use from ``COMMANDS``."""

    def __init__(self, *args, lazy_commands: dict[str, str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.lazy_commands = dict(lazy_commands or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self.lazy_commands))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        cmd = super().get_command(ctx, cmd_name)
        if cmd is not None or cmd_name not in self.lazy_commands:
            return cmd
        return load_command(cmd_name)


@click.group(cls=LazyGroup, lazy_commands=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="lgn-hw")
def main() -> None:
    """lgn-hw: logic gate networks from a trained netlist to FPGA hardware.

    Train first with `python -m train` (writes lgn-out/netlist.json), then infer, generate RTL,
    simulate, synthesise and build for a board.
    """


if __name__ == "__main__":  # pragma: no cover
    main()
