"""Regenerate the templates' precompiled code: `python -m tcpforensics.report.precompile`.

Run it after editing anything in tcpforensics/report/templates/ (see templating.py).
"""

from __future__ import annotations

import sys
from pathlib import Path

import jinja2

from .html import _environment
from .templating import TEMPLATE_DIR, generated_module, module_name


def main() -> int:
    env = _environment()
    out = Path(__file__).with_name("precompiled")
    out.mkdir(exist_ok=True)
    init = out / "__init__.py"
    init.write_text('"""Generated Jinja2 code of the report templates (see '
                    'report/templating.py)."""\n\n'
                    f'JINJA2_VERSION = "{jinja2.__version__}"  # the version that generated it\n',
                    encoding="utf-8")
    names = env.loader.list_templates()
    wanted = {module_name(n) for n in names}
    for old in out.glob("*.py"):
        if old != init and old.stem not in wanted:
            old.unlink()
    for name in names:
        (out / f"{module_name(name)}.py").write_text(generated_module(env, name),
                                                   encoding="utf-8")
        print(f"{out.name}/{module_name(name)}.py <- {TEMPLATE_DIR}/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
