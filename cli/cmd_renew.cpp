// keysafe renew: a new request (new key or same key) for an entry, completed at once by a
// local CA; --all --due DAYS for a timer.
#include <chrono>
#include <ostream>

#include "commands.hpp"
#include "keysafe/ops/auto_backup.hpp"
#include "keysafe/ops/clock.hpp"
#include "keysafe/files/io.hpp"
#include "keysafe/ops/inventory.hpp"
#include "keysafe/ops/renew.hpp"
#include "render.hpp"

namespace keysafe::cli {

namespace {

struct RenewArgs {
  std::string name;
  bool same_key = false;
  std::int64_t days = 0;
  std::string key;
  std::string output;
  bool all = false;
  std::string due;
  std::string dir = ".";
  bool force = false;
  std::size_t parallel = ops::k_default_parallel_orders;
};

std::string default_request_file(const std::string& name) { return name + ".renewal.req"; }

nlohmann::json renew_json(const ops::RenewResult& r, const std::string& request_file) {
  nlohmann::json j{{"name", r.name},
                   {"same_key", r.same_key},
                   {"completed", r.completed},
                   {"ca", r.ca.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.ca)},
                   {"pending_name", r.pending_name.empty() ? nlohmann::json(nullptr)
                                                           : nlohmann::json(r.pending_name)},
                   {"replaced_name", r.replaced_name.empty() ? nlohmann::json(nullptr)
                                                             : nlohmann::json(r.replaced_name)},
                   {"request_file", request_file.empty() ? nlohmann::json(nullptr)
                                                         : nlohmann::json(request_file)},
                   {"warnings", r.warnings},
                   {"notes", r.hook.notes},
                   {"failures", r.hook.failures}};
  if (r.certificate)
    j["certificate"] = {{"serial", r.certificate->serial_hex},
                        {"fingerprint_sha256", r.certificate->fingerprint_sha256},
                        {"not_before", time_or_null(r.certificate->not_before)},
                        {"not_after", time_or_null(r.certificate->not_after)}};
  else
    j["certificate"] = nullptr;
  if (r.acme)
    j["acme"] = {{"account", r.acme->account},
                 {"directory", r.acme->directory},
                 {"challenge", r.acme->challenge},
                 {"challenge_param", r.acme->challenge_param},
                 {"order_url", r.acme->order_url},
                 {"replaces", r.acme->replaces.empty() ? nlohmann::json(nullptr)
                                                       : nlohmann::json(r.acme->replaces)},
                 {"preferred_chain", r.acme->preferred_chain ? nlohmann::json(*r.acme->preferred_chain)
                                                             : nlohmann::json(nullptr)},
                 {"chain_top_issuer", r.acme->chain_top_issuer}};
  else
    j["acme"] = nullptr;
  return j;
}

void print_renewal(Context& ctx, const ops::RenewResult& r, const std::string& request_file) {
  if (r.completed && r.acme) {
    ctx.out << "renewed \"" << r.name << "\" by ACME (account \"" << r.acme->account << "\", order "
            << r.acme->order_url << "): serial " << r.certificate->serial_hex << ", valid until "
            << ops::format_rfc3339(r.certificate->not_after) << ", now current";
    if (!r.replaced_name.empty())
      ctx.out << "; new key; the previous entry is kept as \"" << r.replaced_name << "\"";
    ctx.out << '\n';
  } else if (r.completed) {
    ctx.out << "renewed \"" << r.name << "\": \"" << r.ca << "\" issued serial "
            << r.certificate->serial_hex << ", valid until "
            << ops::format_rfc3339(r.certificate->not_after) << ", now current";
    if (!r.replaced_name.empty())
      ctx.out << "; new key; the previous entry is kept as \"" << r.replaced_name << "\"";
    ctx.out << '\n';
  } else {
    ctx.out << "renewal of \"" << r.name << "\" requested ("
            << (r.same_key ? std::string("same key")
                           : "new key in pending entry \"" + r.pending_name + "\"")
            << "); request written to " << request_file << "\n"
            << ctx.fixes("send it to the CA, then run: keysafe install CERTIFICATE-FILE");
    if (!r.same_key)
      ctx.out << "\n(when installed, the new entry takes the name \"" << r.name
              << "\"; the current certificate stays in use until then)";
    ctx.out << '\n';
  }
  for (const auto& n : r.hook.notes) ctx.out << ctx.fixes(n) << '\n';
}

int run_all(Context& ctx, const RenewArgs& a) {
  const std::int64_t days = ops::parse_days(a.due);
  if (!std::filesystem::is_directory(a.dir))
    throw Error(Errc::Usage, "\"" + a.dir + "\" is not a directory",
                "--dir names where the requests for external CAs are written",
                "create it first, or choose another with --dir");
  auto store = ctx.open_store();
  const auto now = ctx.env.now();
  ctx.unlock(store);
  const auto started = std::chrono::steady_clock::now();
  auto all = ops::renew_due(store, days, a.same_key, now, a.parallel);
  const auto elapsed_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::steady_clock::now() - started)
                              .count();
  const auto backup_config = ops::auto_backup_config(store);
  nlohmann::json items = nlohmann::json::array();
  for (auto& item : all.items) {
    std::string request_file;
    if (item.result && !item.result->completed) {
      request_file = (std::filesystem::path(a.dir) / default_request_file(item.name)).string();
      try {
        files::write_file_atomically(request_file, item.result->request_pem, 0644,
                                   files::Overwrite::Allow);
      } catch (const Error& e) {
        item.status = "failed";
        item.detail = "the request was made but " + e.summary() +
                      "; write it again with: keysafe request " +
                      (item.result->same_key ? item.name : item.result->pending_name);
        --all.requested;
        ++all.failed;
        request_file.clear();
      }
    }
    if (item.result && backup_config) {
      const std::string entry = item.result->completed || item.result->same_key
                                    ? item.name
                                    : item.result->pending_name;
      try {
        (void)ops::auto_backup(store, *backup_config, entry, now);
      } catch (const Error& e) {
        ctx.warn("automatic backup of \"" + entry + "\" failed: " + e.summary());
      }
    }
    if (item.result)
      for (const auto& w : item.result->warnings) ctx.warn(w);
    if (ctx.options.json) {
      nlohmann::json j{{"name", item.name},
                       {"status", item.status},
                       {"detail", item.detail.empty() ? nlohmann::json(nullptr)
                                                      : nlohmann::json(item.detail)},
                       {"not_after", time_or_null(item.not_after)},
                       {"due", item.due_reason},
                       {"acme", item.acme},
                       {"elapsed_ms", item.elapsed_ms}};
      if (item.ari)
        j["ari"] = {{"cert_id", item.ari->cert_id},
                    {"window_start", time_or_null(item.ari->window_start)},
                    {"window_end", time_or_null(item.ari->window_end)},
                    {"renew_at", time_or_null(item.ari->renew_at)},
                    {"retry_after", time_or_null(item.ari->retry_after)},
                    {"explanation_url", item.ari->explanation_url.empty()
                                            ? nlohmann::json(nullptr)
                                            : nlohmann::json(item.ari->explanation_url)},
                    {"problem", item.ari->problem.empty() ? nlohmann::json(nullptr)
                                                          : nlohmann::json(item.ari->problem)}};
      else
        j["ari"] = nullptr;
      j["renewal"] = item.result ? renew_json(*item.result, request_file) : nlohmann::json(nullptr);
      items.push_back(std::move(j));
      continue;
    }
    if (item.status == "not-due") {
      ctx.out << "not due \"" << item.name << "\": " << item.detail << '\n';
    } else if (item.status == "skipped") {
      ctx.out << "skipped \"" << item.name << "\": " << item.detail << '\n';
    } else if (item.status == "failed") {
      ctx.out << "FAILED \"" << item.name << "\": " << ctx.fixes(item.detail) << '\n';
    } else if (item.result) {
      print_renewal(ctx, *item.result, request_file);
    }
  }
  const int rc = all.failed > 0 ? k_exit_renew_failed : 0;
  if (ctx.options.json) {
    ctx.out << nlohmann::json{{"due_days", days},
                              {"parallel", a.parallel},
                              {"elapsed_ms", elapsed_ms},
                              {"renewed", all.renewed},
                              {"requested", all.requested},
                              {"skipped", all.skipped},
                              {"failed", all.failed},
                              {"entries", items}}
                   .dump(2, ' ', false, k_invalid_utf8)
            << '\n';
    return rc;
  }
  ctx.out << "renew --all --due " << days << ": " << all.renewed << " renewed, " << all.requested
          << " requested from an external CA, " << all.skipped << " skipped, " << all.failed
          << " failed";
  if (all.items.empty()) ctx.out << " (nothing expires within " << days << " days)";
  ctx.out << '\n';
  return rc;
}

}  // namespace

