# A throwaway Pebble ACME server with pebble-challtestsrv as its DNS, for the end-to-end test
# scripts (sourced after lib.sh, never run directly). Everything listens on 127.0.0.1 on ports
# free at run time, and is stopped when the script exits (lib.sh's on_exit).
#   pebble_require                 skips (lib.sh's skip; a failure in CI) without the package
#   pebble_start [VAR=VALUE]...    starts both with real validation; the VAR=VALUEs are extra
#                                  environment for pebble (PEBBLE_WFE_NONCEREJECT=50, ...);
#                                  PEBBLE_CONFIG_EXTRA (JSON members, e.g.
#                                  '"domainBlocklist":["x.test"]') is added to its config. Sets:
#     PEBBLE_DIRECTORY   https://127.0.0.1:PORT/dir
#     PEBBLE_CA          the PEM CA that issued Pebble's own HTTPS certificate (--directory-ca-file)
#     PEBBLE_HTTP_PORT   where Pebble's validator fetches HTTP-01 tokens (its httpPort)
#     PEBBLE_MGMT        https://127.0.0.1:PORT of Pebble's management API
#     CHALLTEST_MGMT     http://127.0.0.1:PORT of challtestsrv's management API
#     CHALLTEST_DNS      127.0.0.1:PORT of challtestsrv's DNS server (Pebble's resolver)
#   PEBBLE_VALIDITY_SECONDS=N      (a shell variable set before pebble_start) the certificates
#                                  it issues are valid for N seconds (default: Pebble's 5 years)
#   pebble_root FILE               the issuing root of this run (management /roots/0) into FILE
# Every name resolves to 127.0.0.1 (challtestsrv -defaultIPv4), so the validator fetches
# http://NAME:PEBBLE_HTTP_PORT/.well-known/acme-challenge/TOKEN from this host.

pebble_require() {
  require_tool pebble pebble
  require_tool pebble-challtestsrv pebble
  require_tool curl curl
}

pebble_start() {
  local dir
  dir=$(mktemp -d "$T/pebble.XXXXXX")
  mkdir -p "$dir"
  # Debian's package lacks the listener certificate its example config names: a CA and a
  # localhost certificate of our own.
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$dir/ca.key" \
    -out "$dir/ca.pem" -subj "/CN=pebble listener test CA" -days 30 \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign 2>/dev/null
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$dir/key.pem" \
    -out "$dir/listener.req" -subj "/CN=localhost" 2>/dev/null
  openssl x509 -req -in "$dir/listener.req" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" \
    -CAcreateserial -days 30 -out "$dir/cert.pem" \
    -extfile <(printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n') 2>/dev/null
  local acme_port mgmt_port dns_port chall_port
  acme_port=$(free_port); mgmt_port=$(free_port); dns_port=$(free_port); chall_port=$(free_port)
  PEBBLE_HTTP_PORT=$(free_port)
  local validity=""
  [ -n "${PEBBLE_VALIDITY_SECONDS:-}" ] && validity=",\"certificateValidityPeriod\":$PEBBLE_VALIDITY_SECONDS"
  cat >"$dir/pebble.json" <<J
{"pebble":{"listenAddress":"127.0.0.1:$acme_port","managementListenAddress":"127.0.0.1:$mgmt_port",
 "certificate":"$dir/cert.pem","privateKey":"$dir/key.pem","httpPort":$PEBBLE_HTTP_PORT,
 "tlsPort":$(free_port),"ocspResponderURL":""${PEBBLE_CONFIG_EXTRA:+,$PEBBLE_CONFIG_EXTRA}
 $validity}}
J
  pebble-challtestsrv -defaultIPv4 127.0.0.1 -defaultIPv6 "" -http01 "" -https01 "" \
    -tlsalpn01 "" -dns01 "127.0.0.1:$dns_port" -management "127.0.0.1:$chall_port" \
    >"$dir/challtestsrv.log" 2>&1 &
  local chall_pid=$!
  on_exit "kill $chall_pid 2>/dev/null; wait $chall_pid 2>/dev/null"
  env PEBBLE_VA_NOSLEEP=1 PEBBLE_AUTHZREUSE=0 "$@" \
    pebble -config "$dir/pebble.json" -dnsserver "127.0.0.1:$dns_port" -strict=false \
    >"$dir/pebble.log" 2>&1 &
  local pebble_pid=$!
  on_exit "kill $pebble_pid 2>/dev/null; wait $pebble_pid 2>/dev/null"
  PEBBLE_DIRECTORY="https://127.0.0.1:$acme_port/dir"
  PEBBLE_CA="$dir/ca.pem"
  PEBBLE_MGMT="https://127.0.0.1:$mgmt_port"
  CHALLTEST_MGMT="http://127.0.0.1:$chall_port"
  CHALLTEST_DNS="127.0.0.1:$dns_port"
  local i
  for i in $(seq 1 100); do
    curl -sf --cacert "$PEBBLE_CA" "$PEBBLE_DIRECTORY" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "pebble did not start:" >&2
  cat "$dir/pebble.log" "$dir/challtestsrv.log" >&2
  return 1
}

pebble_root() {
  curl -sf --cacert "$PEBBLE_CA" "$PEBBLE_MGMT/roots/0" >"$1"
}
