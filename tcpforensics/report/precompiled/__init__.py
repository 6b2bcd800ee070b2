"""Generated Jinja2 code of the report templates (see report/templating.py)."""

JINJA2_VERSION = "3.1.6"  # the version that generated it
