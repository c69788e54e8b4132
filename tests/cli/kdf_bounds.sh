# Key-derivation parameters read from a file are bounded before any derivation: a crafted store
# header (exit 4), backup header (exit 1), PKCS#12 file and encrypted PKCS#8 key (exit 1) are
# refused with "key derivation parameters out of range", naming them, in under a second of CPU
# and under 100 MB of memory (measured with /usr/bin/time), and nothing changes.
source "$KEYSAFE_TESTS/lib.sh"
TIME=/usr/bin/time
[ -x "$TIME" ] || { echo "SKIP: /usr/bin/time is not installed (Debian package time)"; exit 77; }
DER_SET_INTEGER="$KEYSAFE_TESTS/tools/der_set_integer.py"
export KEYSAFE_OUT_PASSPHRASE="backup pass" KEYSAFE_IN_PASSPHRASE="backup pass"

# measured ARGS...: ks under /usr/bin/time (and a 60 s cap, so that a missing bound fails the
# test rather than hanging it); sets RC, OUT, ERR, MEM_KB and CPU_MS.
measured() {
  OUT=$(timeout 60 "$TIME" -f '%M %U %S' -o "$T/.time" "$KEYSAFE_BIN" "$@" 2>"$T/.stderr"); RC=$?
  ERR=$(cat "$T/.stderr")
  read -r MEM_KB user sys < <(tail -1 "$T/.time" 2>/dev/null || echo "999999999 99 99")
  CPU_MS=$(python3 -c "print(int(1000 * ($user + $sys)))" 2>/dev/null || echo 99999)
}
# cheap DESCRIPTION: the last measured run stayed under 1 s of CPU and 100 MB.
cheap() {
  [ "${MEM_KB:-999999999}" -lt 100000 ] && ok || bad "$1: peak memory ${MEM_KB} kB (at most 100000)"
  [ "${CPU_MS:-99999}" -lt 1000 ] && ok || bad "$1: ${CPU_MS} ms of CPU (at most 1000)"
}
refused() {  # refused EXIT DESCRIPTION WORD...: exit code, the message and the named values
  local rc=$1 what=$2; shift 2
  expect_rc "$rc" "$what is refused"
  expect_in "key derivation parameters out of range" "$ERR" "$what: says out of range"
  for word in "$@"; do expect_in "$word" "$ERR" "$what: names $word"; done
  cheap "$what"
}

new_store
ks create www --dns www.example.test; expect_rc 0 "create www"

