"""Which implementation runs: the compiled hot path or the pure-Python reference.

The per-packet modules listed in `COMPILED_MODULES` are plain Python files that Cython
compiles at install time (pure-Python mode: the types live in a `.pxd` file beside each
module), so the `.py` source is at once the reference implementation and the input of the
compiled one.  Setting the environment variable `TCPFORENSICS_PURE=1` before importing
tcpforensics loads the `.py` sources even where a compiled module exists; the
differential tests run both and require identical output.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import os
import sys

#: Modules compiled by setup.py (read there with ast.literal_eval: keep this a literal).
COMPILED_MODULES = (
    "tcpforensics.arrays",
    "tcpforensics.io.decode",
    "tcpforensics.io.reader",
    "tcpforensics.model",
    "tcpforensics.report.columns",
    "tcpforensics.diagnose.stalls",
    "tcpforensics.tcp.seqspace",
    "tcpforensics.cwnd.replicas.base",
    "tcpforensics.cwnd.replicas.reno",
    "tcpforensics.cwnd.replicas.cubic",
    "tcpforensics.cwnd.replicas.bbr",
    "tcpforensics.cwnd.estimator",
    "tcpforensics.tcp.unacked",
    "tcpforensics.tcp.rtt",
    "tcpforensics.tcp.sack",
    "tcpforensics.tcp.endpoint",
    "tcpforensics.tcp.analysis",
    "tcpforensics.tcp.connection",
    "tcpforensics.flows",
    "tcpforensics.packet_loop",
    "tcpforensics.export",
    "tcpforensics.diagnose.findings",
    "tcpforensics.frames",
    "tcpforensics.results",
)

PURE_ENV = "TCPFORENSICS_PURE"


class _SourceOnlyFinder(importlib.abc.MetaPathFinder):
    """Finds tcpforensics submodules as .py sources, ignoring compiled extensions."""

    def find_spec(self, fullname, path, target=None):  # noqa: ANN001 - importlib protocol
        if not fullname.startswith("tcpforensics.") or not path:
            return None
        loaders = [(importlib.machinery.SourceFileLoader,
                    importlib.machinery.SOURCE_SUFFIXES)]
        for entry in path:
            spec = importlib.machinery.FileFinder(entry, *loaders).find_spec(fullname)
            if spec is not None:
                return spec
        return None


def install_pure_finder_if_asked() -> None:
    """Called by the package's __init__ before anything else is imported."""
    if os.environ.get(PURE_ENV, "") not in ("", "0") and not any(
            isinstance(f, _SourceOnlyFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _SourceOnlyFinder())


def compiled_modules() -> list[str]:
    """The listed modules that are running compiled in this process."""
    out = []
    for name in COMPILED_MODULES:
        module = importlib.import_module(name)
        if not (getattr(module, "__file__", "") or "").endswith(".py"):
            out.append(name)
    return out


def engine_name() -> str:
    """'compiled' when every listed module is compiled, 'pure' when none is, else 'mixed'."""
    done = compiled_modules()
    if not done:
        return "pure"
    return "compiled" if len(done) == len(COMPILED_MODULES) else "mixed"
