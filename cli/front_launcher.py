"""The launcher `swamp daemon install-front` writes: a POSIX shell script named `swamp`.

It starts Python only for the command lines the front may answer itself (swampd's own commands,
help, the accelerated swamp commands) and hands every other command line to the real swamp with
`exec`, as the Python front would, without paying for an interpreter start. Whatever the script is
not sure of (a relative SWAMPD_HOME, a configured swamp executable, a socket path too long, no
real swamp found) also goes to Python, which knows every rule and prints the errors.

The command words it looks for are generated from the Python front's own tables (cli.main,
cli.accelerated, swampd.front.argv), so the two cannot drift apart; a test runs both on the same
command lines.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterable

# Line 2 is how swampd recognises its own `swamp` (swampd.swamp_binary.OWN_MARKERS).
TEMPLATE = r"""#!/bin/sh
# swampd-front: swampd's `swamp` front end for the real swamp (`swamp daemon uninstall-front` removes it)
# Commands swampd may answer go to Python; every other one goes straight to the real swamp.
python() {
	exec @PYTHON@ -I -S -c @CODE@ "$@"
}
[ $# -eq 0 ] && python
w1= w2= w3= n=0 skip= stop=
for a do
	case $a in -h|--help) python "$@" ;; esac
	if [ -n "$stop" ]; then continue; fi
	if [ -n "$skip" ]; then skip=; continue; fi
	case $a in
	@GLOBAL_FLAGS@|--log-level=*) ;;
	@GLOBAL_VALUE_OPTIONS@) skip=1 ;;
	-*) stop=1 ;;
	*) case $n in 0) w1=$a ;; 1) w2=$a ;; 2) w3=$a ;; esac; n=$((n + 1)) ;;
	esac
done
case $w1 in @OWN_COMMANDS@) python "$@" ;; esac
case $w1/$w2 in @TWO_WORDS@) python "$@" ;; esac
case $w1/$w2/$w3 in @THREE_WORDS@) python "$@" ;; esac

# A passed-through call: find the real swamp as the Python front does (swampd.paths,
# swampd.swamp_binary), or let Python say what is wrong.
absolute() { case $1 in /*) return 0 ;; *) return 1 ;; esac; }
for v in "${SWAMPD_HOME-}" "${SWAMPD_RUNTIME_DIR-}" "${SWAMPD_CONFIG-}"; do
	[ -z "$v" ] || absolute "$v" || python "$@"
done
[ -n "${HOME-}" ] || python "$@"
if [ -n "${SWAMPD_HOME-}" ]; then
	run=$SWAMPD_HOME/run config=$SWAMPD_HOME/config.toml
else
	if absolute "${XDG_RUNTIME_DIR-}"; then run=$XDG_RUNTIME_DIR/swampd; else run=$HOME/.swamp/run; fi
	if absolute "${XDG_CONFIG_HOME-}"; then config=$XDG_CONFIG_HOME/swampd; else config=$HOME/.config/swampd; fi
	config=$config/config.toml
fi
[ -n "${SWAMPD_RUNTIME_DIR-}" ] && run=$SWAMPD_RUNTIME_DIR
[ -n "${SWAMPD_CONFIG-}" ] && config=$SWAMPD_CONFIG
[ ${#run} -le @MAX_RUN_DIR@ ] || python "$@"
name=${SWAMPD_SWAMP_EXECUTABLE:-swamp}
if [ "$name" = swamp ] && [ -e "$config" ]; then
	[ -f "$config" ] || python "$@"
	{ text=$(head -c 1048577 -- "$config"); } 2>/dev/null
	case $text in *swamp_executable*) python "$@" ;; esac
fi
own() {
	{ head=$(head -c 4096 -- "$1"); } 2>/dev/null
	case $head in @OWN_MARKERS@) return 0 ;; esac
	return 1
}
swamp() { [ -f "$1" ] && [ -x "$1" ] && ! [ "$1" -ef "$0" ] && ! own "$1"; }
real=
case $name in
~*) python "$@" ;;
*/*) swamp "$name" && real=$name ;;
*)
	set -f
	IFS=:
	for d in $PATH; do
		if [ -n "$d" ] && swamp "$d/$name"; then
			real=$d/$name
			break
		fi
	done
	unset IFS
	set +f
	;;
esac
[ -n "$real" ] || python "$@"
absolute "$real" || real=$PWD/$real
[ -f "$run/front.calls" ] && { printf p >>"$run/front.calls"; } 2>/dev/null
exec "$real" "$@"
"""

PYTHON_CODE = "import sys;sys.path[:0]={front};sys.path+={site};from cli.main import main;sys.exit(main())"


def _alternatives(words: Iterable[str]) -> str:
    """A `case` pattern matching exactly these words (each quoted: no glob character is live)."""
    return "|".join(shlex.quote(w) for w in sorted(set(words)))


def render(python: str, front: list[str], site: list[str]) -> str:
    """The launcher for this interpreter, this project directory and these site-packages."""
    from cli.accelerated import METHOD_RUN, READS
    from cli.main import SWAMPD_COMMANDS
    from swampd.front.argv import GLOBAL_FLAGS, GLOBAL_VALUE_OPTIONS, SWAMPD_FLAGS
    from swampd.paths import MAX_SOCKET_PATH, SOCKET_NAME
    from swampd.swamp_binary import OWN_MARKERS

    code = PYTHON_CODE.format(front=json.dumps(front), site=json.dumps(site))
    fields = {
        "PYTHON": shlex.quote(python),
        "CODE": shlex.quote(code),
        "GLOBAL_FLAGS": _alternatives(GLOBAL_FLAGS | SWAMPD_FLAGS),
        "GLOBAL_VALUE_OPTIONS": _alternatives(GLOBAL_VALUE_OPTIONS),
        "OWN_COMMANDS": _alternatives([*SWAMPD_COMMANDS, "help"]),
        "TWO_WORDS": _alternatives(f"{a}/{b}" for a, b in READS),
        "THREE_WORDS": _alternatives(["/".join(METHOD_RUN)]),
        "MAX_RUN_DIR": str(MAX_SOCKET_PATH - len(SOCKET_NAME) - 1),
        "OWN_MARKERS": "|".join(f"*{shlex.quote(m.decode())}*" for m in OWN_MARKERS),
    }
    text = TEMPLATE
    for name, value in fields.items():
        text = text.replace(f"@{name}@", value)
    return text
