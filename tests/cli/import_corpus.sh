# keysafe import end to end.
# 1. Every pkcs12/ and keys/ row of the public corpus manifest into a fresh store, with the row's
#    password (exact bytes from password_hex; <none> = no password at all, <empty> = ""), no
#    terminal: ok rows import their keys; error rows fail cleanly (exit 1..127, a message, store
#    byte-for-byte unchanged; a valid file with a wrong password is exit 3); weak rows are refused
#    (exit 6, store unchanged) unless --allow-weak, and then flagged weak_key; either rows import
#    or fail cleanly, never crash.
# 2. pairs/: a certificate and its key side by side become one installed entry; a certificate
#    beside a key that is not its own is refused (exit 1, "does not match", store unchanged).
# 3. Pairing across imports, certificate-only entries, a pending key's certificate (no store
#    passphrase needed), a 50-certificate bundle, --name, --dry-run, importing twice.
source "$KEYSAFE_TESTS/lib.sh"
MANIFEST="$CORPUS/MANIFEST.tsv"
[ -f "$MANIFEST" ] || { bad "no corpus manifest at $MANIFEST"; finish; exit; }

# ks_in PW ARGS...: keysafe with no terminal and KEYSAFE_IN_PASSPHRASE=PW; PW "<none>" unsets it.
ks_in() {
  local pw=$1; shift
  if [ "$pw" = "<none>" ]; then
    OUT=$(env -u KEYSAFE_IN_PASSPHRASE setsid -w "$KEYSAFE_BIN" "$@" </dev/null 2>"$T/.stderr"); RC=$?
  else
    OUT=$(KEYSAFE_IN_PASSPHRASE="$pw" setsid -w "$KEYSAFE_BIN" "$@" </dev/null 2>"$T/.stderr"); RC=$?
  fi
  ERR=$(<"$T/.stderr")
  return 0
}
# Counts in the pretty-printed (--json) output in $OUT.
count_json() { printf '%s\n' "$OUT" | grep -c -- "$1"; }
# list --json: entries holding a key (state other than no-key), and how many of those are flagged
# weak (a certificate-only entry with a weak public key is flagged too, but holds no key).
store_counts() {
  ks list --json
  ENTRIES=$(count_json '"state": ')
  NOKEY=$(count_json '"state": "no-key"')
  KEYS=$((ENTRIES - NOKEY))
  WEAK=$(printf '%s\n' "$OUT" | awk '/"state": /{s=$2} /"weak_key": true/ && s!="\"no-key\"," {n++} END{print n+0}')
}
clean_failure() {  # DESCRIPTION: a non-zero exit below 128 with a keysafe error message
  if [ "$RC" != 0 ] && [ "$RC" -lt 128 ]; then ok; else bad "$1: expected a clean failure"; fi
  expect_in "keysafe: error:" "$ERR" "$1: an error message"
}
no_crash() { if [ "$RC" -lt 128 ]; then ok; else bad "$1 crashed (signal $((RC - 128)))"; fi; }
# jv EXPR...: Python expressions over d = the JSON in $OUT, one line each, into the array V.
jv() { mapfile -t V < <(printf '%s' "$OUT" | python3 -c 'import json,sys; d=json.load(sys.stdin); [print(eval(e)) for e in sys.argv[1:]]' "$@"); }
state_of() { ks show "$1" --json; jv 'd["state"]'; STATE=${V[0]:-}; }
spki_of_cert() { openssl x509 -in "$1" -noout -pubkey | openssl pkey -pubin -outform DER | sha256sum | cut -d' ' -f1; }

# missing_password: a file that needs a password, imported again without one (no terminal to ask
# on): exit 3, says password, store unchanged. Uses $password, $file, $what.
missing_password() {
  case "$password" in "<none>" | "<empty>") return ;; esac
  local h2
  h2=$(store_hash)
  ks_in "<none>" import "$CORPUS/$file" --allow-weak
  no_crash "$what without a password"
  expect_rc 3 "$what: without the password"
  expect_in "password" "$ERR" "$what without the password: says password"
  expect_eq "$(store_hash)" "$h2" "$what without the password: store unchanged"
}

# =========================== 1. the corpus manifest ================================================
# The manifest in a form `read` keeps empty columns of (tab is whitespace to IFS).
tail -n +2 "$MANIFEST" | tr '\t' '\037' > rows.txt
# Files that open with some password in the manifest: an error row for them is a wrong password.
declare -A OPENS
while IFS=$'\037' read -r file _kind _pw expected _rest; do
  case "$expected" in ok | weak | either) OPENS[$file]=1 ;; esac
