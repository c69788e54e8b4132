#!/usr/bin/env bash
# Man page and bash completion: on/off flags (--json, --yes, --force) are not shown as taking a
# value, so completion goes on after them; `ca <TAB>` offers the ca subcommands, nested commands
# complete their own options, and `show <TAB>` offers the store's entry names (from
# `keysafe list --json`, no passphrase). Completion runs in an interactive bash (bash -i).
source "${KEYSAFE_TESTS:?KEYSAFE_TESTS must name the tests directory}/lib.sh" || exit 1

# keysafe on PATH under its own name, as completion calls it.
mkdir -p "$T/bin" && ln -s "$KEYSAFE_BIN" "$T/bin/keysafe"
export PATH="$T/bin:$PATH"
ks completion bash
expect_rc 0 "keysafe completion bash"
printf '%s\n' "$OUT" > "$T/completion.bash"

# --- the man page ------------------------------------------------------------------------------
ks help-man
MAN=$OUT
for flag in json yes force verbose all dry-run chain cert-only; do
  expect_not_in "\\-\\-$flag\\fR \\fI" "$MAN" "man: --$flag is a flag, shown without a value"
done
expect_in '\-\-store\fR \fIPATH\fR' "$MAN" "man: --store still shows its value"
expect_in '\-\-days\fR \fIN\fR' "$MAN" "man: --days still shows its value"
for sub in init sign revoke crl list export; do
  expect_in ".SS \"keysafe ca $sub\"" "$MAN" "man: ca $sub has its own section"
done
expect_in '\-\-intermediate\-of\fR \fICA\fR' "$MAN" "man: ca init's options are documented"

# --- completion in an interactive bash -----------------------------------------------------------
# complete_words WORDS...: what completion offers for the last word, sorted, one line.
complete_words() {
  bash --norc --noprofile -i -c '
    source "$1"; shift
    COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
    _keysafe
    [ "${#COMPREPLY[@]}" -gt 0 ] && printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " "' _ "$T/completion.bash" "$@" 2>/dev/null
}
expect_eq "$(bash --norc --noprofile -i -c "source '$T/completion.bash'; complete -p keysafe" 2>/dev/null)" \
  "complete -F _keysafe keysafe" "complete -p keysafe in an interactive bash"

expect_eq "$(complete_words keysafe ca '')" "crl export init list revoke sign trust untrust " "ca <TAB> offers the ca subcommands"
expect_eq "$(complete_words keysafe ca s)" "sign " "ca s<TAB> offers sign"
expect_in "--profile" "$(complete_words keysafe ca sign corp --p)" "ca sign --p<TAB> offers ca sign's options"
expect_in "--issued" "$(complete_words keysafe ca list --)" "ca list --<TAB> offers --issued"
expect_in "--days" "$(complete_words keysafe --json ca init --)" "global flags before nested commands"
expect_eq "$(complete_words keysafe --json del)" "delete " "--json is a flag: del<TAB> after it offers delete"
expect_eq "$(complete_words keysafe --yes --json de)" "delete deploy deployments " "after --yes --json"
expect_in "--chain" "$(complete_words keysafe export --json --ch)" "options after a flag"
expect_in "list" "$(complete_words keysafe help l)" "help <TAB> offers the commands"

# Entry names, from list --json with no passphrase and no terminal.
new_store
ks create www.example.test --dns www.example.test;  expect_rc 0 "create www.example.test"
ks create mail.example.test --dns mail.example.test; expect_rc 0 "create mail.example.test"
ks ca init corp-root;                               expect_rc 0 "ca init corp-root"
# Completion never asks for the passphrase: none is available to it.
unset KEYSAFE_PASSPHRASE
expect_eq "$(complete_words keysafe show '')" "corp-root mail.example.test www.example.test " "show <TAB> offers the entries"
expect_eq "$(complete_words keysafe show w)" "www.example.test " "show w<TAB>"
expect_eq "$(complete_words keysafe --json export m)" "mail.example.test " "export m<TAB> after a flag"
expect_eq "$(complete_words keysafe ca sign c)" "corp-root " "ca sign <TAB> offers the CA (an entry)"
expect_eq "$(complete_words keysafe ca sign corp-root --key w)" "www.example.test " "ca sign --key <TAB> offers entries"
mkdir -p files && touch files/req.csr
expect_eq "$(cd files && complete_words keysafe ca sign corp-root r)" "req.csr " "ca sign CA <TAB> offers files (the request)"
expect_eq "$(complete_words keysafe create w)" "" "create's NAME is a new name: no entries offered"
# --store on the line: the entries of that store.
OTHER=$(store_at other)
KEYSAFE_STORE="$OTHER" KEYSAFE_PASSPHRASE="correct horse battery staple" "$KEYSAFE_BIN" init --kdf-cost 10 >/dev/null 2>&1
KEYSAFE_STORE="$OTHER" KEYSAFE_PASSPHRASE="correct horse battery staple" "$KEYSAFE_BIN" create only-here --dns only-here.test >/dev/null 2>&1
expect_eq "$(complete_words keysafe --store "$OTHER" show '')" "only-here " "show <TAB> with --store lists that store's entries"

finish
