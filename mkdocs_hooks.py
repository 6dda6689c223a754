"""MkDocs hooks of the documentation site (mkdocs.yml): the stylesheet of
Pygments' classes, which pymdownx.highlight writes into every code block
(```lego fences through legoc's own lexer), generated at build time rather
than kept as a copy in docs/."""

from __future__ import annotations

from pathlib import Path

PYGMENTS_CSS = "css/pygments.css"  # mkdocs.yml's extra_css names it


def on_post_build(config, **kwargs) -> None:
    """Write Pygments' default style for `.highlight` blocks into the built
    site, at PYGMENTS_CSS."""
    from pygments.formatters import HtmlFormatter

    target = Path(config["site_dir"]) / PYGMENTS_CSS
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(HtmlFormatter(style="default").get_style_defs(".highlight") + "\n", encoding="utf-8")
