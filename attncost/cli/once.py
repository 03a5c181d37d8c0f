"""Options that hold one value are given once: click keeps the last of ``--shape A --shape B`` and
drops the first without a word, so a user's ``--stages 1 --stages 2`` (meaning both) silently became
stage 2. Every command refuses that with the option's name; repeatable options (``--attn``, ``--hp``,
``--checkpoint``: ``multiple``) and counters are left alone."""

from __future__ import annotations

import click


def _repeated(command: click.Command, ctx: click.Context, args: list) -> str | None:
    """The first option ``args`` give more than once that keeps one value (its spellings), or None."""
    try:
        _, _, order = command.make_parser(ctx).parse_args(args=list(args))
    except click.ClickException:
        return None                     # the real parse below reports it as usual
    seen: dict = {}
    for param in order:
        if isinstance(param, click.Option) and not param.multiple and not param.count:
            seen[param.name] = seen.get(param.name, 0) + 1
            if seen[param.name] == 2:
                return "/".join(param.opts + param.secondary_opts)
    return None


def options_once(group: click.Group) -> None:
    """Every command of ``group`` (and of its sub-groups) refuses a one-value option given twice."""
    for command in [group, *group.commands.values()]:
        if isinstance(command, click.Group) and command is not group:
            options_once(command)
            continue
        parse = command.parse_args

        def parse_args(ctx, args, parse=parse, command=command):
            option = _repeated(command, ctx, args)
            if option is not None:
                raise click.UsageError(f"{option} is given more than once; it takes one value: give it once", ctx)
            return parse(ctx, args)

        command.parse_args = parse_args
