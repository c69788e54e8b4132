// keysafe store copy: move a whole store between backends (SQLite file <-> PostgreSQL).
#include <optional>
#include <ostream>

#include "commands.hpp"
#include "context.hpp"
#include "keysafe/store/copy.hpp"
#include "keysafe/store/keystore.hpp"
#include "progress.hpp"
#include "render.hpp"

namespace keysafe::cli {
namespace {
struct CopyArgs {
  std::string from;
  std::string to;
  bool rotate_data_key = false;
};

// The passphrase is checked on FROM before anything is written, so a mistyped one leaves no
// copy behind that still shares FROM's data key.
SecureBytes passphrase_opening(const Context& ctx, const std::string& from) {
  if (ctx.key_file())
    throw Error(Errc::Usage, "--rotate-data-key needs the store passphrase, not a key file",
                "the copy's new data key is wrapped under the passphrase",
                "run it without --key-file / KEYSAFE_KEY_FILE");
  auto pass = ctx.store_passphrase(false);
  auto source = store::Keystore::open(from);
  source.unlock(pass);
  return pass;
}
}  // namespace

Action setup_store(CLI::App& cmd) {
  cmd.require_subcommand(1);
  auto a = std::make_shared<CopyArgs>();
  auto* copy = cmd.add_subcommand(
      "copy", "copy a whole store to another backend (SQLite file <-> PostgreSQL database)");
  copy->add_option("FROM", a->from, "the store to copy: a file, or a postgresql:// URI")
      ->required();
  copy->add_option("TO", a->to,
                   "where the copy goes: a path where no file exists, or a postgresql:// URI of "
                   "an empty database (or schema: ?options=-csearch_path%3DSCHEMA)")
      ->required();
  copy->add_flag("--rotate-data-key", a->rotate_data_key,
                 "re-key the copy: once copied and verified, every private key in TO is re-sealed "
                 "under a new data key (needs the store passphrase), so FROM and its passphrase "
                 "open nothing in TO");
  copy->footer(R"(
Copies every row (entries with their sealed private keys, certificates, chains, requests, CA
state, deployments, settings, key files and the audit log) in one transaction, so TO holds all
of it or nothing. Sealed keys stay sealed: no passphrase is needed, and the copy opens with the
same passphrase (and key files) as FROM. Then both are read back: the row count and SHA-256 of
every table must match, row checksums recomputed by TO included; TO then opens as a store.
FROM is not changed. Database passwords come from libpq (~/.pgpass, PGPASSFILE, PGPASSWORD).
The copy has the same data key as FROM: after moving, retire or delete FROM, or re-key the copy
with --rotate-data-key (the same as keysafe --store TO passwd --rotate-data-key afterwards: the
passphrase stays, key files of FROM do not open TO).

EXAMPLES:
  keysafe store copy /var/lib/keysafe/keystore.db postgresql://keysafe@db1,db2/keysafe?target_session_attrs=read-write
  keysafe store copy postgresql://keysafe@db1/keysafe /media/offline/keystore.db
  keysafe --store /media/offline/keystore.db check
  keysafe store copy --rotate-data-key old.db postgresql://keysafe@db1/keysafe)");
  return [a](Context& ctx) {
    std::optional<SecureBytes> pass;
    if (a->rotate_data_key) pass = passphrase_opening(ctx, a->from);
    Progress progress(ctx, "copying");
    std::size_t done = 0;
    const auto result = store::copy_store(a->from, a->to, [&](const std::string&, std::int64_t) {
      progress.update(++done, 12);
    });
    progress.finish();
    std::int64_t rows = 0;
    for (const auto& t : result.tables) rows += t.rows;
    std::size_t key_files_removed = 0;
    if (pass) {
      // A second transaction: if it fails, TO is a complete copy under FROM's data key, and
      // the error says so (Keystore::rotate_data_key rolls back whole).
      try {
        auto target = store::Keystore::open(a->to);
        target.unlock(*pass);
        key_files_removed = target.rotate_data_key();
      } catch (const Error& e) {
        throw Error(e.code(), "copied to " + a->to + ", but its data key was not rotated",
                    e.summary() + (e.cause().empty() ? "" : ": " + e.cause()),
                    "keysafe --store " + a->to + " passwd --rotate-data-key");
      }
    }
    if (ctx.options.json) {
      nlohmann::json tables = nlohmann::json::array();
      for (const auto& t : result.tables)
        tables.push_back({{"table", t.table}, {"rows", t.rows}, {"sha256", t.sha256}});
      ctx.out << nlohmann::json{{"from", a->from}, {"to", a->to}, {"entries", result.entries},
                                {"rows", rows}, {"tables", tables}, {"verified", true},
                                {"data_key_rotated", pass.has_value()},
                                {"key_files_removed", key_files_removed}}
                     .dump(2, ' ', false, k_invalid_utf8)
              << '\n';
      return 0;
    }
    for (const auto& t : result.tables)
      ctx.out << "  " << t.table << std::string(t.table.size() < 20 ? 20 - t.table.size() : 1, ' ')
              << t.rows << " row(s)  sha256 " << t.sha256.substr(0, 16) << "...\n";
    ctx.out << "copied " << result.entries << " entr" << (result.entries == 1 ? "y" : "ies")
            << " (" << rows << " rows) from " << a->from << " to " << a->to << "\n"
            << "verified: every table's row count and SHA-256 match, row checksums recomputed by "
               "the copy included\n"
            << "the copy opens with the same passphrase: keysafe --store " << a->to << " check\n";
    if (pass)
      ctx.out << "rotated the copy's data key: every private key in it re-sealed under a new key"
              << (key_files_removed > 0 ? "; FROM's " + std::to_string(key_files_removed) +
                                              " key file(s) do not open it"
                                        : std::string())
              << "\n";
    return 0;
  };
}

}  // namespace keysafe::cli
