#!/usr/bin/env bash
# keysafe adopt apache with a real Apache httpd (Debian's apache2) on loopback: two name-based
# TLS virtual hosts on one port, read through IncludeOptional, Define/${VAR}, a line
# continuation, quotes and paths relative to ServerRoot; one with the key in its own file and
# the chain in the certificate file, one with the key in the certificate file and an
# SSLCertificateChainFile, one with the leaf, the key and the chain in three files. Three problem hosts (a key that does not match, a missing file, an
# undefined ${VAR}) are added after httpd runs and removed before any reload. adopt imports the
# three pairs, reports the three problems, records the deployments; status exit 0; the local CA
# re-issues one entry, renew writes the original files and httpd serves it after the graceful
# reload. Nothing under the configuration directory changes during --dry-run or adoption.
# keysafe-test: sqlite-only — it tests reading Apache's configuration and files, not the store backend
source "${KEYSAFE_TESTS:?KEYSAFE_TESTS must name the tests directory}/lib.sh" || exit 1
require_tool apache2 apache2
require_tool apachectl apache2
export PATH="$PATH:$(dirname "$(command -v apachectl)")"   # the recorded commands call `apachectl`

fp_of() { openssl x509 -in "$1" -noout -fingerprint -sha256 | cut -d= -f2 | tr -d : | tr 'A-F' 'a-f'; }
served_fp() {
  openssl s_client -connect "127.0.0.1:$1" -servername "$2" </dev/null 2>/dev/null |
    openssl x509 -noout -fingerprint -sha256 2>/dev/null | cut -d= -f2 | tr -d : | tr 'A-F' 'a-f'
}
A=$T/apache
# Every file under the configuration directory but what httpd itself writes.
conf_sums() { (cd "$A" && find . -type f ! -name apache2.pid ! -name error.log ! -name 'ssl_scache*' | sort |
  while read -r f; do sha256sum "$f"; stat -c '%n %a %u %g' "$f"; done); }

new_store
ks ca init adopt-root --subject "CN=adopt test root"
expect_rc 0 "a local root CA"
ks ca init adopt-inter --intermediate-of adopt-root
expect_rc 0 "an intermediate CA"
C=$A/certs
mkdir -p "$C" "$A/sites"
# issue NAME DNS KEYOPT: a key and a certificate + chain (leaf, intermediate, root) by the intermediate.
issue() {
  openssl req -new -newkey $3 -nodes -keyout "$T/$1.key" -subj "/CN=$2" \
    -addext "subjectAltName=DNS:$2,DNS:www.$2" -out "$T/$1.csr" 2>/dev/null
  ks ca sign adopt-inter "$T/$1.csr" -o "$T/$1.chain.pem"
  expect_rc 0 "the CA signs $1"
}
issue a a.test "ec -pkeyopt ec_paramgen_curve:P-256"
issue b b.test rsa:2048
issue c c.test "ec -pkeyopt ec_paramgen_curve:P-256"
cp "$T/a.chain.pem" "$C/a.crt"; cp "$T/a.key" "$C/a.key"                   # fullchain + key
openssl x509 -in "$T/b.chain.pem" >"$C/b.pem"; cat "$T/b.key" >>"$C/b.pem"  # leaf + key in one file
ks ca export adopt-inter -o "$T/inter.pem" --format der
expect_rc 0 "the intermediate exported"
openssl x509 -inform der -in "$T/inter.pem" -out "$C/chain.pem"
openssl x509 -in "$T/c.chain.pem" >"$C/c.crt"; cp "$T/c.key" "$C/c.key"    # the leaf alone + key
chmod 0640 "$C/a.key"; chmod 0600 "$C/b.pem"

