#!/usr/bin/env bash
# Prints the SQL with which SQLite itself builds the JSON document that `keysafe list --json`,
# `keysafe list --expiring DAYS --json` or `keysafe show NAME --json` prints: the same rows, the
# same fields, names and value types, dates formatted as keysafe formats them (RFC 3339, UTC),
# and the same derived fields (state, days_left, weak_key, backed_up). It is the baseline of the
# list rows in bench/run.sh: `sqlite3 -readonly STORE '.read FILE'`, the fastest known way to get
# that document out of the file (json_group_array(json_object(...)) in SQLite's C code).
# bench/run.sh checks that its output equals keysafe's (jq -S) before timing either.
#
#   list_sql.sh all | expiring DAYS | name NAME   [NOW]
#
# NOW (Unix seconds) pins the clock for the equality check; without it the SQL reads the clock
# itself, as keysafe does.
set -euo pipefail
mode=${1:?usage: list_sql.sh all|expiring DAYS|name NAME [NOW]}
arg=${2:-}
now=${3:-"unixepoch('now')"}
[ "$mode" = all ] && now=${2:-"unixepoch('now')"}

# Superseded: an entry whose renewal (keys.renews_key_id) has a certificate. Listed only with
# --all (never by --expiring), so the listings below leave them out and superseded_by is null.
# Not correlated: SQLite builds the set once (one pass over keys, or over the
# keys(renews_key_id) index where the schema has it), then probes it per row.
superseded="k.id IN (SELECT renews_key_id FROM keys WHERE renews_key_id IS NOT NULL
                     AND current_certificate_id IS NOT NULL)"
rfc3339() { echo "strftime('%Y-%m-%dT%H:%M:%SZ', $1, 'unixepoch')"; }
bool() { echo "json(CASE WHEN $1 THEN 'true' ELSE 'false' END)"; }

# keysafe's JSON keys in the order keysafe prints them (alphabetical: nlohmann::json objects).
object="json_object(
  'backed_up', $(bool "k.last_backup_at IS NOT NULL"),
  'certificates', (SELECT count(*) FROM certificates h WHERE h.key_id = k.id),
  'chain_problem', CASE WHEN c.id IS NOT NULL THEN nullif(c.chain_problem, '') END,
  'chain_trusted', CASE WHEN c.id IS NOT NULL THEN $(bool "c.chain_trusted") END,
  'created', $(rfc3339 k.created_at),
  'days_left', CASE WHEN c.id IS NULL THEN NULL
                    WHEN c.not_after - n.now + 43200 >= 0 THEN (c.not_after - n.now + 43200) / 86400
                    ELSE -((n.now - c.not_after - 43200 + 86399) / 86400) END,
  'dns', json(CASE WHEN c.id IS NULL THEN k.dns ELSE c.dns END),
  'fingerprint_sha256', c.fingerprint_sha256,
  'ip', json(CASE WHEN c.id IS NULL THEN k.ip ELSE c.ip END),
  'issuer', c.issuer,
  'key_algorithm', k.algorithm,
  'last_backup', $(rfc3339 k.last_backup_at),
  'name', k.name,
  'not_after', $(rfc3339 c.not_after),
  'not_before', $(rfc3339 c.not_before),
  'serial', c.serial,
  'spki_sha256', k.spki_sha256,
  'state', CASE WHEN k.sealed_private_key IS NULL THEN 'no-key'
                WHEN c.id IS NULL THEN 'pending'
                WHEN c.not_after < n.now THEN 'expired'
                ELSE 'installed' END,
  'subject', CASE WHEN c.id IS NULL THEN k.subject ELSE c.subject END,
  'superseded_by', NULL,
  'weak_key', $(bool "substr(k.algorithm, 1, 4) = 'dsa-' OR (substr(k.algorithm, 1, 4) = 'rsa-'
                      AND CAST(substr(k.algorithm, 5) AS INTEGER) BETWEEN 1 AND 2047)")
)"

case "$mode" in
  all)
    echo "WITH n(now) AS (SELECT $now)
SELECT json_group_array(json(o)) FROM (SELECT $object AS o
  FROM n, keys k LEFT JOIN certificates c ON c.id = k.current_certificate_id
  WHERE NOT $superseded ORDER BY k.name);" ;;
  expiring)
    # As keysafe: from the not_after index to each key by its primary key.
    echo "WITH n(now) AS (SELECT $now)
SELECT json_group_array(json(o)) FROM (SELECT $object AS o
  FROM n, certificates c CROSS JOIN keys k ON k.id = c.key_id AND k.current_certificate_id = c.id
  WHERE c.not_after <= n.now + ${arg:?DAYS} * 86400 AND NOT $superseded ORDER BY k.name);" ;;
  name)
    # show NAME shows a superseded entry too; the bench names one that is not.
    echo "WITH n(now) AS (SELECT $now)
SELECT $object FROM n, keys k LEFT JOIN certificates c ON c.id = k.current_certificate_id
  WHERE k.name = '${arg//\'/\'\'}';" ;;
  *) echo "list_sql.sh: unknown mode $mode" >&2; exit 2 ;;
esac
