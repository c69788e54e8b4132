#!/usr/bin/env bash
# keysafe-test: no-store — cmake --install, man page, completion and systemd units
# Packaging: `cmake --install` puts the binary, man page, bash completion, systemd units and docs
# under a prefix; the man page renders without warnings and documents every command of --help;
# the completion completes commands and options; systemd accepts the units.
source "${KEYSAFE_TESTS:?KEYSAFE_TESTS must name the tests directory}/lib.sh" || exit 1

BUILD=$(cd "$(dirname "$KEYSAFE_BIN")/.." && pwd)
[ -f "$BUILD/CMakeCache.txt" ] || skip "$KEYSAFE_BIN is not in a CMake build tree"
require_tool mandoc mandoc
require_tool systemd-analyze systemd
require_tool groff groff-base
require_tool man man-db
require_tool col bsdextrautils
PREFIX="$T/prefix"

# The generated files are part of the ALL target; build them in case only keysafe was built.
cmake --build "$BUILD" --target keysafe_packaging >/dev/null 2>&1
OUT=$(cmake --install "$BUILD" --prefix "$PREFIX" 2>&1); RC=$?; ERR=""
expect_rc 0 "cmake --install into a temporary prefix"
for f in bin/keysafe share/man/man1/keysafe.1 share/bash-completion/completions/keysafe \
  lib/systemd/system/keysafe-renew.service lib/systemd/system/keysafe-renew.timer \
  lib/systemd/system/keysafe-agent.service lib/systemd/system/keysafe-agent.timer \
  share/doc/keysafe/README.md share/doc/keysafe/DEPLOY.md share/doc/keysafe/FLEET.md share/doc/keysafe/EXIT-CODES.md \
  share/doc/keysafe/recover-key.py; do
  [ -s "$PREFIX/$f" ] && ok || bad "installed: $f"
done
# Every document --help points to is installed (docs/CA.md was not).
DOCS=$(for c in $("$KEYSAFE_BIN" --help | awk '/^Store passphrase/{exit} /^[A-Z][A-Za-z ]*:$/{f = ($0 != "Options:"); next} f && /^  [a-z]/{print $1}'); do
  "$KEYSAFE_BIN" $c --help; done | grep -o 'docs/[A-Za-z-]*\.md' | sort -u)
[ -n "$DOCS" ] && ok || bad "no docs/*.md named in any --help"
for d in $DOCS; do
  [ -s "$PREFIX/share/doc/keysafe/${d#docs/}" ] && ok || bad "installed: $d, which --help points to"
done
"$PREFIX/bin/keysafe" --version >/dev/null
RC=$?; expect_rc 0 "the installed binary runs"

# --- the man page ---------------------------------------------------------------------------
MAN="$PREFIX/share/man/man1/keysafe.1"
WARN=$(groff -man -Tutf8 -ww -z "$MAN" 2>&1)
expect_eq "$WARN" "" "groff renders the man page without warnings"
LINT=$(mandoc -T lint -W warning "$MAN" 2>&1)
expect_eq "$LINT" "" "mandoc -T lint finds nothing"
PAGE=$(MANWIDTH=100 man -l "$MAN" 2>/dev/null | col -b)
[ -n "$PAGE" ] && ok || bad "man -l renders the page"
expect_in "NAME" "$PAGE" "the page has a NAME section"
# Every command --help lists has its section, with its summary and its EXAMPLES.
ks --help
# The commands are listed under headings ("Keys and certificates:", ...) after the options.
COMMANDS=$(printf '%s\n' "$OUT" | awk '/^Store passphrase/{exit} /^[A-Z][A-Za-z ]*:$/{f = ($0 != "Options:"); next} f && /^  [a-z]/{print $1}')
[ "$(printf '%s\n' "$COMMANDS" | wc -l)" -ge 15 ] && ok || bad "read the command list from --help: $COMMANDS"
for c in $COMMANDS; do
  expect_in "keysafe $c" "$PAGE" "the man page has a section for $c"
done
expect_not_in "help-man" "$(printf '%s\n' "$OUT")" "the generator commands are hidden from --help"
# The same text as --help: the deploy options' descriptions and examples appear in the page.
ks deploy --help
for phrase in "--reload-cmd" "shell command that makes the server read the new files" \
  "keysafe deploy www.example.com --to /etc/haproxy/certs/www --layout haproxy"; do
  expect_in "$phrase" "$(printf '%s' "$PAGE" | tr -s ' \n' ' ')" "the man page shows deploy --help's \"$phrase\""
  expect_in "$phrase" "$(printf '%s' "$OUT" | tr -s ' \n' ' ')" "(and --help does too)"
done
expect_in "Exit codes" "$PAGE" "the global footer (exit codes) is in the page"

