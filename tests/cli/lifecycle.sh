#!/usr/bin/env bash
# End to end: init, create (every key type), request, install, list/show, --expiring,
# renewal and history, global options, store location and passphrase sources.
source "${KEYSAFE_TESTS:?KEYSAFE_TESTS must name the tests directory}/lib.sh" || exit 1

# jload: J[FIELD] = every top-level field of the JSON object in $OUT, formatted as jget does:
# one parse for many checks.
declare -A J
jload() {
  local key value
  J=()
  while IFS=$'\t' read -r key value; do J[$key]=$value; done < <(
    if command -v jq >/dev/null 2>&1; then
      printf '%s' "$OUT" | jq -r 'to_entries[] | "\(.key)\t\(.value | if type == "string" then . else tojson end)"' 2>/dev/null
    else
      printf '%s' "$OUT" | python3 -c '
import json, sys
try:
    d = json.load(sys.stdin)
except ValueError:
    sys.exit(0)
for k, v in (d.items() if isinstance(d, dict) else []):
    print(k + "\t" + (v if isinstance(v, str) else json.dumps(v, separators=(",", ":"))))'
    fi)
}
spki_of_req() { openssl req -in "$1" -noout -pubkey | openssl pkey -pubin -outform DER | sha256sum | cut -d' ' -f1; }
fingerprint_of() { openssl x509 -in "$1" -noout -fingerprint -sha256 | cut -d= -f2 | tr -d : | tr 'A-F' 'a-f'; }
serial_of() { openssl x509 -in "$1" -noout -serial | cut -d= -f2; }
# rfc3339_of CERT startdate|enddate
rfc3339_of() { date -u -d "$(openssl x509 -in "$1" -noout -"$2" | cut -d= -f2)" +%Y-%m-%dT%H:%M:%SZ; }
lower() { printf '%s' "$1" | tr 'A-F' 'a-f'; }
# ca_sign REQ OUT STARTDATE ENDDATE: `openssl ca` with explicit validity (YYYYMMDDHHMMSSZ), so a
# test can make certificates that expired long ago or started before another one.
ca_sign() {
  if [ ! -f "$T/ca.cnf" ]; then
    mkdir -p "$T/cadb" && : >"$T/cadb/index.txt" && echo 1000 >"$T/cadb/serial"
    cat >"$T/ca.cnf" <<EOF
[ ca ]
default_ca = test_ca
[ test_ca ]
dir = $T/cadb
database = \$dir/index.txt
serial = \$dir/serial
new_certs_dir = \$dir
default_md = sha256
policy = policy_any
copy_extensions = copy
unique_subject = no
[ policy_any ]
commonName = supplied
organizationName = optional
countryName = optional
EOF
  fi
  openssl ca -batch -notext -config "$T/ca.cnf" -cert ca.pem -keyfile ca.key -in "$1" -out "$2" \
    -startdate "$3" -enddate "$4" >/dev/null 2>&1 || bad "openssl ca could not sign $1"
}
utc() { date -u -d "$1" +%Y%m%d%H%M%SZ; }

# --- init ---------------------------------------------------------------------------------
store_remove
ks init --kdf-cost 10
expect_rc 0 "init"
expect_in "created keystore" "$OUT" "init reports the new store"
expect_in "test stores only" "$ERR" "init warns about a low --kdf-cost"
JSON_STORE=$(store_at json)
ks --store "$JSON_STORE" --json init --kdf-cost 10
expect_rc 0 "init --json"
expect_eq "$(jget .store)" "$JSON_STORE" "init --json store"
expect_eq "$(jget .kdf.name)/$(jget .kdf.log2_n)/$(jget .kdf.r)/$(jget .kdf.p)" scrypt/10/8/1 "init --json kdf"
case "$(jget .created)" in
  20[0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-5][0-9]Z) ok ;;
  *) bad "init --json created is not RFC 3339 UTC: $(jget .created)" ;;
esac
if on_sqlite; then
  expect_eq "$(stat -c %a "$KEYSAFE_STORE" 2>/dev/null)" 600 "store file mode"
  expect_eq "$(sqlite3 "$KEYSAFE_STORE" 'PRAGMA journal_mode' 2>/dev/null)" wal "store journal mode"
fi
ks_notty list
expect_rc 0 "list on an empty store, no passphrase"
expect_in "the store is empty" "$OUT" "list says the store is empty"
ks_notty list --json
expect_eq "$(jget '. | length')" 0 "list --json on an empty store is an empty array"

