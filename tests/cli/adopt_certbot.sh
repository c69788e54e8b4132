#!/usr/bin/env bash
# keysafe adopt certbot with a real certbot lineage from a real Pebble (tests/pebble.sh) served
# by a real nginx on loopback: adopt certbot (+ adopt nginx for the server), then keysafe renew
# of the lineage through ACME with certbot's own account (no new registration), nginx serving
# the renewed certificate from the same live/ path (now a regular file) after the reload adopt
# nginx recorded; certbot renew --dry-run no longer lists the lineage; the configuration
# directory unchanged by --dry-run and by adoption but for the renamed renewal file; --release.
# keysafe-test: sqlite-only — adoption is backend-neutral (cli.pg.adopt_nginx covers deployments on PostgreSQL); Pebble, certbot and nginx make it slow
# keysafe-test: run-serial — starts Pebble, pebble-challtestsrv, certbot's standalone server and nginx
source "${KEYSAFE_TESTS:?KEYSAFE_TESTS must name the tests directory}/lib.sh" || exit 1
source "$KEYSAFE_TESTS/pebble.sh" || exit 1

pebble_require
require_tool openssl openssl
require_tool certbot certbot
require_nginx
new_store
pebble_start || { bad "pebble did not start"; finish; exit 1; }
pebble_root root.pem

LE=$T/le
NAME=www.example.test
certbot_() {
  REQUESTS_CA_BUNDLE=$PEBBLE_CA certbot "$@" --config-dir "$LE" --work-dir "$T/cb-work" \
    --logs-dir "$T/cb-logs" --non-interactive >"$T/certbot.out" 2>&1
}
# The lineage is the fixture, not what is tested: one more try if certbot's first run fails (it
# failed once in a full parallel run, 3.8 s in; the reason is printed either way).
certonly() {
  certbot_ certonly --standalone --http-01-port "$PEBBLE_HTTP_PORT" --server "$PEBBLE_DIRECTORY" \
    --agree-tos --register-unsafely-without-email -d "$NAME"
}
if ! certonly; then
  echo "certbot certonly failed once: $(tail -20 "$T/certbot.out")"
  sleep 1
  certonly || { bad "certbot certonly: $(tail -20 "$T/certbot.out")"; finish; exit 1; }
fi
[ -L "$LE/live/$NAME/fullchain.pem" ] && ok || bad "certbot made its live/ links"

fp_of() { openssl x509 -in "$1" -noout -fingerprint -sha256 | cut -d= -f2 | tr -d : | tr 'A-F' 'a-f'; }
# A listing of the configuration directory: each path, its type, link text, mode and content hash.
tree_sum() {
  (cd "$LE" && find . -printf '%p %y %l %m\n' | sort && find . -type f -print0 | sort -z | xargs -0 sha256sum) | sha256sum | cut -d' ' -f1
}
served() {
  openssl s_client -connect "127.0.0.1:$PORT" -servername "$NAME" -CAfile root.pem \
    -verify_return_error </dev/null 2>/dev/null | openssl x509 2>/dev/null >served.pem
  if [ -s served.pem ]; then fp_of served.pem; else echo "<nothing served>"; fi
}

PORT=$(free_port)
nginx_config "$(nginx_tls_server "$PORT" "$LE/live/$NAME/fullchain.pem" "$LE/live/$NAME/privkey.pem" "$NAME")"
start_nginx
ORIGINAL=$(fp_of "$LE/live/$NAME/cert.pem")
expect_eq "$(served)" "$ORIGINAL" "nginx serves certbot's certificate through the live/ links"

# --- adopt nginx first: the pair in live/ is certbot's links, adopted (not refused) -------------
ks adopt nginx --config "$T/nginx/nginx.conf" --yes --json
expect_rc 0 "adopt nginx of a server reading certbot's live/ links"
expect_eq "$(jget '.pairs[0].problem')" null "certbot's links are no problem for adopt nginx"

# --- dry run: a plan, nothing changed -----------------------------------------------------------
BEFORE=$(tree_sum)
STORE_BEFORE=$(store_hash)
ks adopt certbot --config-dir "$LE" --dry-run --json
expect_rc 0 "adopt certbot --dry-run"
expect_eq "$(jget '.lineages | length')" 1 "one lineage"
expect_eq "$(jget '.lineages[0].name')" "$NAME" "the lineage's name"
expect_eq "$(jget '.lineages[0].authenticator')" standalone "the authenticator from renewal/NAME.conf"
expect_eq "$(jget '.lineages[0].challenge')" http-01-listen "standalone becomes keysafe's --http-listen"
expect_eq "$(jget '.lineages[0].challenge_param')" "0.0.0.0:$PEBBLE_HTTP_PORT" "on certbot's http01_port"
expect_eq "$(jget '.lineages[0].server')" "$PEBBLE_DIRECTORY" "the ACME server"
expect_eq "$(jget '.lineages[0].key_type')" ecdsa "the key type"
expect_in "/my-account/" "$(jget '.lineages[0].account_url')" "the account URL from regr.json"
expect_eq "$(jget '[.lineages[0].files[].role] | join(",")')" "cert,chain" \
  "fullchain.pem and privkey.pem are left to adopt nginx's deployment (not duplicated)"