done < rows.txt

rows=0
declare -A SEEN
while IFS=$'\037' read -r file _kind password expected note _format password_hex _legacy contents _rest; do
  case "$file" in pkcs12/* | keys/*) ;; *) continue ;; esac
  rows=$((rows + 1)); SEEN[$expected]=$(( ${SEEN[$expected]:-0} + 1 ))
  case "$password" in
    "<none>") pw="<none>" ;;
    "<empty>") pw="" ;;
    *) pw=$(printf "$(printf '%s' "$password_hex" | sed 's/../\\x&/g')") ;;
  esac
  # Keys the file holds: keys=N for PKCS#12, one for a key file.
  case "$contents" in
    keys=*) want_keys=${contents#keys=}; want_keys=${want_keys%%;*} ;;
    *) want_keys=1 ;;
  esac
  what="import $file ($expected, password $password)"
  if [ ! -f "$CORPUS/$file" ]; then bad "$what: missing from the corpus"; continue; fi
  new_store
  h=$(store_hash)
  ks_in "$pw" --json import "$CORPUS/$file"
  no_crash "$what"
  case "$expected" in
    ok)
      if [ "$contents" = "keys=0;certs=0" ]; then
        # An empty keystore (jsafe-empty.p12): the right password opens it, and there is nothing
        # to import. Either an empty success or a clean "nothing in it" is acceptable; a password
        # error is not (that is what the wrong-password row of the same file must give).
        if [ "$RC" = 0 ]; then ok; else
          clean_failure "$what"
          expect_in "nothing" "$ERR" "$what: says the file holds nothing"
          [ "$RC" != 3 ] && ok || bad "$what: the right password reported as wrong"
        fi
        expect_eq "$(store_hash)" "$h" "$what: nothing imported, store unchanged"
        continue
      fi
      expect_rc 0 "$what"
      expect_eq "$(count_json '"private_key": true')" "$want_keys" "$what: import --json reports $want_keys key(s)"
      store_counts
      expect_eq "$KEYS" "$want_keys" "$what: list --json shows $want_keys key entr(ies)"
      expect_eq "$WEAK" "0" "$what: no key flagged weak"
      missing_password
      ;;
    error)
      clean_failure "$what"
      expect_eq "$(store_hash)" "$h" "$what: store unchanged"
      if [ -n "${OPENS[$file]:-}" ]; then
        expect_rc 3 "$what: a valid file with the wrong password"
        expect_in "password" "$ERR" "$what: says password"
      fi
      case "$note" in *"unsupported MAC"*) expect_in "unsupported MAC" "$ERR" "$what: says unsupported MAC" ;; esac
      case "$file" in *.jks) expect_in "Java keystore" "$ERR" "$what: says it is a Java keystore" ;; esac
      ;;
    weak)
      expect_rc 6 "$what: refused by default"
      expect_in "weak" "$ERR" "$what: says weak"
      expect_in "--allow-weak" "$ERR" "$what: names --allow-weak"
      expect_eq "$(store_hash)" "$h" "$what: store unchanged"
      ks_in "$pw" --json import "$CORPUS/$file" --allow-weak
      no_crash "$what --allow-weak"
      expect_rc 0 "$what: --allow-weak imports it"
      expect_in "weak" "$OUT" "$what --allow-weak: a warning"
      expect_eq "$(count_json '"private_key": true')" "$want_keys" "$what --allow-weak: $want_keys key(s)"
      store_counts
      expect_eq "$KEYS" "$want_keys" "$what --allow-weak: list shows $want_keys key entr(ies)"
      expect_eq "$WEAK" "$want_keys" "$what --allow-weak: show/list --json weak_key true"
      if [ "$KEYS" -ge 1 ]; then
        # the first entry with a key (list --json keys are sorted: "name" comes before "state")
        name=$(printf '%s\n' "$OUT" | awk -F'"' '/"name": /{n=$4} /"state": /{if ($4 != "no-key") {print n; exit}}')
        ks show "$name" --json
        expect_in '"weak_key": true' "$OUT" "$what --allow-weak: show --json $name weak_key true"
      fi
      missing_password
      ;;
    either)
      if [ "$RC" = 0 ]; then
        store_counts
        expect_eq "$KEYS" "$want_keys" "$what: imported"
      else
        clean_failure "$what"
        expect_eq "$(store_hash)" "$h" "$what: store unchanged"
      fi
      ;;
    *) bad "$what: unknown expectation '$expected'" ;;
  esac
done < rows.txt
[ "$rows" -ge 60 ] && ok || bad "only $rows pkcs12/keys rows in the manifest"
for e in ok error weak either; do [ "${SEEN[$e]:-0}" -ge 1 ] && ok || bad "no '$e' rows in the manifest"; done

# =========================== 2. pairs/ ==============================================================
for pair in servercert-serverkey ed25519-match; do
  what="pairs/$pair cert+key"
  cat "$CORPUS/pairs/$pair/cert.pem" "$CORPUS/pairs/$pair/key.pem" > $pair.pem
  new_store
  ks import $pair.pem
  expect_rc 0 "$what: imported"
  store_counts
  expect_eq "$ENTRIES $KEYS" "1 1" "$what: one entry, with its key"
  expect_in '"state": "installed"' "$OUT" "$what: installed"
  expect_in "\"spki_sha256\": \"$(spki_of_cert "$CORPUS/pairs/$pair/cert.pem")\"" "$OUT" "$what: the certificate's public key"
done
for pair in servercert-wrongkey alt1cert-alt2key; do
  what="pairs/$pair cert+key"
  cat "$CORPUS/pairs/$pair/cert.pem" "$CORPUS/pairs/$pair/key.pem" > $pair.pem
  new_store
  h=$(store_hash)
  ks import $pair.pem
  expect_rc 1 "$what: refused"
  expect_in "does not match" "$ERR" "$what: says does not match"
  expect_eq "$(store_hash)" "$h" "$what: store unchanged"
  # the key first, then the certificate: the same refusal
  cat "$CORPUS/pairs/$pair/key.pem" "$CORPUS/pairs/$pair/cert.pem" > $pair-rev.pem
  ks import $pair-rev.pem
  expect_rc 1 "$what (key first): refused"
  expect_eq "$(store_hash)" "$h" "$what (key first): store unchanged"
done

# =========================== 3. pairing, names, dry runs, repeats ===================================
make_ca
mkkey() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key" 2>/dev/null
  openssl req -new -key "$1.key" -subj "/CN=$1.example.test" -addext "subjectAltName=DNS:$1.example.test" -out "$1.csr" 2>/dev/null
  sign_csr "$1.csr" "$1.pem" 30; }

# A key alone, then its certificate alone: one entry, installed.
mkkey alpha
new_store
ks import alpha.key --name alpha
expect_rc 0 "key alone"
state_of alpha
expect_eq "$STATE" "pending" "a key alone waits for its certificate"
ks import alpha.pem
expect_rc 0 "then its certificate alone"
store_counts
expect_eq "$ENTRIES" "1" "key then certificate: one entry"
state_of alpha
expect_eq "$STATE" "installed" "key then certificate: installed"
h=$(store_hash)
ks import alpha.key
expect_rc 0 "the same key again"
expect_in "unchanged" "$OUT" "the same key again: unchanged"
ks import alpha.pem
expect_rc 0 "the same certificate again"
expect_in "unchanged" "$OUT" "the same certificate again: unchanged"
expect_eq "$(store_hash)" "$h" "importing them again leaves the store byte-for-byte unchanged"
store_counts
expect_eq "$ENTRIES" "1" "key and certificate imported twice: still one entry"
ks show alpha --json
expect_in '"certificates": 1,' "$OUT" "still one certificate"

# A certificate alone (no-key), then its key: paired, the no-key entry gone.
mkkey beta
new_store
KEYSAFE_PASSPHRASE="" ks import beta.pem
expect_rc 0 "certificate alone, no store passphrase"
store_counts
expect_eq "$ENTRIES $NOKEY" "1 1" "certificate alone: one no-key entry"
state_of beta.example.test
expect_eq "$STATE" "no-key" "the certificate-only entry is named after its CN"
ks export beta.example.test --format pem -o beta-key.pem --yes
[ "$RC" != 0 ] && ok || bad "a no-key entry exported a key"
ks import beta.key
expect_rc 0 "then its key"
expect_in "add-key" "$OUT" "the key pairs with the certificate-only entry"
store_counts
expect_eq "$ENTRIES $NOKEY" "1 0" "certificate then key: one entry, no no-key left"
state_of beta.example.test
expect_eq "$STATE" "installed" "certificate then key: installed"

# A certificate for a pending key made by keysafe create: paired, with no store passphrase.
new_store
ks create gamma --dns gamma.example.test;  expect_rc 0 "create a pending key"
sign_csr gamma.req gamma.pem 30
h=$(store_hash)
KEYSAFE_PASSPHRASE="" ks import gamma.pem --dry-run
expect_rc 0 "dry run of the pending key's certificate"
expect_in "would import" "$OUT" "dry run says would"
expect_eq "$(store_hash)" "$h" "--dry-run changes nothing"
KEYSAFE_PASSPHRASE="" ks import gamma.pem
expect_rc 0 "the pending key's certificate imports without the store passphrase"
expect_in "gamma" "$OUT" "it pairs with gamma"
store_counts
expect_eq "$ENTRIES $NOKEY" "1 0" "one entry, no certificate-only entry"
state_of gamma
expect_eq "$STATE" "installed" "the pending key is now installed"
# the pairing is real: export the key and compare with the certificate
KEYSAFE_OUT_PASSPHRASE=x ks export gamma --format pem -o gamma-out.pem --yes
expect_eq "$(openssl pkey -in gamma-out.pem -passin pass:x -pubout -outform DER 2>/dev/null | sha256sum | cut -d' ' -f1)" \
  "$(spki_of_cert gamma.pem)" "the certificate sits with its own key"

# A PEM bundle of 50 certificates (openssl CLI): 50 certificate-only entries, no passphrase.
: > bundle.pem
for i in $(seq 1 50); do
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null \
    -subj "/CN=bulk$i.example.test" -days 30 2>/dev/null >> bundle.pem
done
expect_eq "$(grep -c 'BEGIN CERTIFICATE' bundle.pem)" "50" "openssl made 50 certificates"
new_store
KEYSAFE_PASSPHRASE="" ks --json import bundle.pem
expect_rc 0 "import a 50-certificate bundle without a store passphrase"
expect_eq "$(count_json '"action": "create"')" "50" "50 entries created"
store_counts
expect_eq "$ENTRIES $NOKEY" "50 50" "50 no-key entries"
expect_in '"name": "bulk37.example.test"' "$OUT" "entries are named after their CN"
h=$(store_hash)
KEYSAFE_PASSPHRASE="" ks --json import bundle.pem
expect_rc 0 "the same bundle again"
expect_eq "$(count_json '"action": "unchanged"')" "50" "the second import changes nothing"
store_counts
expect_eq "$ENTRIES" "50" "no duplicates after importing the bundle twice"

# --name, --dry-run and importing the same PKCS#12 twice.
mkkey delta
openssl pkcs12 -export -inkey delta.key -in delta.pem -certfile ca.pem -name delta-friendly \
  -passout pass:dpass -out delta.p12 2>/dev/null
new_store
h=$(store_hash)
KEYSAFE_IN_PASSPHRASE=dpass ks import delta.p12 --dry-run
expect_rc 0 "--dry-run of a PKCS#12"
expect_in "would import" "$OUT" "--dry-run says would"
expect_eq "$(store_hash)" "$h" "--dry-run leaves the store byte-for-byte unchanged"
ks list --json
expect_eq "$(printf '%s' "$OUT" | tr -d ' \n')" "[]" "--dry-run imported nothing"
KEYSAFE_IN_PASSPHRASE=dpass ks import delta.p12 --name web-delta
expect_rc 0 "import with --name"
state_of web-delta
expect_eq "$STATE" "installed" "--name names the entry"
ks show delta-friendly --json
expect_rc 1 "the friendlyName was not used"
store_counts
expect_eq "$ENTRIES" "1" "the CA certificate went into the chain, not an entry"
h=$(store_hash)
KEYSAFE_IN_PASSPHRASE=dpass ks --json import delta.p12
expect_rc 0 "the same PKCS#12 again"
store_counts
expect_eq "$ENTRIES" "1" "no duplicate entry"
ks show web-delta --json
jv 'd["certificates"]' 'd["state"]'
expect_eq "${V[*]:-}" "1 installed" "no duplicate certificate"
KEYSAFE_IN_PASSPHRASE=wrong ks import delta.p12
expect_rc 3 "wrong password for the PKCS#12"
ks_in "<none>" import delta.p12
expect_rc 3 "no password for the PKCS#12, no terminal"

# without --name: the friendlyName; the password from --in-passphrase-file
new_store
printf 'dpass\n' > delta.pw && chmod 600 delta.pw
ks_in "<none>" import delta.p12 --in-passphrase-file delta.pw
expect_rc 0 "import without --name, password from --in-passphrase-file"
state_of delta-friendly
expect_eq "$STATE" "installed" "the friendlyName names the entry by default"
# --name clash is refused
mkkey eps
ks import eps.key --name delta-friendly
expect_rc 6 "--name of an existing entry is refused"
# a certificate alone with --name
KEYSAFE_PASSPHRASE="" ks import eps.pem --name eps-cert
expect_rc 0 "a certificate alone with --name"
state_of eps-cert
expect_eq "$STATE" "no-key" "--name names a certificate-only entry"
finish
