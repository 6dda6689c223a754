"""Data: the grammar (legoc.lark) and the prelude (prelude.lego), read by legoc/core/resources.py."""
