"""The daemon's side of the `swamp` front end: swamp's own commands answered byte for byte.

`argv` is shared with the front (standard library only); the rest runs in the daemon.
"""