# --- create, one entry per key type -----------------------------------------------------------
ALGS="ec-p256 ec-p384 rsa-2048 rsa-3072 rsa-4096 ed25519"
declare -A KEYTEXT=([ec-p256]="prime256v1" [ec-p384]="secp384r1" [rsa-2048]="(2048 bit)"
  [rsa-3072]="(3072 bit)" [rsa-4096]="(4096 bit)" [ed25519]="ED25519")
make_ca
for alg in $ALGS; do
  name="site-$alg"
  ks create "$name" --dns "www.$alg.example" --dns "$alg.example" --ip 192.0.2.10 --key "$alg"
  expect_rc 0 "create $alg"
  expect_in "request written to $name.req" "$OUT" "create $alg names the request file"
  if [ -f "$name.req" ]; then ok; else bad "create $alg wrote no $name.req"; fi
  expect_in "$(printf '%s' "${KEYTEXT[$alg]}")" "$(openssl req -in "$name.req" -noout -text 2>&1)" \
    "the $alg request holds a $alg key"
  expect_eq "$(stat -c %a "$name.req" 2>/dev/null)" 644 "$alg request file mode"
  h=$(store_hash)

  # request -o - is the stored request, identical to the file create wrote.
  ks_notty request "$name" -o -
  expect_rc 0 "request $alg -o - (no passphrase)"
  expect_eq "$OUT" "$(cat "$name.req")" "request $alg -o - equals the file written by create"
  ks_notty request "$name" -o "again-$name.req"
  expect_rc 0 "request $alg -o FILE"
  if cmp -s "again-$name.req" "$name.req"; then ok; else bad "request $alg -o FILE differs from create's file"; fi
  ks_notty request "$name"
  expect_rc 6 "request $alg refuses to overwrite $name.req"

  ks_notty show "$name" --json
  expect_rc 0 "show $alg --json while pending"
  jload
  expect_eq "${J[name]}" "$name" "show $alg name"
  expect_eq "${J[state]}" pending "show $alg state before install"
  expect_eq "${J[key_algorithm]}" "$alg" "show $alg key_algorithm"
  expect_eq "${J[subject]}" "CN=www.$alg.example" "show $alg subject"
  expect_eq "${J[dns]}" "[\"www.$alg.example\",\"$alg.example\"]" "show $alg dns"
  expect_eq "${J[ip]}" '["192.0.2.10"]' "show $alg ip"
  expect_eq "${J[spki_sha256]}" "$(spki_of_req "$name.req")" "show $alg spki_sha256 = openssl's"
  for field in issuer serial not_before not_after days_left fingerprint_sha256 last_backup \
    chain_trusted chain_problem; do
    expect_eq "${J[$field]}" null "show $alg $field is null while pending"
  done
  expect_eq "${J[backed_up]}" false "show $alg backed_up"
  expect_eq "${J[certificates]}" 0 "show $alg certificates while pending"
  case "${J[created]}" in
    [0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]Z) ok ;;
    *) bad "show $alg created is not RFC 3339 UTC: ${J[created]}" ;;
  esac
  expect_eq "$(store_hash)" "$h" "request and show of $alg leave the store unchanged"
done
ks_notty --json request site-ed25519 -o again.req
expect_rc 0 "request --json"
expect_eq "$(jget .name) $(jget .request_file)" "site-ed25519 again.req" "request --json fields"
ks_notty list --json
expect_eq "$(jget '. | length')" 6 "list --json has six entries"
expect_eq "$(jget '.[0].name')" site-ec-p256 "list --json is sorted by name"
expect_eq "$(jget '.[5].state')" pending "list --json state before install"

