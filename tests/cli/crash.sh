# Crash safety: create, install, import, backup, delete and restore run against one store in a
# child process that is killed with SIGKILL at a random moment, again and again (at least
# KEYSAFE_CRASH_KILLS times, 200 by default). After every kill the store must open, `check`
# (with the passphrase: every sealed key opens and matches) must find nothing damaged, and every
# operation that exited 0 before must still be there: entries created or imported are listed,
# installed certificates are current, backups are recorded, deleted entries stay deleted and
# restored entries are back. The kill moment is drawn uniformly over the measured duration of
# the operation, so kills land in every phase (startup, KDF, transaction, fsync, exit).
source "$KEYSAFE_TESTS/lib.sh"
export KEYSAFE_OUT_PASSPHRASE="backup pass" KEYSAFE_IN_PASSPHRASE="backup pass"
require_tool jq jq
TARGET=${KEYSAFE_CRASH_KILLS:-200}
LIMIT=${KEYSAFE_CRASH_SECONDS:-540}   # a hard stop so a hung run cannot eat the CI budget
new_store
make_ca
START=$SECONDS
KILLS=0
COMPLETED=0
declare -A KILLS_BY=() DUR=()
declare -A PRESENT=()   # name -> "pending" | "installed" (a successful create/import/install/restore)
declare -A FPR=()       # name -> fingerprint of the installed certificate
declare -A BACKED=()    # name -> 1 once a backup of it exited 0
declare -A GONE=()      # name -> 1 between a successful delete and the first restore attempt

