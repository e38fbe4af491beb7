"""Exit codes of the `swamp` front end."""

OK = 0
RPC_ERROR = 1
"""The daemon answered with an error (printed on stderr)."""
USAGE = 2
DAEMON_UNAVAILABLE = 3
"""No daemon answered and none could be started."""
LOCK_TIMEOUT = 75
"""swamp's own code for a lock that could not be taken (EX_TEMPFAIL)."""