P1=$(free_port)
cat >"$A/apache2.conf" <<CONF
# A private httpd for this test: everything under $A.
ServerRoot "$A"
PidFile $A/apache2.pid
ErrorLog $A/error.log
LogLevel warn
DefaultRuntimeDir $A
LoadModule mpm_event_module /usr/lib/apache2/modules/mod_mpm_event.so
LoadModule ssl_module /usr/lib/apache2/modules/mod_ssl.so
LoadModule socache_shmcb_module /usr/lib/apache2/modules/mod_socache_shmcb.so
User www-data
Group www-data
ServerName localhost
Define CERTS $C
Listen 127.0.0.1:$P1
SSLSessionCache shmcb:$A/ssl_scache(512000)
SSLProtocol TLSv1.2 +TLSv1.3
<IfModule !ssl_module>
  Include never-read.conf
</IfModule>
IncludeOptional sites/*.conf
IncludeOptional nothing/*.conf
CONF
cat >"$A/sites/a.conf" <<CONF
<VirtualHost 127.0.0.1:$P1>
  ServerName a.test
  SSLEngine on
  # the certificate through a Define, the key relative to ServerRoot
  SSLCertificateFile "\${CERTS}/a.crt"
  SSLCertificateKeyFile \\
      certs/a.key
</VirtualHost>
CONF
cat >"$A/sites/b.conf" <<CONF
<IfDefine !NOT_DEFINED>
<VirtualHost 127.0.0.1:$P1>
  ServerName https://b.test:$P1
  ServerAlias www.b.test
  SSLEngine on
  SSLCertificateFile $C/b.pem
  SSLCertificateChainFile 'certs/chain.pem'
</VirtualHost>
</IfDefine>
CONF
cat >"$A/sites/c.conf" <<CONF
<VirtualHost 127.0.0.1:$P1>
  ServerName c.test
  SSLEngine on
  SSLCertificateFile certs/c.crt
  SSLCertificateKeyFile certs/c.key
  SSLCertificateChainFile certs/chain.pem
</VirtualHost>
CONF
apache2 -f "$A/apache2.conf" -k start || { bad "httpd did not start: $(cat "$A/error.log")"; finish; exit 1; }
on_exit "[ -f '$A/apache2.pid' ] && kill \"\$(cat '$A/apache2.pid')\" 2>/dev/null"
expect_eq "$(served_fp $P1 a.test)" "$(fp_of "$C/a.crt")" "httpd serves a.test"
expect_eq "$(served_fp $P1 b.test)" "$(fp_of "$C/b.pem")" "httpd serves b.test on the same port by SNI"
expect_eq "$(served_fp $P1 c.test)" "$(fp_of "$C/c.crt")" "and c.test"
# httpd refuses to start with these hosts: they come after it runs.
cat >"$A/sites/problems.conf" <<CONF
<VirtualHost 127.0.0.1:$P1>
  ServerName bad.test
  SSLEngine on
  SSLCertificateFile certs/a.crt
  SSLCertificateKeyFile certs/c.key
</VirtualHost>
<VirtualHost 127.0.0.1:$P1>
  ServerName missing.test
  SSLEngine on
  SSLCertificateFile certs/missing.crt
  SSLCertificateKeyFile certs/a.key
</VirtualHost>
<VirtualHost 127.0.0.1:$P1>
  ServerName var.test
  SSLEngine on
  SSLCertificateFile \${UNDEFINED_IN_THIS_TEST}/v.crt
</VirtualHost>
CONF

BEFORE=$(conf_sums)
ks adopt apache --config "$A/apache2.conf" --dry-run --json
expect_rc 1 "dry run: three pairs cannot be adopted (exit 1)"
expect_eq "$(jget .dry_run)" "true" "dry run says so"
expect_eq "$(jget '.pairs | length')" "6" "6 pairs in 6 virtual hosts"
expect_eq "$(jget .adoptable)" "3" "3 adoptable"
expect_eq "$(jget '.pairs[0].entry')" "a.test" "the entry is named after ServerName"
expect_eq "$(jget '.pairs[0].files[0].role')" "fullchain" "a.crt holds the leaf and its chain"
expect_eq "$(jget '.pairs[0].files[1].path')" "$C/a.key" "the key path relative to ServerRoot"
expect_eq "$(jget '.pairs[1].entry')" "b.test" "ServerName without its scheme and port"
expect_eq "$(jget '.pairs[1].files[0].role')" "combined" "b.pem holds certificate and key"
expect_eq "$(jget '.pairs[1].files[1].role')" "chain" "the SSLCertificateChainFile"
expect_eq "$(jget '.pairs[1].sni')" "b.test" "probed with its ServerName as SNI"
expect_eq "$(jget '.pairs[2].files[0].role')" "cert" "c.crt beside a chain file holds the leaf alone"
expect_eq "$(jget '.pairs[2].files[1].role')" "key" "c.key"
expect_eq "$(jget '.pairs[2].files[2].role')" "chain" "and the chain file"
ks deployments --json
expect_eq "$(jget '. | length')" "0" "the dry run records nothing"
expect_eq "$(conf_sums)" "$BEFORE" "the dry run changes nothing under the configuration directory"

ks_notty adopt apache --config "$A/apache2.conf"
expect_rc 6 "off a terminal, adopt needs --yes"

ks adopt apache --config "$A/apache2.conf" --yes
expect_rc 1 "adopt: exit 1, three pairs not adopted"
expect_in "3 of 6 pairs adopted" "$OUT" "the summary counts"
expect_in "does not match the certificate" "$OUT" "the mismatched key is reported"
expect_in "$C/missing.crt" "$OUT" "the missing file is reported"
expect_in "a variable that is not defined in the path (\${UNDEFINED_IN_THIS_TEST}/v.crt)" "$OUT" "the undefined variable is reported"
expect_eq "$(conf_sums)" "$BEFORE" "adoption changes nothing under the configuration directory"
ks list --json
expect_eq "$(jget '. | length')" "5" "3 entries + the 2 CAs"
ks deployments --json
expect_eq "$(jget '. | length')" "3" "3 deployments"
expect_in "\"layout\": \"files\"" "$OUT" "layout files"
expect_in "\"test_cmd\": \"apachectl -f $A/apache2.conf -t\"" "$OUT" "apachectl -t on the configuration read"
expect_in "\"reload_cmd\": \"apachectl -f $A/apache2.conf -k graceful\"" "$OUT" "the graceful reload"
expect_in "\"probe\": \"127.0.0.1:$P1\"" "$OUT" "the virtual host's address is probed"

rm "$A/sites/problems.conf"   # before any reload
ks status
expect_rc 0 "status: every adopted host serves the newest certificate"

# The local CA re-issues b.test; renew writes b.pem and chain.pem and reloads httpd gracefully.
OLD=$(fp_of "$C/b.pem")
ks renew b.test --same-key
expect_rc 0 "renew b.test from the local CA, redeployed"
NEW=$(fp_of "$C/b.pem")
[ "$NEW" != "$OLD" ] && ok || bad "b.pem holds the new certificate"
expect_eq "$(stat -c %a "$C/b.pem")" "600" "b.pem keeps its mode"
expect_eq "$(grep -c 'PRIVATE KEY-----' "$C/b.pem")" "2" "b.pem still holds the key"
expect_eq "$(fp_of "$C/chain.pem")" "$(openssl x509 -inform der -in "$T/inter.pem" -noout -fingerprint -sha256 | cut -d= -f2 | tr -d : | tr 'A-F' 'a-f')" "chain.pem holds the intermediate"
expect_eq "$(served_fp $P1 b.test)" "$NEW" "httpd serves the new certificate after the graceful reload"
expect_eq "$(served_fp $P1 a.test)" "$(fp_of "$C/a.crt")" "a.test still serves its own"
# c.test: the leaf alone in c.crt, the chain left to chain.pem.
OLD=$(fp_of "$C/c.crt")
ks renew c.test --same-key
expect_rc 0 "renew c.test, redeployed"
expect_eq "$(grep -c 'BEGIN CERTIFICATE' "$C/c.crt")" "1" "c.crt holds the leaf alone"
[ "$(fp_of "$C/c.crt")" != "$OLD" ] && ok || bad "c.crt holds the new certificate"
expect_eq "$(served_fp $P1 c.test)" "$(fp_of "$C/c.crt")" "httpd serves c's new certificate"
ks status
expect_rc 0 "status after the renewal"
finish