# --- install (no passphrase), show and list ---------------------------------------------------
for alg in $ALGS; do
  name="site-$alg"
  sign_csr "$name.req" "$name.pem" 90 || bad "openssl could not sign $name.req"
  h=$(store_hash)
  ks_notty install "$name.pem"
  expect_rc 0 "install $alg (no passphrase)"
  expect_in "installed the certificate of \"$name\"" "$OUT" "install $alg names the entry"
  expect_in "NOT verified" "$OUT" "install $alg says the chain is not verified"
  expect_in "keysafe: warning:" "$ERR" "install $alg warns about the untrusted chain"
  expect_in "CN=ca Test Root" "$ERR" "install $alg warning names the missing CA"
  if [ "$h" != "$(store_hash)" ]; then ok; else bad "install $alg did not change the store"; fi

  ks_notty show "$name" --json
  jload
  expect_eq "${J[state]}" installed "show $alg state after install"
  expect_eq "${J[issuer]}" "CN=ca Test Root" "show $alg issuer"
  expect_eq "${J[serial]}" "$(serial_of "$name.pem")" "show $alg serial = openssl's"
  expect_eq "$(lower "${J[fingerprint_sha256]}")" "$(fingerprint_of "$name.pem")" "show $alg fingerprint"
  expect_eq "${J[not_before]}" "$(rfc3339_of "$name.pem" startdate)" "show $alg not_before"
  expect_eq "${J[not_after]}" "$(rfc3339_of "$name.pem" enddate)" "show $alg not_after"
  case "${J[days_left]}" in 89 | 90) ok ;; *) bad "show $alg days_left: ${J[days_left]}" ;; esac
  expect_eq "${J[certificates]}" 1 "show $alg certificates after install"
  expect_eq "${J[chain_trusted]}" false "show $alg chain_trusted"
  if [ "${J[chain_problem]}" != null ]; then ok; else bad "show $alg chain_problem is null"; fi
  expect_eq "${J[spki_sha256]}" "$(spki_of_req "$name.req")" "show $alg spki after install"
  expect_eq "${J[dns]}" "[\"www.$alg.example\",\"$alg.example\"]" "show $alg dns from the certificate"
  expect_eq "${J[last_backup]}" null "show $alg last_backup"
done

# The same certificate again: nothing changes.
h=$(store_hash)
ks_notty install site-ec-p256.pem
expect_rc 0 "installing the same certificate twice"
expect_in "already installed" "$OUT" "second install says already installed"
expect_eq "$(store_hash)" "$h" "second install leaves the store unchanged"
ks_notty show site-ec-p256 --json
expect_eq "$(jget .certificates)" 1 "second install adds no history"

ks_notty show site-rsa-2048
expect_rc 0 "show text"
expect_in "site-rsa-2048" "$OUT" "show text name"
expect_in "installed" "$OUT" "show text state"
expect_in "rsa-2048" "$OUT" "show text key algorithm"
expect_in "CN=ca Test Root" "$OUT" "show text issuer"
expect_in "$(fingerprint_of site-rsa-2048.pem)" "$OUT" "show text fingerprint"
expect_in "www.rsa-2048.example, rsa-2048.example" "$OUT" "show text dns names"
expect_in "192.0.2.10" "$OUT" "show text ip"
expect_in "1 (current and history)" "$OUT" "show text certificate count"

ks_notty list
expect_rc 0 "list text"
expect_in "NAME" "$OUT" "list text header"
expect_eq "$(printf '%s\n' "$OUT" | grep -c '^site-.* installed ')" 6 "list text: six installed rows"
expect_in "$(rfc3339_of site-ed25519.pem enddate)" "$OUT" "list text not after"
expect_in "NEVER" "$OUT" "list text backup column"
ks_notty list --json
expect_eq "$(jget '. | length')" 6 "list --json after install"
for i in 0 1 2 3 4 5; do
  expect_eq "$(jget ".[$i].state")" installed "list --json entry $i state"
done
on_sqlite && expect_eq "$(stat -c %a "$KEYSAFE_STORE")" 600 "the store stays mode 0600"
h=$(store_hash)
ks_notty list
ks_notty list --json
ks_notty show site-ec-p384
ks_notty list --expiring 30
expect_eq "$(store_hash)" "$h" "list and show leave the store unchanged"

# --- --expiring: 0 nothing, 10 expiring, 11 expired -----------------------------------------
ks_notty list --expiring 30
expect_rc 0 "list --expiring 30 with 90-day certificates"
expect_in "nothing expires within 30 days" "$OUT" "list --expiring 30 text"
ks_notty list --expiring 89
expect_rc 0 "list --expiring 89 with 90-day certificates"
ks_notty list --expiring 90
expect_rc 10 "list --expiring 90 with 90-day certificates"
ks_notty list --expiring 100d
expect_rc 10 "list --expiring 100d"
expect_eq "$(printf '%s\n' "$OUT" | grep -c '^site-')" 6 "list --expiring 100d lists all six"
ks_notty list --expiring 100 --json
expect_rc 10 "list --expiring 100 --json"
expect_eq "$(jget '. | length')" 6 "list --expiring 100 --json lists all six"
ks_notty list --expiring 30 --json
expect_rc 0 "list --expiring 30 --json"
expect_eq "$(jget '. | length')" 0 "list --expiring 30 --json is empty"

