// The command registry: each command declares its options and returns what to run.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <span>

#include "context.hpp"

namespace keysafe::cli {

// Runs the command after parsing; returns the exit code. Errors are thrown as keysafe::Error.
using Action = std::function<int(Context&)>;

struct CommandSpec {
  const char* name;
  const char* summary;
  Action (*setup)(CLI::App& command);
};

std::span<const CommandSpec> commands();

// The headings of --help, in order, with the commands listed under each. A command named in
// none of them is listed under k_other_commands, so a new command always shows up.
struct HelpGroup {
  const char* heading;
  std::span<const char* const> commands;
};
std::span<const HelpGroup> help_groups();
inline constexpr const char* k_other_commands = "Other commands";

Action setup_init(CLI::App& command);
Action setup_create(CLI::App& command);
Action setup_request(CLI::App& command);
Action setup_install(CLI::App& command);
Action setup_list(CLI::App& command);
Action setup_show(CLI::App& command);
Action setup_backup(CLI::App& command);
Action setup_restore(CLI::App& command);
Action setup_recover(CLI::App& command);
Action setup_config(CLI::App& command);
Action setup_export(CLI::App& command);
Action setup_import(CLI::App& command);
Action setup_adopt(CLI::App& command);
Action setup_check(CLI::App& command);
Action setup_delete(CLI::App& command);
Action setup_passwd(CLI::App& command);
Action setup_audit(CLI::App& command);
Action setup_ca(CLI::App& command);
Action setup_selfsign(CLI::App& command);
Action setup_renew(CLI::App& command);
Action setup_calendar(CLI::App& command);
Action setup_deploy(CLI::App& command);
Action setup_deployments(CLI::App& command);
Action setup_status(CLI::App& command);
Action setup_help_man(CLI::App& command);
Action setup_completion(CLI::App& command);
Action setup_issue_bulk(CLI::App& command);
Action setup_find_key(CLI::App& command);
Action setup_inspect(CLI::App& command);
Action setup_salvage(CLI::App& command);
Action setup_store(CLI::App& command);
Action setup_host(CLI::App& command);
Action setup_assign(CLI::App& command);
Action setup_unassign(CLI::App& command);
Action setup_agent(CLI::App& command);
Action setup_fleet(CLI::App& command);
// ca trust / ca untrust, added to `ca` (cmd_ca_trust.cpp).
Action setup_ca_trust(CLI::App& ca);
Action setup_rename(CLI::App& command);
Action setup_serve(CLI::App& command);
Action setup_acme(CLI::App& command);

// Exit codes of `list --expiring` for monitoring (docs/EXIT-CODES.md).
inline constexpr int k_exit_expiring = 10;
inline constexpr int k_exit_expired = 11;
// Exit codes of `status` (a deployment target not serving the newest certificate).
inline constexpr int k_exit_stale = 12;
inline constexpr int k_exit_unreachable = 13;
// Exit code of `renew --all` when renewing some entry failed.
inline constexpr int k_exit_renew_failed = 14;
// Exit codes of `check`.
inline constexpr int k_exit_warnings = 7;
inline constexpr int k_exit_damaged = 8;

}  // namespace keysafe::cli
