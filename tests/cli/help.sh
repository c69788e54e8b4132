#!/usr/bin/env bash
# Help and typos: bare `keysafe` and `keysafe help` print the command list grouped as --help
# does (exit 0), `keysafe help CMD` is `keysafe CMD --help`, and a word that names no command
# says so and suggests the nearest one (exit 2).
source "${KEYSAFE_TESTS:?KEYSAFE_TESTS must name the tests directory}/lib.sh" || exit 1

ks --help
HELP=$OUT
expect_rc 0 "keysafe --help"
for heading in "Keys and certificates:" "Backup and recovery:" "Local certificate authorities:" \
  "Deployment:" "Store and monitoring:"; do
  expect_in "$heading" "$HELP" "--help lists the commands under \"$heading\""
done
expect_not_in "Subcommands:" "$HELP" "no ungrouped command list"
expect_not_in "Other commands:" "$HELP" "every command of this build has a group"

ks
expect_rc 0 "bare keysafe"
expect_eq "$OUT" "$HELP" "bare keysafe prints the --help command list"
expect_eq "$ERR" "" "bare keysafe prints no error"
ks help
expect_rc 0 "keysafe help"
expect_eq "$OUT" "$HELP" "keysafe help prints the --help command list"
ks --store "$T/elsewhere.db"
expect_rc 0 "keysafe with only global options"
expect_in "Keys and certificates:" "$OUT" "keysafe --store X prints the command list"

# keysafe help CMD [SUB] = keysafe CMD [SUB] --help
for words in "list" "export" "ca" "ca sign" "deploy"; do
  # shellcheck disable=SC2086
  ks $words --help; WANT=$OUT
  # shellcheck disable=SC2086
  ks help $words
  expect_rc 0 "keysafe help $words"
  expect_eq "$OUT" "$WANT" "keysafe help $words = keysafe $words --help"
done
ks help ca sign
expect_in "Usage: keysafe ca sign" "$OUT" "the nested help names the whole command"
ks ca
expect_rc 0 "keysafe ca without its subcommand"
expect_in "init" "$OUT" "keysafe ca lists its subcommands"
expect_in "revoke" "$OUT" "keysafe ca lists revoke"

# Typos: the nearest command, exit 2, nothing on standard output.
check_typo() {  # WORDS... -- EXPECTED-UNKNOWN EXPECTED-GUESS
  local args=() unknown guess
  while [ "$1" != -- ]; do args+=("$1"); shift; done
  unknown=$2 guess=$3
  ks "${args[@]}"
  expect_rc 2 "keysafe ${args[*]}"
  expect_in "unknown command \"$unknown\"" "$ERR" "keysafe ${args[*]} names the unknown command"
  if [ -n "$guess" ]; then
    expect_in "did you mean \"$guess\"?" "$ERR" "keysafe ${args[*]} suggests $guess"
  else
    expect_not_in "did you mean" "$ERR" "keysafe ${args[*]} suggests nothing"
  fi
  case " ${args[*]} " in
    *" --json "*) expect_eq "$(jget .error.code)" "usage" "keysafe ${args[*]}: the JSON error" ;;
    *) expect_eq "$OUT" "" "keysafe ${args[*]} writes nothing on standard output" ;;
  esac
}
check_typo lsit -- lsit list
check_typo lst -- lst list
check_typo isntall www -- isntall install
check_typo --store "$T/x.db" delte www -- delte delete
check_typo deploymnets -- deploymnets deployments
check_typo calender -- calender calendar
check_typo ca lsit -- "ca lsit" "ca list"
check_typo ca --json sgin x -- "ca sgin" "ca sign"
check_typo help lsit -- lsit list
check_typo xyzzy -- xyzzy ""
expect_in "keysafe help" "$ERR" "an unknown command points to keysafe help"
[ ! -e "$T/x.db" ] && ok || bad "a typo created no store"

# An unknown command with --json: the error as JSON too.
ks lsit --json
expect_rc 2 "keysafe lsit --json"
expect_eq "$(jget .error.exit_code)" "2" "the JSON error carries exit code 2"

# Words after a command are its arguments, never taken for commands.
new_store
ks show lsit
expect_rc 1 "keysafe show lsit is show's business" 
expect_not_in "unknown command" "$ERR" "an entry name is not taken for a command"
ks --version
expect_rc 0 "keysafe --version"
expect_in "keysafe 0." "$OUT" "--version still prints the version"

finish