# A pending entry is never "expiring".
ks create pending-one --dns pending.example
expect_rc 0 "create a pending entry"
ks_notty list --expiring 30
expect_rc 0 "a pending entry does not count as expiring"

# An expired certificate.
ks create old-site --dns old.example
expect_rc 0 "create old-site"
ca_sign old-site.req old-site.pem 20200101000000Z 20200201000000Z
ks_notty install old-site.pem
expect_rc 0 "install an expired certificate"
expect_in "expired on 2020-02-01T00:00:00Z" "$ERR" "install warns that the certificate expired"
ks_notty show old-site --json
expect_eq "$(jget .state)" expired "show state of an expired certificate"
expect_eq "$(jget .not_before)" 2020-01-01T00:00:00Z "show not_before of the expired certificate"
expect_eq "$(jget .not_after)" 2020-02-01T00:00:00Z "show not_after of the expired certificate"
case "$(jget .days_left)" in -[0-9]*) ok ;; *) bad "days_left of an expired certificate: $(jget .days_left)" ;; esac
ks_notty list --expiring 30
expect_rc 11 "list --expiring 30 with an expired certificate"
expect_in "old-site" "$OUT" "list --expiring names the expired entry"
expect_not_in "site-ec-p256" "$OUT" "list --expiring 30 leaves out certificates valid for 90 days"
ks_notty list --expiring 100 --json
expect_rc 11 "expired wins over expiring"
expect_eq "$(jget '. | length')" 7 "list --expiring 100 --json lists expired and expiring"
ks_notty list
expect_rc 0 "plain list exits 0 even with an expired certificate"
expect_in "expired" "$OUT" "list text shows the expired state"
# Times are UTC whatever the local time zone.
TZ=Asia/Tokyo ks_notty show old-site --json
expect_eq "$(jget .not_after)" 2020-02-01T00:00:00Z "not_after is UTC under TZ=Asia/Tokyo"
TZ=America/New_York ks_notty show old-site --json
expect_eq "$(jget .not_before)" 2020-01-01T00:00:00Z "not_before is UTC under TZ=America/New_York"

# A certificate that is not valid yet: installed, with a warning.
ks create future --dns future.example
ca_sign future.req future.pem "$(utc '+5 days')" "$(utc '+95 days')"
ks_notty install future.pem
expect_rc 0 "install a certificate that is not valid yet"
expect_in "not valid before" "$ERR" "install warns that the certificate is not valid yet"

# --- renewal: the newest certificate is current, older ones stay in the history ----------------
ks create renew --dns renew.example --key ec-p384
expect_rc 0 "create renew"
ca_sign renew.req renew-1.pem "$(utc '-2 days')" "$(utc '+60 days')"
ca_sign renew.req renew-0.pem "$(utc '-10 days')" "$(utc '+50 days')"
sign_csr renew.req renew-2.pem 90
ks_notty install renew-1.pem
expect_rc 0 "install the first certificate of renew"
ks_notty install renew-2.pem
expect_rc 0 "install a renewed certificate"
expect_in "kept in the history" "$OUT" "renewal says the previous certificate is kept"
expect_in "$(fingerprint_of renew-1.pem | cut -c1-16)" "$OUT" "renewal names the replaced certificate"
ks_notty install renew-2.pem --json
expect_rc 0 "install --json of the renewed certificate again"
expect_eq "$(jget .already_installed)" true "install --json already_installed"
expect_eq "$(jget .current)" true "install --json: the renewed certificate is current"
ks_notty show renew --json
expect_eq "$(lower "$(jget .fingerprint_sha256)")" "$(fingerprint_of renew-2.pem)" "the renewed certificate is current"
expect_eq "$(jget .certificates)" 2 "history holds two certificates after renewal"
expect_eq "$(jget .not_after)" "$(rfc3339_of renew-2.pem enddate)" "show not_after follows the current certificate"
ks_notty --json install renew-0.pem
expect_rc 0 "install an older certificate after a newer one"
expect_eq "$(jget .current)" false "the older certificate does not become current"
expect_in "stays current" "$ERR" "install of an older certificate warns"
ks_notty show renew --json
expect_eq "$(lower "$(jget .fingerprint_sha256)")" "$(fingerprint_of renew-2.pem)" "the newest certificate stays current"
expect_eq "$(jget .certificates)" 3 "history holds three certificates"
ks_notty install renew-1.pem
expect_rc 0 "re-installing a history certificate"
expect_in "already installed" "$OUT" "a history certificate is already installed"
ks_notty show renew --json
expect_eq "$(lower "$(jget .fingerprint_sha256)")" "$(fingerprint_of renew-2.pem)" "re-install of history leaves the current certificate"

