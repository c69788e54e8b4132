#!/usr/bin/env bash
# keysafe adopt nginx against keysafe import of the same pairs (issue 19's target: adopt of a
# configuration with N server blocks over N pairs in at most 1.5x the import). Generates N
# P-256 keys with self-signed certificates (python3-cryptography, one process), one nginx
# configuration with N server blocks (each its own pair, in included files), and one PEM bundle
# with the same N certificates and keys; then hyperfine runs, side by side on fresh stores:
#   import:  keysafe import bundle.pem --yes
#   adopt:   keysafe adopt nginx --config nginx.conf --yes   (reads the configuration and the
#            2N files, checks each pair, imports, records N deployments)
#
#   KEYSAFE_BIN=build/cli/keysafe bash bench/adopt.sh [N] [RUNS]    (default N=1000, RUNS=5)
set -euo pipefail
KS=$(readlink -f "${KEYSAFE_BIN:?KEYSAFE_BIN must name the keysafe binary}")
N=${1:-1000}
RUNS=${2:-5}
W=$(mktemp -d /tmp/keysafe-bench-adopt.XXXXXX)
[ -n "${KEYSAFE_BENCH_KEEP:-}" ] || trap 'rm -rf "$W"' EXIT   # KEYSAFE_BENCH_KEEP=1 keeps the files
cd "$W"
export KEYSAFE_PASSPHRASE="correct horse battery staple" KEYSAFE_NO_PROGRESS=1

python3 - "$N" <<'PY'
import sys, os, datetime
from cryptography import x509
from cryptography.x509.oid import NameOID
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
n = int(sys.argv[1])
os.makedirs("certs", exist_ok=True); os.makedirs("sites", exist_ok=True)
now = datetime.datetime.now(datetime.timezone.utc)
bundle = open("bundle.pem", "wb")
for i in range(n):
    name = f"site{i}.example.test"
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=90))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .sign(key, hashes.SHA256()))
    c = cert.public_bytes(serialization.Encoding.PEM)
    k = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    open(f"certs/{i}.crt", "wb").write(c)
    with open(f"certs/{i}.key", "wb") as f:
        os.fchmod(f.fileno(), 0o600); f.write(k)
    bundle.write(c + k)
    with open(f"sites/{i // 100}.conf", "a") as s:
        s.write(f"server {{\n  listen 127.0.0.1:{10000 + i} ssl;\n  server_name {name};\n"
                f"  ssl_certificate certs/{i}.crt;\n  ssl_certificate_key certs/{i}.key;\n}}\n")
open("nginx.conf", "w").write("events {}\nhttp {\n  include sites/*.conf;\n}\n")
PY

fresh() { rm -f "$W/$1.db"; "$KS" --store "$W/$1.db" init --kdf-cost 10 >/dev/null 2>&1; }
# Correctness first: both bring in every pair.
fresh check
"$KS" --store "$W/check.db" import bundle.pem --yes >/dev/null
imported=$("$KS" --store "$W/check.db" list --json | jq length)
fresh check
"$KS" --store "$W/check.db" adopt nginx --config "$W/nginx.conf" --yes >/dev/null
adopted=$("$KS" --store "$W/check.db" list --json | jq length)
deployments=$("$KS" --store "$W/check.db" deployments --json | jq length)
[ "$imported" = "$N" ] && [ "$adopted" = "$N" ] && [ "$deployments" = "$N" ] ||
  { echo "import gave $imported entries, adopt $adopted entries and $deployments deployments; expected $N" >&2; exit 1; }

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
hyperfine -N --runs "$RUNS" --export-json "$W/h.json" \
  --prepare "bash -c 'rm -f $W/i.db; $KS --store $W/i.db init --kdf-cost 10'" \
  -n "import $N pairs" "$KS --store $W/i.db import $W/bundle.pem --yes" \
  --prepare "bash -c 'rm -f $W/a.db; $KS --store $W/a.db init --kdf-cost 10'" \
  -n "adopt nginx, $N server blocks" "$KS --store $W/a.db adopt nginx --config $W/nginx.conf --yes" >&2
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
jq -r '.results | "import: \(.[0].mean * 1000 | floor) ms (±\(.[0].stddev * 1000 | floor), user \(.[0].user * 1000 | floor) ms), adopt: \(.[1].mean * 1000 | floor) ms (±\(.[1].stddev * 1000 | floor), user \(.[1].user * 1000 | floor) ms), adopt/import: \(.[1].mean / .[0].mean * 100 | floor / 100)x (target <= 1.5x)"' "$W/h.json"
