"""The one place that finds the data files shipped with legoc.

The grammar and the prelude (legoc/grammar/) and the Jinja templates
(legoc/templates/) are data packages inside legoc, so that the source tree,
an editable and a regular install find them the same way: through the
import system, whose loaders read a package's files (from a folder or a
zip file alike).
"""

from __future__ import annotations

import os


def read_text(package: str, name: str) -> str:
    """Return the text of data file `name` in `package` ("grammar" or
    "templates"), with universal newlines as `open` reads text.

    (`importlib.resources` does the same, but its first call imports
    zipfile and more: a tenth of a lint's time.)

    Raises:
        FileNotFoundError: the file is not part of the installation.
    """
    if package == "grammar":
        from .. import grammar as module
    elif package == "templates":
        from .. import templates as module
    else:
        raise FileNotFoundError(f"legoc has no data package {package!r}")
    data = module.__spec__.loader.get_data(os.path.join(os.path.dirname(module.__file__), name))
    return data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
