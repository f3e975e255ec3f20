"""click's own messages in Chinese: unknown command or option, missing argument, bad value.

click builds its messages with ``gettext`` (``_("No such option {name!r}.")``) in the modules that raise
them. We give those modules a look-up that answers from the table below and falls back to the English
text, so every usage error staff can cause reads in Chinese; ``show`` prints one the way the rest of the
CLI prints errors (用法 / 查看帮助 / 错误). --help texts are not touched (docs/cli.md is made from them).
"""

from __future__ import annotations

import gettext

import click
import click.core
import click.exceptions
import click.parser
import click.types

MESSAGES = {
    "No such option {name!r}.": "没有选项 {name!r}。",
    "No such command {name!r}.": "没有命令 {name!r}。",
    "Did you mean {possibility}?": "是不是要写 {possibility}？",
    "(Possible options: {possibilities})": "（可能是: {possibilities}）",
    "Missing argument": "缺少参数",
    "Missing option": "缺少选项",
    "Missing parameter": "缺少参数",
    "Missing {param_type}": "缺少{param_type}",
    "Missing parameter: {param_name}": "缺少参数: {param_name}",
    "Missing command.": "缺少命令。",
    "Invalid value: {message}": "值不对: {message}",
    "Invalid value for {param_hint}: {message}": "{param_hint} 的值不对: {message}",
    "Option {name!r} requires an argument.": "选项 {name!r} 后面要写一个值。",
    "Option {name!r} does not take a value.": "选项 {name!r} 不带值。",
    "Argument {name!r} takes {nargs} values.": "参数 {name!r} 需要 {nargs} 个值。",
    "Got unexpected extra argument ({args})": "多余的参数 ({args})",
    "Got unexpected extra arguments ({args})": "多余的参数 ({args})",
    "{value!r} is not {choice}.": "{value!r} 不在可选范围内: {choice}。",
    "{value!r} is not one of {choices}.": "{value!r} 不在可选范围内: {choices}。",
    "{value!r} does not match the format {format}.": "{value!r} 不符合格式 {format}。",
    "{value!r} does not match the formats {formats}.": "{value!r} 不符合格式 {formats}。",
    "{value!r} is not a valid {number_type}.": "{value!r} 不是有效的{number_type}。",
    "{value} is not in the range {range}.": "{value} 不在范围 {range} 内。",
    "{value!r} is not a valid boolean. Recognized values: {states}": "{value!r} 不是是/否值，可写: {states}",
    "{name} {filename!r} does not exist.": "{name} {filename!r} 不存在。",
    "{name} {filename!r} is a file.": "{name} {filename!r} 是文件，不是文件夹。",
    "{name} {filename!r} is a directory.": "{name} {filename!r} 是文件夹，不是文件。",
    "{name} {filename!r} is not readable.": "{name} {filename!r} 没有读取权限。",
    "{name} {filename!r} is not writable.": "{name} {filename!r} 没有写入权限。",
    "File": "文件",
    "Directory": "文件夹",
    "Path": "路径",
    "Could not open file {filename!r}: {message}": "无法打开文件 {filename!r}: {message}",
    "Error: {message}": "错误: {message}",
    "Try '{command} {option}' for help.": "查看帮助: {command} {option}",
}
# click 8 phrases the range bounds like this; the words inside a range stay as click writes them (x>=1)


def zh(message: str) -> str:
    return MESSAGES.get(message, message)


def zh_n(singular: str, plural: str, n: int) -> str:
    return MESSAGES.get(singular if n == 1 else plural) or gettext.ngettext(singular, plural, n)


def install() -> None:
    """Point click's message look-up at the table (idempotent; help texts stay as they are)."""
    for module in (click.exceptions, click.types, click.parser, click.core):
        if hasattr(module, "_"):
            module._ = zh
        if hasattr(module, "ngettext"):
            module.ngettext = zh_n


def show(exc: click.UsageError) -> None:
    """Print a usage error: 用法, where to find help, then the message — all in Chinese."""
    ctx = exc.ctx
    if ctx is not None:
        usage = ctx.get_usage().replace("Usage:", "用法:", 1)
        click.echo(usage, err=True)
        if ctx.command.get_help_option(ctx) is not None:
            names = ctx.command.get_help_option_names(ctx)
            click.echo(f"查看帮助: {ctx.command_path} {max(names, key=len)}", err=True)
    click.echo(f"错误: {tidy(exc.format_message())}", err=True)


_NUMBER_TYPES = {"有效的integer": "有效的整数", "有效的float": "有效的数字"}


def tidy(message: str) -> str:
    """Chinese punctuation where click glues English full stops and spaces onto the parts it translated."""
    text = message.strip()
    for english, chinese in _NUMBER_TYPES.items():
        text = text.replace(english, chinese)
    text = text.replace(". ", "。").replace("。 ", "。")
    return text[:-1] + "。" if text.endswith(".") else text
