# keysafe-test: sqlite-only — file modes and ownership of the store file (0600, unreadable, read-only directory)
# Permissions: the "unreadable store" cases run as an unprivileged user (runuser -u nobody) and
# get a precise diagnosis (exit 4, permission denied, which file, the fix); root reads a mode-000
# store. Needs root and runuser (skipped otherwise, see skip in lib.sh).
source "$KEYSAFE_TESTS/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root (runs a case as nobody)"
require_tool runuser util-linux
id nobody >/dev/null 2>&1 || skip "there is no user nobody"

# A directory nobody can traverse, holding a copy of the binary (the build tree may not be
# reachable by nobody) and the stores.
P=$(mktemp -d /tmp/keysafe-perm.XXXXXX)
on_exit 'rm -rf "$P"'
chmod 755 "$P"
install -m 0755 "$KEYSAFE_BIN" "$P/keysafe"
as_nobody() {
  OUT=$(cd "$P" && runuser -u nobody -- env -i PATH=/usr/bin:/bin HOME="$P" \
    KEYSAFE_PASSPHRASE="$KEYSAFE_PASSPHRASE" "$P/keysafe" "$@" 2>"$T/.stderr"); RC=$?
  ERR=$(<"$T/.stderr")
}
as_nobody --version
expect_rc 0 "nobody can run the copied binary"

export KEYSAFE_STORE="$P/root.db"
new_store
ks create www --dns www.example.test -o www.req; expect_rc 0 "create www as root"
h=$(store_hash)

# 1. The store is root's, mode 0600: nobody cannot read it.
as_nobody list --store "$P/root.db"
expect_rc 4 "nobody: list of root's 0600 store"
expect_in "cannot read the keystore \"$P/root.db\"" "$ERR" "names the file"
expect_in "permission denied" "$ERR" "says permission denied"
expect_in "run keysafe as the store's owner" "$ERR" "fix: run as the owner"
expect_in "chmod 600 $P/root.db" "$ERR" "fix: the mode"
expect_not_in "internal" "$ERR" "not an internal error"
as_nobody --json list --store "$P/root.db"
expect_rc 4 "nobody: --json"
expect_eq "$(jget .error.code)" "store-permission" "--json code store-permission"
as_nobody create other --dns other.example.test --store "$P/root.db" -o "$P/other.req"
expect_rc 4 "nobody: create in root's store"
expect_in "permission denied" "$ERR" "create: permission denied"
expect_eq "$(store_hash)" "$h" "root's store unchanged"

# 2. A directory on the path that nobody cannot enter.
mkdir -m 700 "$P/private"
cp "$P/root.db" "$P/private/store.db"
as_nobody list --store "$P/private/store.db"
expect_rc 4 "nobody: store inside a 0700 root directory"
expect_in "cannot reach the keystore \"$P/private/store.db\"" "$ERR" "names the file it cannot reach"
expect_in "permission denied" "$ERR" "says permission denied"
expect_in "permissions of the directories" "$ERR" "fix: the directories on the path"

# 3. A store nobody may read (0644) in a directory nobody may not write: SQLite cannot create
#    the -wal/-shm files beside it, so keysafe opens it read-only (immutable): reading works,
#    a write gets a diagnosis, not a raw SQLite error.
mkdir -m 755 "$P/ro"
cp "$P/root.db" "$P/ro/store.db"; chmod 644 "$P/ro/store.db"
as_nobody list --store "$P/ro/store.db"
expect_rc 0 "nobody lists a readable store in a read-only directory"
expect_in "www" "$OUT" "the entry is listed"
as_nobody --json show www --store "$P/ro/store.db"
expect_rc 0 "nobody shows an entry there"
expect_eq "$(jget .name)" "www" "show reads the entry"
as_nobody check --store "$P/ro/store.db"
expect_rc 0 "nobody checks it (read-only, keys opened with the passphrase)"
expect_in "no damage" "$OUT" "check: no damage"
as_nobody deployments --store "$P/ro/store.db"
expect_rc 0 "nobody lists deployments there"
[ ! -e "$P/ro/store.db-wal" ] && [ ! -e "$P/ro/store.db-shm" ] && ok || bad "no -wal/-shm left"
as_nobody create other --dns other.example.test --store "$P/ro/store.db" -o "$P/other.req"
expect_rc 4 "nobody: create in a store it cannot write"
expect_in "$P/ro/store.db" "$ERR" "names the store"
expect_in "read-only here" "$ERR" "says it is read-only here"
expect_in "permission" "$ERR" "a permission diagnosis"
expect_in "no write permission on its directory $P/ro" "$ERR" "names the directory"
expect_not_in "internal" "$ERR" "not an internal error"

# 4. Nobody's own store works for nobody (the binary and the directory are fine).
mkdir -m 755 "$P/own"; chown nobody "$P/own"
as_nobody init --kdf-cost 10 --store "$P/own/store.db"
expect_rc 0 "nobody creates its own store"
as_nobody create mine --dns mine.example.test --store "$P/own/store.db" -o "$P/own/mine.req"
expect_rc 0 "nobody creates a key in its own store"
expect_eq "$(stat -c '%U %a' "$P/own/store.db")" "nobody 600" "owned by nobody, 0600"

# 5. Root reads (and checks, with the passphrase) a mode-000 store.
chmod 000 "$P/root.db"
ks list --store "$P/root.db"
expect_rc 0 "root lists a mode-000 store"
expect_in "www" "$OUT" "the entry is listed"
ks check --store "$P/root.db"
expect_rc 0 "root checks a mode-000 store (every key opens)"
expect_in "no damage" "$OUT" "no damage"
expect_eq "$(stat -c %a "$P/root.db")" "0" "the mode is left alone"
finish
