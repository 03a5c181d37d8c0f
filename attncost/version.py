"""attncost's version, in the lowest layer so that any module may read it (the report's footer)."""

__version__ = "0.1.0"
