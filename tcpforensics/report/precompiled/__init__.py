"""Generated Jinja2 code of the report templates (see report/templating.py)."""
