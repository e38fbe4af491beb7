"""Reading settings from the environment and the config file strictly, with one-line errors.

Standard library only: the CLI's hot path imports this module (through `swampd.paths`).
Every refusal names the variable (or file and key), the value and what is allowed.
"""

from __future__ import annotations

import math
import os
import stat

TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off")
MAX_CONFIG_BYTES = 1024 * 1024


class ConfigError(ValueError):
    """A setting from the environment or the config file that is refused (one line, no traceback)."""


def parse_flag(name: str, value: str | None) -> bool | None:
    """A yes/no variable: None when unset or empty, else True/False; anything else is refused."""
    if value is None or not value.strip():
        return None
    word = value.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ConfigError(f"{name}={value!r} is not a yes/no value: use one of {', '.join(TRUE_WORDS)} "
                      f"or {', '.join(FALSE_WORDS)}")


def parse_seconds(name: str, value: str | None, *, positive: bool = False) -> float | None:
    """A number of seconds from a variable: None when unset or empty; finite and >= 0 (> 0)."""
    if value is None or not value.strip():
        return None
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or seconds < 0 or (positive and seconds == 0):
        raise ConfigError(f"{name}={value!r} is not a number of seconds: use a finite number "
                          f"{'> 0' if positive else '>= 0'}")
    return seconds


def parse_int(name: str, value: str | None, *, minimum: int = 0) -> int | None:
    """An integer variable: None when unset or empty, else an int >= `minimum`."""
    if value is None or not value.strip():
        return None
    try:
        number = int(value.strip())
    except ValueError:
        raise ConfigError(f"{name}={value!r} is not an integer: use a whole number >= {minimum}") from None
    if number < minimum:
        raise ConfigError(f"{name}={value!r} is too small: use a whole number >= {minimum}")
    return number


def absolute_dir(name: str, value: str | None) -> str | None:
    """A directory variable: None when unset or empty; a relative path is refused."""
    if not value:
        return None
    if not os.path.isabs(value):
        raise ConfigError(f"{name}={value!r} is a relative path: use an absolute path")
    return os.path.normpath(value)


def read_config_file(path: str) -> bytes | None:
    """The config file's bytes (None when it does not exist), never blocking on it.

    A FIFO, a device (`/dev/zero`), a directory or a file over 1 MiB is refused: reading one
    would hang or never end.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | getattr(os, "O_NOCTTY", 0))
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(f"config file {path} cannot be opened: {exc.strerror}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ConfigError(f"config file {path} is not a regular file; point SWAMPD_CONFIG at a TOML file")
        if st.st_size > MAX_CONFIG_BYTES:
            raise ConfigError(f"config file {path} is {st.st_size} bytes; a config file may have at most "
                              f"{MAX_CONFIG_BYTES}")
        chunks = []
        remaining = MAX_CONFIG_BYTES + 1
        while remaining > 0 and (chunk := os.read(fd, min(remaining, 65536))):
            chunks.append(chunk)
            remaining -= len(chunk)
        data = b"".join(chunks)
        if len(data) > MAX_CONFIG_BYTES:
            raise ConfigError(f"config file {path} is larger than {MAX_CONFIG_BYTES} bytes")
        return data
    except OSError as exc:
        raise ConfigError(f"config file {path} cannot be read: {exc.strerror}") from None
    finally:
        os.close(fd)
