"""hazwatch's shared core: the data model every package agrees on (readings, quality codes, alarm events)."""

__version__ = "0.1.0"
