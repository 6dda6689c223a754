"""The one place that finds the data files shipped with legoc.

`grammar/` and `templates/` live at the top of the repository and are
installed as the packages `legoc.grammar` and `legoc.templates` (see
pyproject.toml), so an editable and a regular install find them the same
way: through the import system.
"""

from __future__ import annotations

from importlib import resources


def read_text(package: str, name: str) -> str:
    """Return the text of data file `name` in `package` ("grammar" or "templates").

    Raises:
        FileNotFoundError: the file is not part of the installation.
    """
    return resources.files(f"legoc.{package}").joinpath(name).read_text("utf-8")
