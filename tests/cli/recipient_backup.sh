# Recipient backups are CMS AuthEnvelopedData with AES-256-GCM (RFC 5083/5084): openssl cms
# opens them, a byte altered in the nonce, the encrypted content or the tag is refused by
# restore (store unchanged), and old EnvelopedData (AES-256-CBC) backups still restore.
source "$KEYSAFE_TESTS/lib.sh"

new_store
make_ca
ks create www --dns www.example.test;                 expect_rc 0 "create www"
sign_csr www.req www.cer 90
ks install www.cer --ca-file ca.pem;                  expect_rc 0 "install www"
ks create api --dns api.example.test --key rsa-2048;  expect_rc 0 "create api"

# field_offset FILE PATTERN [AFTER]: the offset of the first content byte of the first
# `openssl asn1parse` element matching PATTERN that comes after the element matching AFTER.
field_offset() {
  openssl asn1parse -inform DER -in "$1" | awk -v pat="$2" -v after="${3:-}" '
    after != "" && index($0, after) { seen = 1; next }
    (after == "" || seen) && index($0, pat) {
      split($0, a, ":"); off = a[1] + 0
      match($0, /hl=[ ]*[0-9]+/); hl = substr($0, RSTART + 3, RLENGTH - 3) + 0
      match($0, / l=[ ]*[0-9]+/); l = substr($0, RSTART + 3, RLENGTH - 3) + 0
      print off + hl, l; exit }'
}
# flip FILE OFFSET OUT: OUT is FILE with the byte at OFFSET inverted.
flip() {
  python3 -c 'import sys; d = bytearray(open(sys.argv[1], "rb").read()); d[int(sys.argv[2])] ^= 0xff; open(sys.argv[3], "wb").write(d)' "$1" "$2" "$3"
}
restored_entries() { ks list --json; printf '%s' "$OUT" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'; }

for kind in rsa ec; do
  recovery_certificate $kind
  ks backup --all -o rec-$kind.p7m --recipient rec-$kind.pem --yes
  expect_rc 0 "recipient backup ($kind)"

  # The format, as openssl sees it.
  parsed=$(openssl asn1parse -inform DER -in rec-$kind.p7m 2>&1)
  expect_in ":id-smime-ct-authEnvelopedData" "$parsed" "AuthEnvelopedData ($kind)"
  expect_in ":aes-256-gcm" "$parsed" "AES-256-GCM content encryption ($kind)"
  expect_not_in "pkcs7-envelopedData" "$parsed" "not the old EnvelopedData ($kind)"

  # Standard tools still recover the payload.
  openssl cms -decrypt -inform DER -in rec-$kind.p7m -inkey rec-$kind.key -out rec-$kind.json 2>cms.err
  RC=$?; ERR=$(cat cms.err); expect_rc 0 "openssl cms -decrypt opens it ($kind)"
  grep -q '"keysafe-backup-payload"' rec-$kind.json && ok || bad "openssl cms -decrypt gives the payload ($kind)"

  # Altered bytes: the GCM nonce, the first, middle and last byte of the encrypted content,
  # and the tag (mac). Each is refused and the store stays as it was.
  read -r nonce_at nonce_len < <(field_offset rec-$kind.p7m "prim: OCTET STRING" ":aes-256-gcm")
  read -r body_at body_len < <(field_offset rec-$kind.p7m "cont [ 0 ]" ":aes-256-gcm")
  expect_eq "$nonce_len" "12" "the GCM nonce is 12 bytes ($kind)"
  [ "${body_len:-0}" -gt 100 ] && ok || bad "the encrypted content was found ($kind: '$body_len')"
  tag_at=$(( $(stat -c %s rec-$kind.p7m) - 16 ))
  h=$(store_hash)
  for spot in nonce:$nonce_at nonce-last:$((nonce_at + 11)) content-first:$body_at \
              content-middle:$((body_at + body_len / 2)) content-last:$((body_at + body_len - 1)) \
              tag:$tag_at; do
    flip rec-$kind.p7m "${spot#*:}" altered.p7m
    ks restore altered.p7m --recovery-key rec-$kind.key
    expect_rc 3 "restore refuses a flipped byte in the ${spot%%:*} ($kind)"
    expect_in "altered" "$ERR" "says the backup may be altered (${spot%%:*}, $kind)"
    # The independent judge agrees the file no longer opens.
    if openssl cms -decrypt -inform DER -in altered.p7m -inkey rec-$kind.key -out /dev/null 2>/dev/null; then
      bad "openssl cms -decrypt refuses the flipped ${spot%%:*} ($kind)"
    else ok; fi
  done
  expect_eq "$(store_hash)" "$h" "store unchanged after the refused restores ($kind)"

  store_move "keep-$kind"; new_store
  ks restore rec-$kind.p7m --recovery-key rec-$kind.key
  expect_rc 0 "restore with the recovery key ($kind)"
  expect_eq "$(restored_entries)" "2" "both entries restored ($kind)"
  store_move_back "keep-$kind"
done

# The old format: EnvelopedData with AES-256-CBC, as keysafe wrote it before (CMS_encrypt with
# EVP_aes_256_cbc) and as `openssl cms -encrypt -aes256` writes it.
openssl cms -encrypt -aes256 -binary -outform DER -in rec-rsa.json -out old-cbc.p7m rec-rsa.pem
expect_in ":pkcs7-envelopedData" "$(openssl asn1parse -inform DER -in old-cbc.p7m)" "openssl wrote EnvelopedData"
store_move keep; new_store
ks restore old-cbc.p7m --recovery-key rec-rsa.key
expect_rc 0 "an old-format (EnvelopedData, AES-256-CBC) backup still restores"
expect_eq "$(restored_entries)" "2" "both entries restored from the old format"

# A file kept from the old code (tests/data/backup/README.md): its one entry restores.
new_store
ks restore "$KEYSAFE_TEST_DATA/backup/old-enveloped-cbc.p7m" \
  --recovery-key "$KEYSAFE_TEST_DATA/backup/old-enveloped-cbc-recovery.key"
expect_rc 0 "the kept old-format backup restores"
ks show legacy --json
expect_rc 0 "its entry is in the store"
finish