now_ms() { local s; s=$EPOCHREALTIME; echo $(( ${s%.*} * 1000 + 10#${s#*.} / 1000 )); }

# attempt KIND ARGS...: runs keysafe in the background and kills it after a random delay drawn
# over 1.2 times the operation's measured duration. Sets RC (137 when the kill landed) and KILLED.
attempt() {
  local kind=$1; shift
  local delay t0 pid
  if [ -z "${DUR[$kind]:-}" ]; then
    # The first run of each operation is not killed: it measures how long the operation takes.
    t0=$(now_ms)
    "$KEYSAFE_BIN" "$@" >"$T/.out" 2>"$T/.err"; RC=$?
    DUR[$kind]=$(( $(now_ms) - t0 + 1 ))
    OUT=$(<"$T/.out"); ERR=$(<"$T/.err"); KILLED=0; COMPLETED=$((COMPLETED + 1))
    return
  fi
  delay=$(( RANDOM % (DUR[$kind] * 6 / 5 + 1) ))
  "$KEYSAFE_BIN" "$@" >"$T/.out" 2>"$T/.err" &
  pid=$!
  sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
  kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null; RC=$?
  OUT=$(<"$T/.out"); ERR=$(<"$T/.err")
  if [ "$RC" = 137 ]; then
    KILLED=1; KILLS=$((KILLS + 1)); KILLS_BY[$kind]=$(( ${KILLS_BY[$kind]:-0} + 1 ))
    verify "after killing $kind ($*) at ${delay} ms"
  else
    KILLED=0; COMPLETED=$((COMPLETED + 1))
  fi
}

# run KIND ARGS...: repeats the operation under random kills until it exits without being killed;
# then it must have succeeded.
run() {
  local kind=$1
  while :; do
    attempt "$@"
    [ "$KILLED" = 1 ] || break
  done
  expect_rc 0 "$kind ${*:2} (not killed)"
}

LISTING=""
# verify WHEN: the store opens, check is clean, and every acknowledged operation is present.
verify() {
  local when=$1 name line
  ks check
  if [ "$RC" != 0 ]; then bad "check $when"; return; fi
  ok
  expect_in "no damage" "$OUT" "check reports no damage $when"
  ks list --json
  if [ "$RC" != 0 ]; then bad "list $when"; return; fi
  LISTING=$(printf '%s' "$OUT" | jq -r '.[] | "\(.name) \(.state) \(.fingerprint_sha256) \(.last_backup)"')
  # One pass over the listing into a lookup table: no process per entry, so a verify costs the
  # same however many entries earlier rounds left.
  local -A row=()
  local n st fp lb
  while read -r n st fp lb; do [ -n "$n" ] && row[$n]="$st $fp $lb"; done <<<"$LISTING"
  for name in "${!PRESENT[@]}"; do
    line=${row[$name]:-}
    if [ -z "$line" ]; then bad "$name (acknowledged) is missing $when"; continue; fi
    read -r st fp lb <<<"$line"
    if [ "${PRESENT[$name]}" = installed ]; then
      [ "$st" = installed ] && [ "$fp" = "${FPR[$name]}" ] && ok ||
        bad "$name lost its installed certificate $when: $name $line"
    fi
    if [ -n "${BACKED[$name]:-}" ]; then
      [ "$lb" != null ] && ok || bad "$name lost its recorded backup $when: $name $line"
    fi
  done
  for name in "${!GONE[@]}"; do
    [ -z "${row[$name]:-}" ] && ok || bad "$name was deleted (acknowledged) but is back $when"
  done
}

has_entry() { ks list --json; printf '%s' "$OUT" | jq -e --arg n "$1" 'any(.[]; .name == $n)' >/dev/null; }
fingerprint() { openssl x509 -in "$1" -noout -fingerprint -sha256 | cut -d= -f2 | tr -d : | tr 'A-F' 'a-f'; }

round=0
while [ "$KILLS" -lt "$TARGET" ] && [ $((SECONDS - START)) -lt "$LIMIT" ]; do
  round=$((round + 1)); c=c$round; i=i$round
  # create: a killed create either left a complete entry or nothing.
  while :; do
    attempt create create "$c" --dns "$c.example.test" -o "$c.req" --force
    if [ "$KILLED" = 0 ]; then expect_rc 0 "create $c"; break; fi
    if has_entry "$c"; then ks request "$c" -o "$c.req" --force; expect_rc 0 "request $c after a killed create"; break; fi
  done
  PRESENT[$c]=pending
  openssl x509 -req -in "$c.req" -CA ca.pem -CAkey ca.key -set_serial "$round" -days 90 \
    -copy_extensions copyall -out "$c.cer" 2>/dev/null
  run install install "$c.cer" --ca-file ca.pem
  PRESENT[$c]=installed; FPR[$c]=$(fingerprint "$c.cer")

  # import: a key and its certificate made by openssl.
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$i.key" \
    -out "$i.pem" -subj "/CN=$i.example.test" -days 90 2>/dev/null
  cat "$i.key" "$i.pem" > "$i.bundle"
  while :; do
    attempt import import "$i.bundle" --name "$i"
    if [ "$KILLED" = 0 ]; then expect_rc 0 "import $i"; break; fi
    has_entry "$i" && break
  done
  PRESENT[$i]=installed; FPR[$i]=$(fingerprint "$i.pem")

  run backup backup "$c" "$i" -o "b$round.kbk" --yes --force --kdf-cost 10
  BACKED[$c]=1; BACKED[$i]=1

  # delete then restore the certificate entry from its backup. While the delete runs, the
  # entry may or may not be there; once it exited 0 it must stay gone until restored.
  unset "PRESENT[$c]" "BACKED[$c]"
  while :; do
    attempt delete delete "$c" --force
    if [ "$KILLED" = 0 ]; then expect_rc 0 "delete $c"; break; fi
    has_entry "$c" || break
  done
  GONE[$c]=1
  verify "after deleting $c"
  unset "GONE[$c]"
  run restore restore "b$round.kbk"
  PRESENT[$c]=installed; BACKED[$c]=1
done

verify "at the end"
ks audit --verify
expect_rc 0 "the audit chain is intact after $KILLS kills"
elapsed=$((SECONDS - START))
by=""; for k in "${!KILLS_BY[@]}"; do by+=" $k=${KILLS_BY[$k]}"; done
echo "crash: $KILLS kills ($by ) and $COMPLETED completed operations in $round rounds, ${elapsed} s; ${#PRESENT[@]} entries"
if [ "$KILLS" -ge "$TARGET" ]; then ok; else bad "only $KILLS kills in ${LIMIT} s (need $TARGET)"; fi
finish