# --- global options after the command name, help, usage errors -----------------------------------
ks_notty show renew --json --store "$KEYSAFE_STORE" --verbose
expect_rc 0 "global options after the command name"
expect_eq "$(jget .name)" renew "--json after the command name"
ks_notty --json --store "$KEYSAFE_STORE" show renew
expect_eq "$(jget .name)" renew "--json and --store before the command name"
printf '%s\n' "$KEYSAFE_PASSPHRASE" >"$T/pass.txt"
chmod 600 "$T/pass.txt"
ks_notty create after-opts --dns after.example --passphrase-file "$T/pass.txt" --json -o after.req
expect_rc 0 "--passphrase-file and --json after the command name"
expect_eq "$(jget .state)" pending "create --json state"
expect_eq "$(jget .request_file)" after.req "create --json request_file"

ks --help
expect_rc 0 "--help"
expect_in "Exit codes" "$OUT" "--help lists exit codes"
for cmd in init create request install list show; do
  ks "$cmd" --help
  expect_rc 0 "$cmd --help"
  expect_in "$cmd" "$OUT" "$cmd --help text"
done
ks --version
expect_rc 0 "--version"
ks list --no-such-option
expect_rc 2 "unknown option"
expect_in "keysafe: error:" "$ERR" "unknown option message"
ks frobnicate
expect_rc 2 "unknown command"
ks
expect_rc 0 "no command: the command list (tests/cli/help.sh)"
ks list --expiring soon
expect_rc 2 "--expiring with a bad number"

# --- where the store is: --store over KEYSAFE_STORE over XDG_DATA_HOME over HOME ---------------
OTHER=$(store_at other) MAIN=$KEYSAFE_STORE
ks --store "$OTHER" init --kdf-cost 10
expect_rc 0 "init --store other"
if KEYSAFE_STORE=$OTHER store_exists; then ok; else bad "--store did not choose the file"; fi
ks_notty list --store "$OTHER"
expect_in "the store is empty" "$OUT" "--store wins over KEYSAFE_STORE"
KEYSAFE_STORE="$OTHER" ks_notty list
expect_in "the store is empty" "$OUT" "KEYSAFE_STORE chooses the store"
KEYSAFE_STORE="$OTHER" ks_notty list --store "$MAIN"
expect_in "site-ec-p256" "$OUT" "--store wins over KEYSAFE_STORE (other way round)"

saved_store=$KEYSAFE_STORE
unset KEYSAFE_STORE
mkdir -p "$T/home"
XDG_DATA_HOME="$T/xdg" HOME="$T/home" ks init --kdf-cost 10
expect_rc 0 "init with only XDG_DATA_HOME"
if [ -f "$T/xdg/keysafe/keystore.db" ]; then ok; else bad "init did not use \$XDG_DATA_HOME/keysafe/keystore.db"; fi
expect_eq "$(stat -c %a "$T/xdg/keysafe" 2>/dev/null)" 700 "the directory init made for the store is private"
expect_eq "$(stat -c %a "$T/xdg/keysafe/keystore.db" 2>/dev/null)" 600 "XDG store mode"
XDG_DATA_HOME="$T/xdg" HOME="$T/home" ks create xdg-entry --dns xdg.example
expect_rc 0 "create in the XDG store"
XDG_DATA_HOME="$T/xdg" ks_notty show xdg-entry
expect_rc 0 "show finds the entry in the XDG store"
KEYSAFE_STORE="" XDG_DATA_HOME="$T/xdg" ks_notty show xdg-entry
expect_rc 0 "an empty KEYSAFE_STORE falls back to XDG_DATA_HOME"
env -u XDG_DATA_HOME HOME="$T/home" "$KEYSAFE_BIN" init --kdf-cost 10 >/dev/null 2>&1
if [ -f "$T/home/.local/share/keysafe/keystore.db" ]; then ok; else bad "without XDG_DATA_HOME the store is not under \$HOME/.local/share/keysafe"; fi
XDG_DATA_HOME="$T/xdg" KEYSAFE_STORE="$saved_store" ks_notty show xdg-entry
expect_rc 1 "KEYSAFE_STORE wins over XDG_DATA_HOME"
export KEYSAFE_STORE=$saved_store