# --- bash completion ------------------------------------------------------------------------
COMP="$PREFIX/share/bash-completion/completions/keysafe"
expect_eq "$(bash -c "source '$COMP'; complete -p keysafe")" "complete -F _keysafe keysafe" "complete -p keysafe"
# complete WORDS...: what the completion offers for the last word.
complete_words() {
  bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _keysafe; printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " "' _ "$COMP" "$@"
}
expect_eq "$(complete_words keysafe de)" "delete deploy deployments " "keysafe de<TAB> offers delete, deploy, deployments"
expect_eq "$(complete_words keysafe --store x.db dep)" "deploy deployments " "global options with a value are skipped"
expect_in "--layout" "$(complete_words keysafe deploy www --la)" "deploy --la<TAB> offers --layout"
expect_in "--reload-cmd" "$(complete_words keysafe deploy www --re)" "deploy --re<TAB> offers --reload-cmd"
expect_in "--json" "$(complete_words keysafe status --j)" "global options after the command"
mkdir -p dirs/alpha dirs/beta && touch dirs/file.txt
expect_eq "$(cd dirs && complete_words keysafe deploy www --to '')" "alpha beta " "--to completes directories"

# --- systemd units --------------------------------------------------------------------------
SERVICE="$PREFIX/lib/systemd/system/keysafe-renew.service"
expect_in "ExecStart=$PREFIX/bin/keysafe renew --all --due 30 --key-file" "$(cat "$SERVICE")" "the service runs the installed keysafe renew --all --due 30 with a key file"
expect_in "KEYSAFE_KEY_FILE=" "$(cat "$SERVICE")" "the key file is named in the environment"
expect_in "ProtectSystem=" "$(cat "$SERVICE")" "the service is hardened"
expect_in "OnCalendar=" "$(cat "$PREFIX/lib/systemd/system/keysafe-renew.timer")" "the timer has a schedule"
# The fleet agent: host name and host key from /etc/keysafe/agent.env, no store passphrase.
AGENT="$PREFIX/lib/systemd/system/keysafe-agent.service"
expect_in 'ExecStart='"$PREFIX"'/bin/keysafe agent --host ${KEYSAFE_HOST} --host-key ${KEYSAFE_HOST_KEY} --once' \
  "$(cat "$AGENT")" "the agent service runs the installed keysafe agent --once for the host named in its environment"
expect_in "EnvironmentFile=/etc/keysafe/agent.env" "$(cat "$AGENT")" "the host name and key path come from /etc/keysafe/agent.env"
expect_not_in "KEYSAFE_PASSPHRASE" "$(cat "$AGENT")" "the agent is given no store passphrase"
expect_not_in "KEYSAFE_KEY_FILE=" "$(cat "$AGENT")" "nor the store's key file"
# Hardened like the renew service: every hardening line of it is in the agent's too.
HARDENING=$(grep -E '^(Protect|Private|NoNew|Restrict|Lock|SystemCall|UMask)' "$SERVICE")
[ "$(printf '%s\n' "$HARDENING" | wc -l)" -ge 15 ] && ok || bad "read the renew service's hardening: $HARDENING"
while IFS= read -r line; do
  expect_in "$line" "$(cat "$AGENT")" "the agent service is hardened like the renew service ($line)"
done < <(printf '%s\n' "$HARDENING")
expect_in "OnUnitActiveSec=" "$(cat "$PREFIX/lib/systemd/system/keysafe-agent.timer")" "the agent timer repeats"
expect_in "WantedBy=timers.target" "$(cat "$PREFIX/lib/systemd/system/keysafe-agent.timer")" "the agent timer can be enabled"
# keysafe serve: the installed keysafe execs the installed keysafe-serve (libexec/keysafe/).
[ -x "$PREFIX/libexec/keysafe/keysafe-serve" ] && ok || bad "installed: libexec/keysafe/keysafe-serve"
OUT=$("$PREFIX/bin/keysafe" serve --listen 192.0.2.1:8443 2>&1); RC=$?
expect_rc 2 "the installed keysafe serve runs keysafe-serve, which refuses a non-loopback address"
expect_in "--tls-entry" "$OUT" "the refusal comes from serve's own checks"
SERVE="$PREFIX/lib/systemd/system/keysafe-serve.service"
expect_in "ExecStart=$PREFIX/bin/keysafe serve \$KEYSAFE_SERVE_OPTIONS" "$(cat "$SERVE")" "the serve unit runs the installed keysafe serve"
expect_in "--listen 127.0.0.1:8443" "$(cat "$SERVE")" "the serve unit listens on loopback"
expect_not_in "KEYSAFE_PASSPHRASE" "$(cat "$SERVE")" "the serve unit is given no passphrase"
while IFS= read -r line; do
  expect_in "$line" "$(cat "$SERVE")" "the serve unit is hardened like the renew service ($line)"
done < <(printf '%s\n' "$HARDENING")

V=$(cd "$PREFIX/lib/systemd/system" && systemd-analyze verify --man=no ./keysafe-renew.service ./keysafe-renew.timer \
  ./keysafe-agent.service ./keysafe-agent.timer ./keysafe-serve.service 2>&1)
RC=$?
expect_rc 0 "systemd-analyze verify accepts the units"
expect_not_in "keysafe-" "$V" "systemd-analyze has nothing to say about them: $V"

finish
