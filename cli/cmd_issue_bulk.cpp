// keysafe issue-bulk: many keys, requests and certificates from a local CA, in one transaction.
#include <ostream>

#include "commands.hpp"
#include "keysafe/ops/auto_backup.hpp"
#include "keysafe/ops/bulk_issue.hpp"
#include "keysafe/ops/clock.hpp"
#include "progress.hpp"
#include "render.hpp"

namespace keysafe::cli {

namespace {
struct IssueBulkArgs {
  std::string ca;
  std::size_t count = 0;
  std::string prefix;
  std::string dns_suffix;
  unsigned threads = 0;
  int days = 90;
};
}  // namespace

Action setup_issue_bulk(CLI::App& cmd) {
  auto a = std::make_shared<IssueBulkArgs>();
  cmd.add_option("CA", a->ca, "the issuing CA: a store entry with its key and CA certificate "
                              "(keysafe ca init, or an imported CA key and certificate)")
      ->required();
  cmd.add_option("--count", a->count, "how many entries to create")->required()->type_name("N");
  cmd.add_option("--prefix", a->prefix, "entries are named PREFIX-1 ... PREFIX-N (zero-padded)")
      ->required()
      ->type_name("NAME");
  cmd.add_option("--dns-suffix", a->dns_suffix,
                 "each certificate's DNS name is its entry name followed by SUFFIX "
                 "(e.g. .test.example); default: the entry name alone")
      ->type_name("SUFFIX");
  cmd.add_option("--threads", a->threads, "worker threads (default: one per processor)")
      ->type_name("T");
  cmd.add_option("--days", a->days, "validity of each certificate in days (default 90)")
      ->type_name("DAYS");
  cmd.footer(R"(
For test fleets and CI: creates N new entries, each with a P-256 key sealed in the store, its
request, and a server certificate (basicConstraints CA:FALSE, keyUsage digitalSignature,
extendedKeyUsage serverAuth, subjectAltName DNS = NAME+SUFFIX, key identifiers, random 128-bit
serial) issued by CA and installed. Keys are generated and sealed on worker threads; all
entries are stored in one transaction, so either all of them exist afterwards or none does.
One key derivation unlocks the store. Progress is shown on a terminal (stderr). No automatic
backup is written: back the new keys up with keysafe backup --all.

EXAMPLES:
  keysafe ca init test-ca
  keysafe issue-bulk test-ca --count 2000 --prefix host --dns-suffix .test.example
  keysafe issue-bulk test-ca --count 50 --prefix edge --threads 2 --days 30 --json)");
  return [a](Context& ctx) {
    ops::BulkIssueParams params;
    params.ca = a->ca;
    params.count = a->count;
    params.prefix = a->prefix;
    params.dns_suffix = a->dns_suffix;
    params.threads = a->threads;
    params.days = a->days;
    params.now = ctx.env.now();
    auto store = ctx.open_store();
    ops::prepare_bulk_issue(store, params);
    ctx.unlock(store);
    Progress progress(ctx, "issuing certificates");
    params.progress = progress.callback();
    const auto result = ops::issue_bulk(store, params);
    progress.finish();
    if (ops::auto_backup_config(store))
      ctx.warn("no automatic backup was written for the " + std::to_string(result.names.size()) +
               " new keys: back them up with: keysafe backup --all -o FILE");
    if (ctx.options.json) {
      ctx.out << nlohmann::json{{"ca", result.ca},
                                {"count", result.names.size()},
                                {"threads", result.threads},
                                {"first", result.names.front()},
                                {"last", result.names.back()},
                                {"not_after", ops::format_rfc3339(result.not_after)}}
                     .dump(2, ' ', false, k_invalid_utf8)
              << '\n';
      return 0;
    }
    ctx.out << "issued " << result.names.size() << " certificates from \"" << result.ca
            << "\" into " << store.path().string() << ": " << result.names.front() << " ... "
            << result.names.back() << ", valid until " << ops::format_rfc3339(result.not_after)
            << '\n';
    return 0;
  };
}

}  // namespace keysafe::cli
