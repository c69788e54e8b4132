// keysafe store copy: move a whole store between backends (SQLite file <-> PostgreSQL).
#include <ostream>

#include "commands.hpp"
#include "keysafe/store/copy.hpp"
#include "progress.hpp"
#include "render.hpp"

namespace keysafe::cli {
namespace {
struct CopyArgs {
  std::string from;
  std::string to;
};
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
  copy->footer(R"(
Copies every row (entries with their sealed private keys, certificates, chains, requests, CA
state, deployments, settings, key files and the audit log) in one transaction, so TO holds all
of it or nothing. Sealed keys stay sealed: no passphrase is needed, and the copy opens with the
same passphrase (and key files) as FROM. Then both are read back: the row count and SHA-256 of
every table must match, row checksums recomputed by TO included; TO then opens as a store.
FROM is not changed. Database passwords come from libpq (~/.pgpass, PGPASSFILE, PGPASSWORD).
The copy has the same data key as FROM: after moving, retire or delete FROM (or rotate the copy's
data key: keysafe --store TO passwd --rotate-data-key).

EXAMPLES:
  keysafe store copy /var/lib/keysafe/keystore.db postgresql://keysafe@db1,db2/keysafe?target_session_attrs=read-write
  keysafe store copy postgresql://keysafe@db1/keysafe /media/offline/keystore.db
  keysafe --store /media/offline/keystore.db check)");
  return [a](Context& ctx) {
    Progress progress(ctx, "copying");
    std::size_t done = 0;
    const auto result = store::copy_store(a->from, a->to, [&](const std::string&, std::int64_t) {
      progress.update(++done, 12);
    });
    progress.finish();
    std::int64_t rows = 0;
    for (const auto& t : result.tables) rows += t.rows;
    if (ctx.options.json) {
      nlohmann::json tables = nlohmann::json::array();
      for (const auto& t : result.tables)
        tables.push_back({{"table", t.table}, {"rows", t.rows}, {"sha256", t.sha256}});
      ctx.out << nlohmann::json{{"from", a->from}, {"to", a->to}, {"entries", result.entries},
                                {"rows", rows}, {"tables", tables}, {"verified", true}}
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
    return 0;
  };
}

}  // namespace keysafe::cli
