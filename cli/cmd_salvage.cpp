// keysafe salvage: copy every entry of a damaged store that still reads and verifies into a
// new store, and name what was lost.
#include <ostream>

#include "commands.hpp"
#include "keysafe/ops/salvage.hpp"
#include "render.hpp"

namespace keysafe::cli {
namespace {
struct SalvageArgs {
  std::string damaged;
  std::string to;
};
}  // namespace

Action setup_salvage(CLI::App& cmd) {
  auto a = std::make_shared<SalvageArgs>();
  cmd.add_option("DAMAGED", a->damaged, "the damaged store file")->required();
  cmd.add_option("--to", a->to, "the new store to create (never over an existing file)")
      ->type_name("NEW")
      ->required();
  cmd.footer(R"(
Reads the damaged store entry by entry, as keysafe check does, and copies every entry whose
rows still read and verify (row checksums, certificate fingerprints and public keys, and the
sealed private key, which only opens undamaged) into a new store with the same passphrase.
Entries that do not are named; restore them from a backup into the new store. Needs the
store passphrase; the damaged store is not changed.

EXAMPLES:
  keysafe check                    # exit 8: what is damaged, what still reads
  keysafe salvage /var/lib/keysafe/keystore.db --to /var/lib/keysafe/salvaged.db
  keysafe --store /var/lib/keysafe/salvaged.db restore last-backup.kbk)");
  return [a](Context& ctx) {
    auto damaged = store::Keystore::open_damaged(a->damaged);
    if (!damaged.header_readable())
      throw Error(Errc::StoreDamaged,
                  "the header of the keystore \"" + a->damaged + "\" cannot be read",
                  "its data key is wrapped there: without it no private key can be opened",
                  "restore the store from a backup into a new store: keysafe init --store NEW "
                  "&& keysafe --store NEW restore BACKUP-FILE");
    const SecureBytes passphrase = ctx.store_passphrase(false);
    damaged.unlock(passphrase, store::OnTampering::Report);
    const auto report = ops::assess_damage(damaged, "");
    const auto result =
        ops::salvage_store(damaged, report, a->to, passphrase, ctx.env.now());
    const std::string restore_fix =
        "restore them from a backup into the new store: keysafe --store " + a->to +
        " restore BACKUP-FILE (keysafe restore BACKUP-FILE --dry-run shows what a backup holds)";
    if (ctx.options.json) {
      nlohmann::json lost = nlohmann::json::array();
      for (const auto& e : result.lost)
        lost.push_back({{"name", e.name ? nlohmann::json(*e.name) : nlohmann::json(nullptr)},
                        {"key_id", e.key_id}, {"problem", e.problem}});
      ctx.out << nlohmann::json{{"from", a->damaged}, {"to", a->to}, {"copied", result.copied},
                                {"lost", lost},
                                {"fix", result.lost.empty() ? "" : restore_fix}}
                     .dump(2, ' ', false, k_invalid_utf8)
              << '\n';
      return result.lost.empty() ? 0 : k_exit_damaged;
    }
    for (const auto& n : result.copied) ctx.out << "copied  " << n << '\n';
    for (const auto& e : result.lost)
      ctx.out << "LOST    " << ops::DamageReport::label(e) << ": " << e.problem << '\n';
    ctx.out << "salvaged " << result.copied.size() << " entr"
            << (result.copied.size() == 1 ? "y" : "ies") << " into " << a->to << " (same passphrase)";
    if (result.lost.empty()) {
      ctx.out << "; nothing was lost\n";
      return 0;
    }
    ctx.out << "; " << result.lost.size() << " lost: ";
    for (std::size_t i = 0; i < result.lost.size(); ++i)
      ctx.out << (i == 0 ? "" : ", ") << ops::DamageReport::label(result.lost[i]);
    ctx.out << "\nfix: " << restore_fix << '\n';
    return k_exit_damaged;
  };
}

}  // namespace keysafe::cli
