"""Template loading with the Jinja2 compilation done ahead of time.

Compiling the report's templates (Jinja2 parse and code generation) costs more than
rendering a small report, and it happened in every process.  The generated Python code
is therefore kept in the package, in `tcpforensics/report/precompiled/` (one module per
template, regenerated with `python -m tcpforensics.report.precompile`).  Nothing is
written at run time, so a read-only install works.

Each generated module records a key over the template source, the Jinja2 version and
the environment's options.  `PrecompiledLoader` uses a module only when its key matches
the current template and Jinja2; otherwise (a template edited without regenerating, a
different Jinja2) it compiles the template from source as before, so the output never
depends on whether the precompiled code is current.  tests/test_report_fast_paths.py
fails when the committed modules are stale.
"""

from __future__ import annotations

import hashlib
import importlib.util
from collections.abc import MutableMapping
from types import CodeType
from typing import Any

import jinja2
from jinja2 import Environment, PackageLoader, Template

PACKAGE = "tcpforensics.report"
TEMPLATE_DIR = "templates"
PRECOMPILED = f"{PACKAGE}.precompiled"
# The options that change the generated code (see report/html.py: _environment).
OPTIONS = {"autoescape": True, "trim_blocks": True, "lstrip_blocks": True}


_KEY_PREFIX = "tcpforensics-template-key:"


def module_name(template: str) -> str:
    """'report.html.j2' -> 'report_html_j2' (a module name per template file)."""
    return "".join(c if c.isalnum() else "_" for c in template)


def source_key(source: str) -> str:
    """What the generated code depends on: template text, Jinja2 version, options."""
    text = f"{jinja2.__version__}\0{sorted(OPTIONS.items())}\0{source}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class PrecompiledLoader(PackageLoader):
    """The package's templates, from the precompiled modules when they are current."""

    def __init__(self) -> None:
        super().__init__(PACKAGE, TEMPLATE_DIR)

    def load(self, environment: Environment, name: str,
             globals: MutableMapping[str, Any] | None = None) -> Template:
        source, _, uptodate = self.get_source(environment, name)
        code = _precompiled_code(name, source)
        if code is None:
            return super().load(environment, name, globals)
        # As Jinja2 does with a bytecode cache hit: run the module code against this
        # environment (a fresh namespace each time, so environments never share it).
        return environment.template_class.from_code(
            environment, code, {} if globals is None else globals, uptodate)


def _precompiled_code(name: str, source: str) -> CodeType | None:
    """The code object of the template's generated module, if it matches `source`."""
    module = f"{PRECOMPILED}.{module_name(name)}"
    try:
        spec = importlib.util.find_spec(module)
        code = spec.loader.get_code(module) if spec is not None and spec.loader else None
    except (ImportError, OSError, SyntaxError):
        return None
    if code is None or _KEY_PREFIX + source_key(source) not in code.co_consts:
        return None
    return code


def generated_module(environment: Environment, name: str) -> str:
    """The Python module text for template `name` (what `main` writes)."""
    source, filename, _ = environment.loader.get_source(environment, name)
    code = environment.compile(source, name, filename, raw=True)
    return (f"# ruff: noqa\n# Generated from {TEMPLATE_DIR}/{name} by "
            f"`python -m {PACKAGE}.precompile`; do not edit.\n"
            f"SOURCE_KEY = {_KEY_PREFIX + source_key(source)!r}\n{code}\n")