# --- the store header ----------------------------------------------------------------------
# set_header COLUMN VALUE: writes a header field and recomputes its checksum (plain SHA-256,
# docs/FORMAT.md), so that the bound, not the checksum, refuses the store. SQLite: python3's
# sqlite3 module; PostgreSQL: psql, the checksum computed by python3 from the same fields.
set_header() {
  if on_sqlite; then
  python3 - "$KEYSAFE_STORE" "$1" "$2" <<'PY'
import hashlib, sqlite3, struct, sys
db = sqlite3.connect(sys.argv[1])
db.execute(f"UPDATE store_header SET {sys.argv[2]} = ? WHERE id = 1", (int(sys.argv[3]),))
sid, kdf, n, r, p, salt, wrapped, created = db.execute(
    "SELECT store_id, kdf, kdf_log2_n, kdf_r, kdf_p, kdf_salt, wrapped_data_key, created_at "
    "FROM store_header WHERE id = 1").fetchone()
field = lambda b: struct.pack(">I", len(b)) + b
buf = (field(b"keysafe-header-v1") + field(sid) + field(kdf.encode()) + struct.pack(">III", n, r, p)
       + field(salt) + field(wrapped) + struct.pack(">Q", created))
db.execute("UPDATE store_header SET checksum = ? WHERE id = 1", (hashlib.sha256(buf).digest(),))
db.commit()
PY
  else
    store_sql "UPDATE store_header SET $1 = $2 WHERE id = 1" >/dev/null
    local sum
    sum=$(store_sql "SELECT encode(store_id, 'hex'), kdf, kdf_log2_n, kdf_r, kdf_p, encode(kdf_salt, 'hex'),
        encode(wrapped_data_key, 'hex'), created_at FROM store_header WHERE id = 1" | python3 -c '
import hashlib, struct, sys
sid, kdf, n, r, p, salt, wrapped, created = sys.stdin.read().strip().split("|")
field = lambda b: struct.pack(">I", len(b)) + b
buf = (field(b"keysafe-header-v1") + field(bytes.fromhex(sid)) + field(kdf.encode())
       + struct.pack(">III", int(n), int(r), int(p)) + field(bytes.fromhex(salt))
       + field(bytes.fromhex(wrapped)) + struct.pack(">Q", int(created)))
print(hashlib.sha256(buf).hexdigest())')
    store_sql "UPDATE store_header SET checksum = '\\x$sum' WHERE id = 1" >/dev/null
  fi
}
store_copy good
for crafted in "kdf_r 1048576 r = 1048576 memory" "kdf_p 65536 p = 65536 work" \
               "kdf_log2_n 40 N = 1099511627776 memory"; do
  set -- $crafted
  store_copy_back good
  set_header "$1" "$2"
  h=$(store_hash)
  measured backup --all -o store-$1.kbk --kdf-cost 10 --yes
  refused 4 "a store header with $1 = $2" "$3 $4 $5" "$6" "the keystore"
  [ -e store-$1.kbk ] && bad "no backup is written from a refused store ($1)" || ok
  measured list
  refused 4 "list on a store header with $1 = $2" "$3 $4 $5"
  expect_eq "$(store_hash)" "$h" "the refused store is unchanged ($1)"
done
# The checksum still guards the header: the same change without recomputing it is damage.
store_copy_back good
if on_sqlite; then
  python3 -c 'import sqlite3,sys; d=sqlite3.connect(sys.argv[1]); d.execute("UPDATE store_header SET kdf_log2_n = 11"); d.commit()' "$KEYSAFE_STORE"
else
  store_sql "UPDATE store_header SET kdf_log2_n = 11" >/dev/null
fi
ks backup --all -o x.kbk --kdf-cost 10 --yes
expect_rc 4 "a header changed within the bounds fails its checksum"
expect_in "damaged" "$ERR" "says damaged"
store_copy_back good

# --- backups -------------------------------------------------------------------------------
ks backup --all -o good.kbk --kdf-cost 10 --yes; expect_rc 0 "a backup to craft from"
h=$(store_hash)
# The largest value of every field (uint32), then what the old limits allowed (16 GiB).
sed '2s/"log2_n":[0-9]*/"log2_n":4294967295/; 2s/"r":[0-9]*/"r":4294967295/; 2s/"p":[0-9]*/"p":4294967295/' good.kbk > max.kbk
measured restore max.kbk
refused 1 "a backup with every KDF field at its maximum" "N = 2^4294967295" "the backup"
sed '2s/"log2_n":[0-9]*/"log2_n":22/; 2s/"r":[0-9]*/"r":32/; 2s/"p":[0-9]*/"p":16/' good.kbk > old-limits.kbk
measured restore old-limits.kbk
refused 1 "a backup at the old limits (N = 2^22, r = 32, p = 16)" "r = 32" "16 GiB of memory"
expect_eq "$(store_hash)" "$h" "the store is unchanged after the refused backups"

# --- PKCS#12 and encrypted PKCS#8 ----------------------------------------------------------
openssl req -x509 -newkey rsa:2048 -nodes -keyout imp.key -out imp.pem -subj "/CN=imported.example.test" -days 30 2>/dev/null
# Made with a marker count of 2049 (all three derivations: MAC, certificate safe, key bag),
# then set to 2^31-1, which would take hours to derive honestly.
openssl pkcs12 -export -inkey imp.key -in imp.pem -passout "pass:$KEYSAFE_IN_PASSPHRASE" -iter 2049 -out marker.p12
python3 "$DER_SET_INTEGER" marker.p12 all-max.p12 2049 2147483647 >/dev/null || bad "crafting all-max.p12"
measured import all-max.p12
refused 1 "PKCS#12 with 2^31-1 iterations" "2147483647" "integrity check" "all-max.p12"
# The MAC at one iteration, the encrypted certificate safe at 2^31-1.
openssl pkcs12 -export -inkey imp.key -in imp.pem -passout "pass:$KEYSAFE_IN_PASSPHRASE" -iter 2049 -nomaciter -out marker-nomac.p12
python3 "$DER_SET_INTEGER" marker-nomac.p12 safe-max.p12 2049 2147483647 >/dev/null || bad "crafting safe-max.p12"
measured import safe-max.p12
refused 1 "a PKCS#12 encrypted safe with 2^31-1 PBKDF2 iterations" "safe 1" "PBKDF2 with 2147483647 iterations"
# Certificates in clear: only the shrouded key bag (in a plain safe) asks for the count.
openssl pkcs12 -export -inkey imp.key -in imp.pem -passout "pass:$KEYSAFE_IN_PASSPHRASE" -iter 2049 -nomaciter -certpbe NONE -out marker-key.p12
python3 "$DER_SET_INTEGER" marker-key.p12 keybag-max.p12 2049 2147483647 >/dev/null || bad "crafting keybag-max.p12"
measured import keybag-max.p12
refused 1 "a PKCS#12 shrouded key bag with 2^31-1 iterations" "bag 1" "2147483647"
# Legacy PKCS#12 PBE (3DES, RFC 7292 Appendix C) counts the same way.
openssl pkcs12 -export -inkey imp.key -in imp.pem -passout "pass:$KEYSAFE_IN_PASSPHRASE" -iter 2049 -nomaciter -certpbe NONE -keypbe PBE-SHA1-3DES -out marker-3des.p12
python3 "$DER_SET_INTEGER" marker-3des.p12 3des-max.p12 2049 2147483647 >/dev/null || bad "crafting 3des-max.p12"
measured import 3des-max.p12
refused 1 "a PKCS#12 3DES key bag with 2^31-1 iterations" "2147483647"
# Encrypted PKCS#8: PBKDF2 iterations, scrypt memory (r) and work (p).
python3 "$DER_SET_INTEGER" <(openssl pkcs8 -topk8 -in imp.key -v2 aes-256-cbc -iter 2049 -passout "pass:$KEYSAFE_IN_PASSPHRASE" -outform DER) pbkdf2-max.p8 2049 2147483647 >/dev/null || bad "crafting pbkdf2-max.p8"
measured import pbkdf2-max.p8
refused 1 "an encrypted PKCS#8 key with 2^31-1 PBKDF2 iterations" "PBKDF2 with 2147483647 iterations" "pbkdf2-max.p8"
openssl pkcs8 -topk8 -in imp.key -scrypt -scrypt_N 1024 -scrypt_r 9 -scrypt_p 1 -passout "pass:$KEYSAFE_IN_PASSPHRASE" -outform DER -out marker-scrypt.p8
python3 "$DER_SET_INTEGER" marker-scrypt.p8 scrypt-r.p8 9 1048576 >/dev/null || bad "crafting scrypt-r.p8"
measured import scrypt-r.p8
refused 1 "an encrypted PKCS#8 key with scrypt r = 2^20" "r = 1048576" "128 GiB of memory"
openssl pkcs8 -topk8 -in imp.key -scrypt -scrypt_N 1024 -scrypt_r 8 -scrypt_p 3 -passout "pass:$KEYSAFE_IN_PASSPHRASE" -outform DER -out marker-scrypt-p.p8
python3 "$DER_SET_INTEGER" marker-scrypt-p.p8 scrypt-p.p8 3 1048576 >/dev/null || bad "crafting scrypt-p.p8"
measured import scrypt-p.p8
refused 1 "an encrypted PKCS#8 key with scrypt p = 2^20" "p = 1048576" "units of work"
expect_eq "$(store_hash)" "$h" "the store is unchanged after the refused imports"

# The same files at ordinary counts still import (the bound refuses only the costly ones).
ks import marker.p12 --name ok-p12;         expect_rc 0 "the marker PKCS#12 (2049 iterations) imports"
ks import marker-scrypt.p8 --name ok-p8;    expect_rc 0 "the marker scrypt PKCS#8 imports"
finish
