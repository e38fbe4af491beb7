"""swampd: a per-host daemon for swamp."""

__version__ = "0.1.0"
