"""Sub-commands come from the `keepers_commands` hook: the built-in ones and a third-party plugin's alike."""

from __future__ import annotations

import importlib
import textwrap

import pytest

from keepers import cli
from keepers.core import pm

PLUGIN = '''
import pluggy

from keepers.core.errors import UserError

hookimpl = pluggy.HookimplMarker("keepers")  # what a third-party package writes; it needs nothing else of Keepers


def hello(args, settings):
    if args.name == "nobody":
        raise UserError("nobody to greet")
    print(f"hello {args.name}; catalog {settings.catalog}")
    return 3


@hookimpl
def keepers_commands(subparsers, common):
    p = subparsers.add_parser("hello", help="greet someone (a plugin's command)")
    p.add_argument("name")
    common(p)
    p.set_defaults(func=hello)
'''


@pytest.fixture
def hello_plugin(tmp_path, monkeypatch):
    """A plugin module on sys.path, registered with the plugin manager as an installed package's would be."""
    (tmp_path / "keepers_hello.py").write_text(textwrap.dedent(PLUGIN))
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module("keepers_hello")
    pm.manager.register(module, name="keepers-hello")
    yield module
    if pm.manager.has_plugin("keepers-hello"):
        pm.manager.unregister(name="keepers-hello")


def _listed(help_text: str) -> list[str]:
    """The commands `keepers --help` lists, in its order."""
    names = help_text.split("{", 1)[1].split("}", 1)[0]
    return names.split(",")


def test_a_plugins_command_is_listed_after_the_built_ins_and_runs_with_its_exit_code(hello_plugin, tmp_path, capsys):
    listed = _listed(cli.parser().format_help())
    assert listed[-1] == "hello" and listed[0] == "cull"
    assert "greet someone" in cli.parser().format_help()
    catalog = tmp_path / "catalog.db"
    assert cli.main(["hello", "world", "--catalog", str(catalog)]) == 3  # the plugin's own exit code
    assert capsys.readouterr().out.strip() == f"hello world; catalog {catalog}"


def test_a_plugins_user_error_is_said_in_one_line_with_exit_code_2(hello_plugin, capsys):
    assert cli.main(["hello", "nobody"]) == cli.EXIT_USAGE
    assert capsys.readouterr().err == "keepers: nobody to greet\n"


def test_an_unregistered_plugins_command_is_gone(hello_plugin):
    assert "hello" in _listed(cli.parser().format_help())
    pm.manager.unregister(name="keepers-hello")
    assert "hello" not in _listed(cli.parser().format_help())
    with pytest.raises(SystemExit) as e:  # argparse's "invalid choice", exit code 2
        cli.parser().parse_args(["hello", "world"])
    assert e.value.code == 2


def test_help_lists_every_built_in_command_in_the_order_of_the_default_plugins():
    # the order a user has always seen; pluggy alone would call (and so list) the last-registered module first
    assert _listed(cli.parser().format_help()) == [
        "cull", "show", "sort", "demo", "serve", "keys", "apps", "watch", "models", "similar", "search", "eval",
        "taste", "review", "import-ratings", "hosts"]


def test_every_built_in_command_comes_from_a_default_plugin_and_has_a_func():
    ap = cli.parser()
    sub = next(a for a in ap._actions if a.dest == "command")
    for name, p in sub.choices.items():
        func = p.get_default("func")
        if func is None:  # keys and apps: each of their own sub-commands sets one
            inner = next(a for a in p._actions if a.choices and a.dest.endswith("_command"))
            funcs = [q.get_default("func") for q in inner.choices.values()]
        else:
            funcs = [func]
        assert funcs and all(f is not None and f.__module__ in pm.DEFAULT_PLUGINS for f in funcs), name
