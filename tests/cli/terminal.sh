#!/usr/bin/env bash
# keysafe-test: no-store — the passphrase prompt on a terminal: keysafe is interrupted before it opens a store
# The passphrase prompt turns echo off on the terminal; a Ctrl-C (SIGINT), SIGTERM, SIGHUP or
# SIGQUIT at the prompt ends keysafe with echo back on, so the shell is not left typing blind.
# keysafe runs on a pseudo-terminal (python3's pty module) whose settings are read afterwards.
source "${KEYSAFE_TESTS:?KEYSAFE_TESTS must name the tests directory}/lib.sh" || exit 1
require_tool python3 python3

# at_prompt HOW: starts `keysafe init` on a new pty, waits at its passphrase prompt with echo
# off, interrupts it (HOW: ctrl-c, typed on the terminal, or a signal name for kill), prints
# "prompt=... echo_at_prompt=... died_by=... echo_after=...".
at_prompt() {
  python3 - "$KEYSAFE_BIN" "$T/tty-$1.db" "$1" <<'PY'
import os, pty, select, signal, sys, termios, time
binary, store, how = sys.argv[1:4]
pid, master = pty.fork()
if pid == 0:
    os.environ.pop("KEYSAFE_PASSPHRASE", None)
    os.execv(binary, [binary, "--store", store, "init", "--kdf-cost", "10"])
deadline = time.time() + 30
seen = b""
while b"passphrase: " not in seen and time.time() < deadline:
    if select.select([master], [], [], 0.5)[0]:
        try:
            seen += os.read(master, 1024)
        except OSError:
            break
def echo():
    return bool(termios.tcgetattr(master)[3] & termios.ECHO)
# keysafe writes the prompt, then turns echo off.
while echo() and time.time() < deadline:
    time.sleep(0.01)
at_prompt = echo()
time.sleep(0.1)
if how == "ctrl-c":
    os.write(master, b"\x03")
else:
    os.kill(pid, getattr(signal, how))
_, status = os.waitpid(pid, 0)
died = signal.Signals(os.WTERMSIG(status)).name if os.WIFSIGNALED(status) else f"exit {os.WEXITSTATUS(status)}"
print(f"prompt={b'passphrase: ' in seen} echo_at_prompt={at_prompt} died_by={died} echo_after={echo()}")
PY
}

for how in ctrl-c SIGTERM SIGHUP SIGQUIT; do
  R=$(at_prompt $how 2>&1)
  expected_signal=$how
  [ $how = ctrl-c ] && expected_signal=SIGINT
  expect_in "prompt=True echo_at_prompt=False" "$R" "$how: keysafe was at its prompt with echo off"
  expect_in "died_by=$expected_signal" "$R" "$how: keysafe ended by $expected_signal, as without a prompt"
  expect_in "echo_after=True" "$R" "$how: echo is back on after keysafe ended"
  [ -e "$T/tty-$how.db" ] && bad "$how: an interrupted init left a store" || ok
done

finish