expect_eq "$(tree_sum)" "$BEFORE" "--dry-run changes nothing under the configuration directory"
expect_eq "$(store_hash)" "$STORE_BEFORE" "--dry-run changes nothing in the store"

ks_notty adopt certbot --config-dir "$LE"
expect_rc 6 "off a terminal without --yes: refused"

# --- adoption -----------------------------------------------------------------------------------
ks adopt certbot --config-dir "$LE" --directory-ca-file "$PEBBLE_CA" --yes --json
expect_rc 0 "adopt certbot"
expect_eq "$(jget '.lineages[0].adopted')" true "the lineage was adopted"
ENTRY=$(jget '.lineages[0].entry')
ACCOUNT=$(jget '.lineages[0].account')
[ -f "$LE/renewal/$NAME.conf.adopted-by-keysafe" ] && [ ! -e "$LE/renewal/$NAME.conf" ] && ok \
  || bad "renewal/NAME.conf renamed to NAME.conf.adopted-by-keysafe"
mv "$LE/renewal/$NAME.conf.adopted-by-keysafe" "$LE/renewal/$NAME.conf"
expect_eq "$(tree_sum)" "$BEFORE" "adoption changed nothing else under the configuration directory"
mv "$LE/renewal/$NAME.conf" "$LE/renewal/$NAME.conf.adopted-by-keysafe"
ks acme account show "$ACCOUNT" --json
expect_rc 0 "the account is in the store"
expect_in "/my-account/" "$(jget .account_url)" "with certbot's account URL (no new registration)"
ks show "$ENTRY" --json
expect_eq "$(jget .fingerprint_sha256)" "$ORIGINAL" "the entry holds the lineage's certificate"
expect_eq "$(jget .acme.challenge)" http-01-listen "the entry's ACME settings"
ks status
expect_rc 0 "status: the adopted site is current"
certbot_ renew --dry-run
expect_not_in "$NAME" "$(cat "$T/certbot.out")" "certbot renew --dry-run no longer lists the lineage"

# --- a deployment that fails its test puts certbot's links back ---------------------------------
ks deploy "$ENTRY" --to "$LE/live/$NAME" --test-cmd false
expect_rc 1 "deploy to the live files with a failing test command"
expect_in "the test command failed" "$ERR" "the files were written, tested and rolled back"
[ "$(readlink "$LE/live/$NAME/cert.pem")" = "../../archive/$NAME/cert1.pem" ] && \
  [ "$(readlink "$LE/live/$NAME/chain.pem")" = "../../archive/$NAME/chain1.pem" ] && ok \
  || bad "the rollback restores certbot's links"
mv "$LE/renewal/$NAME.conf.adopted-by-keysafe" "$LE/renewal/$NAME.conf"
expect_eq "$(tree_sum)" "$BEFORE" "after the rollback the configuration directory is as it was"
mv "$LE/renewal/$NAME.conf" "$LE/renewal/$NAME.conf.adopted-by-keysafe"

# --- renew through ACME with the adopted account ------------------------------------------------
# Pebble reuses a valid authorization 1 time in 100 even at PEBBLE_AUTHZREUSE=0: the renewal
# succeeds either way (no check here needs the challenge to run).
ks renew "$ENTRY" --json
expect_rc 0 "keysafe renew of the adopted lineage"
expect_eq "$(jget .acme.account)" "$ACCOUNT" "renewed with certbot's account"
NEW=$(jget .certificate.fingerprint_sha256)
[ -n "$NEW" ] && [ "$NEW" != "$ORIGINAL" ] && ok || bad "a new certificate"
for f in cert chain fullchain privkey; do
  [ -f "$LE/live/$NAME/$f.pem" ] && [ ! -L "$LE/live/$NAME/$f.pem" ] && ok || bad "live/$f.pem is a regular file now"
