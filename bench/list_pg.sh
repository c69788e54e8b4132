#!/usr/bin/env bash
# Prints the SQL with which PostgreSQL itself builds the JSON document that
# `keysafe list --expiring DAYS --json` prints on a PostgreSQL store: the same rows, fields,
# value types, dates (RFC 3339, UTC: to_char(... AT TIME ZONE 'UTC', ...)) and derived fields
# (state, days_left, weak_key, backed_up) as bench/list_sql.sh gives SQLite. The baseline of the
# PostgreSQL list row (bench/pg.sh): `psql -At -f FILE`, json_agg(json_build_object(...)) in the
# server. bench/pg.sh checks that its output equals keysafe's (jq -S) before timing either.
#
#   list_pg.sh expiring DAYS [NOW]
set -euo pipefail
mode=${1:?usage: list_pg.sh expiring DAYS [NOW]}
days=${2:?DAYS}
now=${3:-"extract(epoch FROM now())::bigint"}
[ "$mode" = expiring ] || { echo "list_pg.sh: unknown mode $mode" >&2; exit 2; }

rfc3339() { echo "to_char(to_timestamp($1) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"; }
cat <<SQL
WITH n(now) AS (SELECT $now),
superseded AS (SELECT renews_key_id AS id FROM keys
               WHERE renews_key_id IS NOT NULL AND current_certificate_id IS NOT NULL)
SELECT coalesce(json_agg(json_build_object(
  'backed_up', k.last_backup_at IS NOT NULL,
  'certificates', (SELECT count(*) FROM certificates h WHERE h.key_id = k.id),
  'chain_problem', nullif(c.chain_problem, ''),
  'chain_trusted', c.chain_trusted <> 0,
  'created', $(rfc3339 k.created_at),
  'days_left', CASE WHEN c.not_after - n.now + 43200 >= 0 THEN (c.not_after - n.now + 43200) / 86400
                    ELSE -((n.now - c.not_after - 43200 + 86399) / 86400) END,
  'dns', c.dns::json,
  'fingerprint_sha256', c.fingerprint_sha256,
  'ip', c.ip::json,
  'issuer', c.issuer,
  'key_algorithm', k.algorithm,
  'last_backup', $(rfc3339 k.last_backup_at),
  'name', k.name,
  'not_after', $(rfc3339 c.not_after),
  'not_before', $(rfc3339 c.not_before),
  'serial', c.serial,
  'spki_sha256', k.spki_sha256,
  'state', CASE WHEN k.sealed_private_key IS NULL THEN 'no-key'
                WHEN c.not_after < n.now THEN 'expired'
                ELSE 'installed' END,
  'subject', c.subject,
  'superseded_by', NULL,
  'weak_key', CASE WHEN left(k.algorithm, 4) = 'dsa-' THEN true
                   WHEN left(k.algorithm, 4) = 'rsa-' AND substr(k.algorithm, 5) ~ '^[0-9]+\$'
                     THEN substr(k.algorithm, 5)::bigint BETWEEN 1 AND 2047
                   ELSE false END
) ORDER BY k.name), '[]')
FROM n, certificates c JOIN keys k ON k.id = c.key_id AND k.current_certificate_id = c.id
WHERE c.not_after <= n.now + $days * 86400 AND k.id NOT IN (SELECT id FROM superseded);
SQL