# --- passphrase sources -----------------------------------------------------------------------
PW=$(store_at pw)
ks --store "$PW" init --kdf-cost 10 --weak-passphrase --passphrase-file /dev/stdin <<<"pw"
expect_rc 0 "init with the passphrase from a file (\"pw\\n\")"
printf 'pw\n' >"$T/pw-nl.txt"
printf 'pw' >"$T/pw-plain.txt"
printf 'pw\n\n' >"$T/pw-2nl.txt"
: >"$T/pw-empty.txt"
chmod 600 "$T"/pw-*.txt  # passphrase files readable by others are refused (tests/cli/small_things.sh)
KEYSAFE_PASSPHRASE=pw ks --store "$PW" create from-env --dns env.example
expect_rc 0 "a store made with pw\\n from a file opens with KEYSAFE_PASSPHRASE=pw"
ks_notty --store "$PW" create from-file --dns file.example --passphrase-file "$T/pw-nl.txt"
expect_rc 0 "--passphrase-file: one trailing newline is stripped"
ks_notty --store "$PW" create from-plain --dns plain.example --passphrase-file "$T/pw-plain.txt"
expect_rc 0 "--passphrase-file without a newline"
h=$(KEYSAFE_STORE=$PW store_hash)
ks_notty --store "$PW" create two-nl --dns two.example --passphrase-file "$T/pw-2nl.txt"
expect_rc 3 "--passphrase-file strips only one newline"
ks_notty --store "$PW" create empty-pass --dns empty.example --passphrase-file "$T/pw-empty.txt"
expect_rc 2 "an empty passphrase file"
expect_in "empty" "$ERR" "empty passphrase file message"
ks_notty --store "$PW" create no-file --dns nofile.example --passphrase-file "$T/no-such-file"
expect_rc 1 "a missing passphrase file"
expect_in "passphrase file" "$ERR" "missing passphrase file message"
expect_eq "$(KEYSAFE_STORE=$PW store_hash)" "$h" "failed passphrase reads leave the store unchanged"
ks_notty --store "$PW" create from-fd --dns fd.example --passphrase-fd 3 3<"$T/pw-nl.txt"
expect_rc 0 "--passphrase-fd 3"
env -u KEYSAFE_PASSPHRASE "$KEYSAFE_BIN" --store "$PW" create from-stdin --dns stdin.example \
  --passphrase-fd 0 <<<"pw" >/dev/null 2>&1
RC=$?
expect_rc 0 "--passphrase-fd 0 from a pipe"
head -c 5000 /dev/zero | tr '\0' p >"$T/pw-long.txt"
chmod 600 "$T/pw-long.txt"
ks_notty --store "$PW" create too-long --dns long.example --passphrase-file "$T/pw-long.txt"
expect_rc 2 "a passphrase over 4096 bytes"
expect_in "too long" "$ERR" "a passphrase over 4096 bytes is called too long"
KEYSAFE_PASSPHRASE=wrong ks --store "$PW" create file-first --dns first.example --passphrase-file "$T/pw-nl.txt"
expect_rc 0 "--passphrase-file wins over KEYSAFE_PASSPHRASE"
KEYSAFE_PASSPHRASE=pw ks --store "$PW" create env-wrong --dns envw.example --passphrase-file "$T/pw-2nl.txt"
expect_rc 3 "--passphrase-file is used even when KEYSAFE_PASSPHRASE is right"
ks_notty --store "$PW" list
expect_eq "$(printf '%s\n' "$OUT" | grep -cE '^(from-env|from-file|from-plain|from-fd|from-stdin|file-first) ')" 6 "every created entry is listed"

# No passphrase and no terminal: a usage error that says how to give one.
h=$(KEYSAFE_STORE=$PW store_hash)
ks_notty --store "$PW" create no-pass --dns nopass.example
expect_rc 2 "create with no passphrase and no terminal"
expect_in "--passphrase-file" "$ERR" "the message names --passphrase-file"
expect_in "no terminal" "$ERR" "the message says there is no terminal"
expect_eq "$(KEYSAFE_STORE=$PW store_hash)" "$h" "the store is unchanged without a passphrase"
if [ ! -e no-pass.req ]; then ok; else bad "a request was written without a passphrase"; fi
NOPASS=$(store_at nopass)
ks_notty --store "$NOPASS" init --kdf-cost 10
expect_rc 2 "init with no passphrase and no terminal"
if ! KEYSAFE_STORE=$NOPASS store_exists; then ok; else bad "init without a passphrase left a file behind"; fi

finish
