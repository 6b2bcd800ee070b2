"""The HTML report: one self-contained file an engineer attaches to a ticket."""

from .html import build_context, render_report, write_report

__all__ = ["build_context", "render_report", "write_report"]