Action setup_renew(CLI::App& cmd) {
  auto a = std::make_shared<RenewArgs>();
  cmd.add_option("NAME", a->name, "the entry to renew");
  cmd.add_flag("--same-key", a->same_key,
               "keep the key: a new request for the same key (default: a new key)");
  cmd.add_option("--days", a->days,
                 "validity when a local CA issues it (default: the current certificate's)")
      ->type_name("N");
  cmd.add_option("--key", a->key, "algorithm of the new key (default: the current key's)")
      ->type_name("ALG");
  cmd.add_option("-o,--output", a->output,
                 "where to write the request when an external CA must sign it (default "
                 "NAME.renewal.req; - for standard output)")
      ->type_name("FILE");
  cmd.add_flag("--force", a->force, "overwrite an existing request file");
  cmd.add_flag("--all", a->all, "renew every entry whose certificate expires within --due DAYS");
  cmd.add_option("--due", a->due, "with --all: renew what expires within DAYS (e.g. 30 or 30d; a short-lived certificate "
                 "when less than a third of its validity is left, see below)")
      ->type_name("DAYS");
  cmd.add_option("--parallel", a->parallel,
                 "with --all: how many ACME orders run at once (default 4)")
      ->type_name("N")
      ->check(CLI::Range(1, 64));
  cmd.add_option("--dir", a->dir,
                 "with --all: directory for the requests to external CAs (default: the current "
                 "directory; NAME.renewal.req, replaced if present)")
      ->type_name("DIR");
  cmd.footer(R"(
The new request has the current certificate's subject and subjectAltName. With a new key
(the default) the key waits in a pending entry NAME.renewal; the current certificate stays
in use until the new one is installed, when the pending entry takes the name NAME and the
old entry is kept as NAME.replaced-YYYYMMDD. When a local CA in the store issued the
current certificate, the new one is issued and installed in the same command. An entry
ordered by ACME (keysafe acme issue) is renewed by a new order with its stored account and
challenge, installed and redeployed to its recorded targets at once; a refused order exits 15
and keeps NAME.renewal, which the next renew reuses (docs/ACME.md).
--all renews what is due: fewer than --due DAYS left, except that a certificate whose whole
validity is shorter than 3 x DAYS is due only when less than a third of its validity is left
(a 20-day certificate under --due 30: with under 6 2/3 days left), so that the next run does
not renew it again. It skips CAs and entries whose renewal is pending, and leaves out
superseded entries (NAME.replaced-DATE); exit code 14 when any entry failed. Entries
ordered by ACME are renewed by new orders, --parallel N at once (default 4), each with its own
connection to the CA; orders answering HTTP-01 on the same address share one listener. The
results are listed in the entries' order; --json gives each entry's "due" reason
("days-left", or "ari-window" when the CA's renewalInfo window said so) and elapsed_ms.
When the CA offers ACME Renewal Information (ARI, RFC 9773), each ACME entry is also due
from a time chosen at random in the CA's suggested window (even with more than DAYS left),
its order sends "replaces", and an entry whose window has not come is listed as "not-due".

EXAMPLES:
  keysafe renew www.example.com
  keysafe renew www.example.com --same-key -o www.csr
  keysafe renew --all --due 30
  keysafe renew --all --due 30 --dir /var/lib/keysafe/requests --json)");
  return [a](Context& ctx) {
    if (a->all) {
      if (!a->name.empty() || !a->output.empty())
        throw Error(Errc::Usage, "--all renews every due entry: give no NAME and no -o",
                    "requests for external CAs go to --dir", "keysafe renew --all --due 30");
      if (a->due.empty())
        throw Error(Errc::Usage, "--all needs --due DAYS", "it renews what expires within DAYS",
                    "keysafe renew --all --due 30");
      return run_all(ctx, *a);
    }
    if (a->name.empty())
      throw Error(Errc::Usage, "name the entry to renew, or use --all --due DAYS", "",
                  "keysafe renew www.example.com");
    if (!a->due.empty())
      throw Error(Errc::Usage, "--due goes with --all", "", "keysafe renew --all --due 30");
    ops::RenewParams p;
    p.name = a->name;
    p.same_key = a->same_key;
    if (a->days > 0) p.days = a->days;
    if (!a->key.empty()) {
      if (a->same_key)
        throw Error(Errc::Usage, "--key chooses the new key's algorithm; --same-key keeps the key",
                    "", "drop one of them");
      p.algorithm = x509::parse_key_algorithm(a->key);
      if (!p.algorithm)
        throw Error(Errc::Usage, "\"" + a->key + "\" is not a key algorithm keysafe creates",
                    "choose ec-p256, ec-p384, rsa-2048, rsa-3072, rsa-4096 or ed25519", "");
    }
    p.now = ctx.env.now();
    const std::string output = a->output.empty() ? default_request_file(a->name) : a->output;
    if (!ctx.options.json)
      p.progress = [&ctx](const std::string& line) { ctx.err << "keysafe: " << line << '\n'; };
    auto store = ctx.open_store();
    ops::prepare_renew(store, p);
    ctx.unlock(store);
    const auto r = ops::renew(store, p);
    std::string request_file;
    if (!r.completed) {
      if (output == "-") {
        ctx.out << r.request_pem;
      } else {
        try {
          files::write_file_atomically(output, r.request_pem, 0644,
                                     a->force ? files::Overwrite::Allow : files::Overwrite::Refuse);
        } catch (const Error& e) {
          throw Error(e.code(), "the renewal request of \"" + r.name + "\" was made, but " +
                                    e.summary(),
                      e.cause(), "write it again with: keysafe request " +
                                     (r.same_key ? r.name : r.pending_name) + " -o FILE");
        }
        request_file = output;
      }
    }
    if (auto config = ops::auto_backup_config(store))
      (void)ops::auto_backup(store, *config,
                             r.completed || r.same_key ? r.name : r.pending_name, p.now);
    for (const auto& w : r.warnings) ctx.warn(w);
    for (const auto& f : r.hook.failures) ctx.warn(f);
    if (ctx.options.json) {
      if (output != "-" || r.completed) ctx.out << renew_json(r, request_file).dump(2, ' ', false, k_invalid_utf8) << '\n';
    } else if (output != "-" || r.completed) {
      print_renewal(ctx, r, request_file);
    }
    return r.hook.failures.empty() ? 0 : k_exit_renew_failed;
  };
}

}  // namespace keysafe::cli
