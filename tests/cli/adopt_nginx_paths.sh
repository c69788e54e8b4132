#!/usr/bin/env bash
# keysafe adopt nginx and the paths it is given (no server needed: adoption only reads): a
# missing certificate file, a key on a token (engine:), a certificate that is a symbolic link
# (reported under its configured path; keysafe never writes through a link) and a directory
# reached through a symbolic link (adopted; the recorded paths are the configured ones, not
# the link's target); a configuration whose every pair is stored already. Each problem is reported with its path and never stops the others.
# keysafe-test: sqlite-only — it tests reading nginx's configuration and files, not the store backend
source "${KEYSAFE_TESTS:?KEYSAFE_TESTS must name the tests directory}/lib.sh" || exit 1

new_store
N=$T/nginx
mkdir -p "$N/real" "$N/certs"
ln -s "$N/real" "$N/linked"                      # a directory reached through a link
make_pair() {  # make_pair DIR NAME
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1/$2.key" \
    -out "$1/$2.crt" -subj "/CN=$2" -addext "subjectAltName=DNS:$2" -days 30 2>/dev/null
}
make_pair "$N/real" dir.test
make_pair "$N/certs" link.test
ln -s "$N/certs/link.test.crt" "$N/certs/link.crt"
cat >"$N/nginx.conf" <<CONF
events {}
http {
  server { listen 127.0.0.1:1 ssl; server_name dir.test;
           ssl_certificate linked/dir.test.crt; ssl_certificate_key linked/dir.test.key; }
  server { listen 127.0.0.1:2 ssl; server_name missing.test;
           ssl_certificate certs/missing.crt; ssl_certificate_key certs/link.test.key; }
  server { listen 127.0.0.1:3 ssl; server_name engine.test;
           ssl_certificate certs/link.test.crt; ssl_certificate_key "engine:pkcs11:pkcs11:token=t;object=k"; }
  server { listen 127.0.0.1:4 ssl; server_name link.test;
           ssl_certificate certs/link.crt; ssl_certificate_key certs/link.test.key; }
}
CONF

ks adopt nginx --config "$N/nginx.conf" --yes --json
expect_rc 1 "three pairs cannot be adopted (exit 1)"
expect_eq "$(jget '.pairs | length')" "4" "4 pairs"
expect_eq "$(jget .adoptable)" "1" "the pair through the linked directory is adopted"
expect_eq "$(jget '.pairs[0].files[0].path')" "$N/linked/dir.test.crt" "recorded under its configured path"
expect_eq "$(jget '.pairs[0].files[1].path')" "$N/linked/dir.test.key" "the key too"
expect_in "cannot read" "$(jget '.pairs[1].problem')" "the missing file is reported"
expect_in "$N/certs/missing.crt" "$(jget '.pairs[1].problem')" "with its path"
expect_in "the key is not in a file (engine:)" "$(jget '.pairs[2].problem')" "the key on a token is reported"
expect_in "symbolic link" "$(jget '.pairs[3].problem')" "the linked certificate file is reported"
expect_in "$N/certs/link.crt" "$(jget '.pairs[3].problem')" "under its configured path"
# The refusal is about the configured path; the cause may say where it links (certbot's form
# is the one link deploy replaces, docs/ADOPT.md).
case "$(jget '.pairs[3].problem')" in
  "refusing the symbolic link \"$N/certs/link.crt\""*) ok ;;
  *) bad "the problem names the configured path first, not the link's target: $(jget '.pairs[3].problem')" ;;
esac
ks deployments --json
expect_eq "$(jget '. | length')" "1" "one deployment"
expect_eq "$(jget '.[0].files[0].path')" "$N/linked/dir.test.crt" "the deployment records the configured path"

# Every pair in the store already (imported beforehand): adopt links it and still records the
# deployment (the deployment rows need the unlocked store even when no key is new).
new_store
cat "$N/real/dir.test.crt" "$N/real/dir.test.key" >"$T/dir-pair.pem"
ks import "$T/dir-pair.pem" --yes
expect_rc 0 "the pair imported beforehand"
printf 'events {}\nhttp { server { listen 127.0.0.1:1 ssl; server_name dir.test;\n  ssl_certificate linked/dir.test.crt; ssl_certificate_key linked/dir.test.key; } }\n' >"$N/only.conf"
ks adopt nginx --config "$N/only.conf" --yes --json
expect_rc 0 "every pair adopted"
expect_eq "$(jget '.pairs[0].action')" "link" "linked, not duplicated"
ks deployments --json
expect_eq "$(jget '. | length')" "1" "the deployment is recorded"
ks list --json
expect_eq "$(jget '. | length')" "1" "one entry"
finish
