"""Build the compiled hot path (Cython, pure-Python mode) next to the .py reference.

The list of modules lives in tcpforensics/engine.py.  Each is an ordinary .py file;
a `.pxd` beside it gives Cython the C types.  Without Cython nothing is compiled and the
package runs as pure Python (slower, same output).
"""

import ast
import pathlib

from setuptools import setup

HERE = pathlib.Path(__file__).parent


def _compiled_modules() -> tuple[str, ...]:
    tree = ast.parse((HERE / "tcpforensics" / "engine.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == \
                "COMPILED_MODULES":
            return ast.literal_eval(node.value)
    raise SystemExit("setup.py: COMPILED_MODULES not found in tcpforensics/engine.py")


def _extensions() -> list:
    modules = _compiled_modules()
    if not modules:
        return []
    from Cython.Build import cythonize
    from setuptools import Extension

    exts = [Extension(name, [name.replace(".", "/") + ".py"], extra_compile_args=["-O2"])
            for name in modules]
    # Types come from the .pxd files only (annotation_typing off).  Python semantics are
    # kept (no cdivision): the compiled modules must give exactly the .py reference's output.
    return cythonize(exts, language_level=3, nthreads=2, quiet=True,
                     compiler_directives={"binding": False, "annotation_typing": False})


setup(ext_modules=_extensions())
