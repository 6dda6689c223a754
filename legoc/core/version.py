"""legoc's version, the one in pyproject.toml."""

__version__ = "0.1.0"

# Where legoc lives, and where its documentation is read (the one place to
# change them): SARIF reports link each rule to its section of the docs
# (legoc/tools/report.py), and pyproject.toml's [project.urls] name the
# same repository (tests/test_report.py checks they agree).
REPOSITORY_URL = "https://github.com/OWNER/legoc"
DOCS_URL = f"{REPOSITORY_URL}/blob/main/docs/"
