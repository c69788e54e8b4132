#!/usr/bin/env bash
# End to end: every certificate, request and PKCS#7 file of the public corpus through
# `keysafe install` against a store with one pending key. Nothing in the corpus belongs to that
# key, so nothing may be installed: files expected to be valid must be refused as "no stored key
# matches" / "a request" (exit 5), or, for the empty PKCS#7, as "no certificates" (exit 1); files
# expected to be invalid must be refused as bad input (exit 1: the file itself is wrong, whatever
# the store holds) with a message. Never a crash, never a changed store.
source "${KEYSAFE_TESTS:?KEYSAFE_TESTS must name the tests directory}/lib.sh" || exit 1

expect_no_crash() { if [ "$RC" -lt 128 ]; then ok; else bad "$1 crashed (signal $((RC - 128)))"; fi; }

new_store
ks create site --dns site.example.org
expect_rc 0 "create the pending key"
H=$(store_hash)
unchanged() { expect_eq "$(store_hash)" "$H" "$1 leaves the store unchanged"; }

MANIFEST="$CORPUS/MANIFEST.tsv"
[ -f "$MANIFEST" ] || bad "no corpus manifest at $MANIFEST"

# --- certs/, csr/, pkcs7/ rows of the manifest -----------------------------------------------------
rows=0
while IFS=$'\t' read -r file kind _password expected _; do
  case "$file" in certs/* | csr/* | pkcs7/*) ;; *) continue ;; esac
  rows=$((rows + 1))
  what="install $file (expected $expected)"
  if [ ! -f "$CORPUS/$file" ]; then
    bad "$what: the file is missing from the corpus"
    continue
  fi
  ks_notty install "$CORPUS/$file"
  expect_no_crash "$what"
  expect_in "keysafe: error:" "$ERR" "$what: an error message"
  case "$expected" in
    error)
      expect_rc 1 "$what: an invalid file is refused as bad input"
      ;;
    ok)
      if [ "$file" = pkcs7/dotnet-empty.p7c ]; then
        expect_rc 1 "$what: an empty PKCS#7 is refused"
        expect_in "no certificates" "$ERR" "$what: says it holds no certificates"
      elif [ "$kind" = csr ]; then
        expect_rc 5 "$what: a request is not a certificate"
        expect_in "certificate request, not a certificate" "$ERR" "$what: says it is a request"
      else
        expect_rc 5 "$what: no stored key matches"
        expect_in "no private key in this keystore matches" "$ERR" "$what: says no key matches"
      fi
      ;;
    *) bad "$what: unknown expectation in the manifest" ;;
  esac
  unchanged "$what"
done < <(tail -n +2 "$MANIFEST")
if [ "$rows" -ge 50 ]; then ok; else bad "only $rows certs/csr/pkcs7 rows in the manifest"; fi

# --- pairs/*: certificates of keys this store does not hold ------------------------------------------
pairs=0
for dir in "$CORPUS"/pairs/*/; do
  [ -f "$dir/cert.pem" ] || continue
  pairs=$((pairs + 1))
  what="install pairs/$(basename "$dir")/cert.pem"
  ks_notty install "$dir/cert.pem"
  expect_rc 5 "$what: no stored key matches"
  expect_no_crash "$what"
  expect_in "no private key in this keystore matches" "$ERR" "$what: message"
  expect_in "$(openssl x509 -in "$dir/cert.pem" -noout -pubkey 2>/dev/null | openssl pkey -pubin -outform DER 2>/dev/null | sha256sum | cut -d' ' -f1)" \
    "$ERR" "$what: names the certificate's public key hash"
  unchanged "$what"
done
if [ "$pairs" -ge 4 ]; then ok; else bad "only $pairs pairs in the corpus"; fi

# --- fuzz/: OpenSSL fuzzer regression inputs must never crash keysafe --------------------------------
fuzz=0
while IFS= read -r -d '' file; do
  fuzz=$((fuzz + 1))
  what="install ${file#"$CORPUS"/}"
  ks_notty install "$file"
  expect_no_crash "$what"
  if [ "$RC" != 0 ]; then expect_in "keysafe: error:" "$ERR" "$what: an error message"
  else bad "$what: a fuzz input was installed"; fi
  unchanged "$what"
done < <(find "$CORPUS/fuzz" -type f -print0 | sort -z)
if [ "$fuzz" -ge 50 ]; then ok; else bad "only $fuzz fuzz inputs in the corpus"; fi

# The pending key is still pending and the store still works.
ks_notty show site --json
expect_rc 0 "show after the corpus"
expect_in '"state": "pending"' "$OUT" "the key is still pending"

finish