done
expect_eq "$(fp_of "$LE/live/$NAME/cert.pem")" "$NEW" "live/cert.pem holds the new certificate"
expect_eq "$(fp_of "$LE/live/$NAME/fullchain.pem")" "$NEW" "live/fullchain.pem too"
expect_eq "$(stat -c %a "$LE/live/$NAME/privkey.pem")" 600 "the key file is 0600"
[ -f "$LE/archive/$NAME/cert1.pem" ] && ok || bad "certbot's archive is left alone"
expect_eq "$(served)" "$NEW" "nginx serves the new certificate from the same path after the reload"
ks status
expect_rc 0 "status after the renewal"

# --- release ------------------------------------------------------------------------------------
ks adopt certbot --config-dir "$LE" --release "$NAME" --json
expect_rc 0 "adopt certbot --release"
[ -f "$LE/renewal/$NAME.conf" ] && [ ! -e "$LE/renewal/$NAME.conf.adopted-by-keysafe" ] && ok \
  || bad "--release renames the renewal file back"
ks show "$ENTRY" --json
expect_eq "$(jget .acme)" null "--release removes the entry's ACME settings"
ks audit --json
expect_in "adopt-released" "$OUT" "--release is audited"
expect_in "renamed to $NAME.conf.adopted-by-keysafe" "$OUT" "the rename is audited"
ks adopt certbot --config-dir "$LE" --release "$NAME"
expect_rc 1 "a second --release: nothing to give back"

# --- other authenticators (plans of a copy with an edited renewal file; no CA contacted) -------
cp -a "$LE" "$T/le2"
CONF2="$T/le2/renewal/$NAME.conf"
sed -i 's/^authenticator = standalone$/authenticator = webroot/' "$CONF2"
printf 'webroot_path = /srv/www/a,\n[[webroot_map]]\n%s = /srv/www/a\n' "$NAME" >>"$CONF2"
ks adopt certbot --config-dir "$T/le2" --dry-run --json
expect_eq "$(jget '.lineages[0].challenge')" http-01-webroot "webroot becomes keysafe's --webroot"
expect_eq "$(jget '.lineages[0].challenge_param')" /srv/www/a "with the [[webroot_map]] directory"
sed -i 's/^authenticator = webroot$/authenticator = nginx/' "$CONF2"
ks adopt certbot --config-dir "$T/le2" --dry-run --json
expect_rc 0 "the nginx authenticator: adoptable"
expect_eq "$(jget '.lineages[0].takes_over_renewal')" false "without renewal settings"
expect_in "certbot keeps renewing it" "$(jget '.lineages[0].notes | join(" ")')" "and the plan says so"
sed -i 's|^\[renewalparams\]$|[renewalparams]\nserver = https://other.example/dir|' "$CONF2"
ks adopt certbot --config-dir "$T/le2" --dry-run --json
expect_rc 1 "a renewal file inih and configobj read differently (a key twice): not adopted"
expect_in "a key given twice" "$(jget '.lineages[0].problem')" "the reason names it"
rm -rf "$T/le2"

# --- the deploy rule for links is not weakened: only certbot's own link form is replaced ------
echo "not a certificate" >"$T/outside.pem"
cp -p "$LE/live/$NAME/chain.pem" "$T/chain.saved"
ln -sf "$T/outside.pem" "$LE/live/$NAME/chain.pem"
ks deploy "$ENTRY" --to "$LE/live/$NAME"
expect_rc 6 "a link of another form at an adopted path: refused"
expect_in "symbolic link" "$ERR" "the refusal names the link"
expect_eq "$(cat "$T/outside.pem")" "not a certificate" "nothing was written through the link"
mv "$T/chain.saved" "$LE/live/$NAME/chain.pem"

# --- a hostile configuration directory: links that leave it are refused per lineage ------------
mkdir -p "$LE/live/out1.example" "$LE/live/out2.example" "$T/elsewhere/out2.example"
for f in cert chain fullchain privkey; do
  ln -s "$T/outside.pem" "$LE/live/out1.example/$f.pem"
  ln -s "../../archive/out2.example/${f}1.pem" "$LE/live/out2.example/$f.pem"
  cp "$LE/live/$NAME/$f.pem" "$T/elsewhere/out2.example/${f}1.pem"
done
ln -s "$T/elsewhere/out2.example" "$LE/archive/out2.example"
ks adopt certbot --config-dir "$LE" --dry-run --json
expect_rc 1 "lineages with links out of the configuration directory: exit 1"
expect_in "not certbot's link" "$(jget '.lineages[] | select(.name == "out1.example") | .problem')" \
  "a link out of the directory is refused"
expect_in "out of the certbot configuration directory" \
  "$(jget '.lineages[] | select(.name == "out2.example") | .problem')" "an archive directory elsewhere is refused"
expect_eq "$(jget '.lineages[] | select(.name == "'"$NAME"'") | .problem')" null "the other lineage is still adoptable"

ks check
expect_rc 0 "check passes"
finish
