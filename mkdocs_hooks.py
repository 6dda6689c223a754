"""MkDocs hooks of the documentation site (mkdocs.yml): the README as the
home page, its links into docs/ made the site's own (so that strict mode
checks them, anchors too), and the stylesheet of Pygments' classes, which
pymdownx.highlight writes into every code block (```lego fences through
legoc's own lexer), generated at build time rather than kept as a copy in
docs/."""

from __future__ import annotations

import re
from pathlib import Path

PYGMENTS_CSS = "css/pygments.css"  # mkdocs.yml's extra_css names it


def on_page_markdown(markdown: str, page, config, files) -> str:
    """The home page (docs/index.md) is the README, whose links are absolute
    on the repository (they must work on the package index): those into
    docs/ become links between the site's pages (relative to the docs root,
    where index.md is); the rest stay absolute."""
    if page.file.src_uri != "index.md":
        return markdown
    readme = (Path(config["config_file_path"]).parent / "README.md").read_text(encoding="utf-8")
    into_docs = re.escape(config["repo_url"].rstrip("/")) + r"/(?:blob|raw)/main/docs/"
    return re.sub(r"\]\(" + into_docs, "](", readme)


def on_post_build(config, **kwargs) -> None:
    """Write Pygments' default style for `.highlight` blocks into the built
    site, at PYGMENTS_CSS."""
    from pygments.formatters import HtmlFormatter

    target = Path(config["site_dir"]) / PYGMENTS_CSS
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(HtmlFormatter(style="default").get_style_defs(".highlight") + "\n", encoding="utf-8")
