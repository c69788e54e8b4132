// Every command, listed explicitly, in the order --help shows them.
#include "commands.hpp"

namespace keysafe::cli {

std::span<const CommandSpec> commands() {
  // A plain array: adding a command is one line, no count to keep in step.
  static const CommandSpec k_commands[] = {
      {"init", "create a new encrypted keystore", setup_init},
      {"create", "generate a key pair in the store and write its certificate request",
       setup_create},
      {"request", "write the stored certificate request of an entry again", setup_request},
      {"install", "install the certificate a CA returned, matched to its stored key",
       setup_install},
      {"list", "list the entries of the store (no passphrase needed)", setup_list},
      {"show", "show one entry in detail (no passphrase needed)", setup_show},
      {"backup", "write a verified, encrypted backup of keys, certificates and requests",
       setup_backup},
      {"restore", "restore a backup into this store (any machine)", setup_restore},
      {"recover", "after losing a host: store, restore and redeploy from one backup", setup_recover},
      {"export", "export an entry as PKCS#12, PEM or DER, verified after writing", setup_export},
      {"import", "import keys and certificates (PKCS#12, PEM, DER, PKCS#7), paired by key",
       setup_import},
      {"adopt", "take over what nginx, Apache or HAProxy already serves: import its keys, record its files as deployments",
       setup_adopt},
      {"check", "check the store: integrity, keys, certificates, chains, expiry, backups",
       setup_check},
      {"delete", "delete an entry (refused while its key has no verified backup)", setup_delete},
      {"rename", "give an entry another name (deployments, CA records and history follow)", setup_rename},
      {"passwd", "change the store passphrase or raise its KDF cost", setup_passwd},
      {"audit", "show the append-only audit log; --verify checks its hash chain", setup_audit},
      {"config", "store settings: automatic backups to a recovery certificate", setup_config},
      {"deploy", "write an entry's key and certificate where a server reads them; test, reload, probe",
       setup_deploy},
      {"deployments", "list what is deployed where (no passphrase needed)", setup_deployments},
      {"status", "check that every deployment target serves the newest certificate",
       setup_status},
      {"help-man", "write the manual page (roff) made from this help", setup_help_man},
      {"completion", "write a shell completion script (bash)", setup_completion},
      {"issue-bulk", "create many keys with certificates from a local CA in one transaction",
       setup_issue_bulk},
      {"ca", "local certificate authorities: init, sign, revoke, crl, list, export", setup_ca},
      {"selfsign", "give a stored key a self-signed certificate", setup_selfsign},
      {"renew", "renew an entry (new key or same key); --all --due DAYS for a timer",
       setup_renew},
      {"calendar", "write an iCalendar file with a reminder before each expiry",
       setup_calendar},
      {"find-key", "find the backup that holds a certificate's key (headers only, no secret)", setup_find_key},
      {"salvage", "copy what still reads of a damaged store into a new store", setup_salvage},
      {"inspect", "tell what a file is and which entry holds its key (no passphrase)", setup_inspect},
      {"store", "copy a whole store between backends (SQLite file <-> PostgreSQL)", setup_store},
      {"host", "fleet hosts: add (a host key), rotate, list, show, remove", setup_host},
      {"assign", "have a host serve an entry: its key sealed to the host, the assignment signed",
       setup_assign},
      {"unassign", "stop a host serving an entry", setup_unassign},
      {"agent", "on a host: deploy what the store assigns to it, report what it serves",
       setup_agent},
      {"fleet", "every host x entry: newest, deployed and served certificate, state", setup_fleet},
      {"serve", "the store over HTTPS: a JSON API and a web page (docs/API.md)", setup_serve},
      {"acme", "ACME (Let's Encrypt, any RFC 8555 CA): account create|list|show|rollover|deactivate, issue, revoke",
       setup_acme},
  };
  return k_commands;
}

std::span<const HelpGroup> help_groups() {
  // Names of commands other branches add are listed already; a name with no command is ignored.
  static constexpr const char* k_keys[] = {"init",    "create", "request", "install", "import",
                                           "export",  "selfsign", "renew", "acme", "rename",  "list",
                                           "show",    "inspect", "delete"};
  static constexpr const char* k_backup[] = {"backup", "restore", "recover", "find-key",
                                             "salvage"};
  static constexpr const char* k_ca[] = {"ca", "issue-bulk"};
  static constexpr const char* k_deploy[] = {"deploy", "adopt", "deployments", "status"};
  static constexpr const char* k_store[] = {"check", "audit", "passwd", "config", "calendar", "store",
                                            "serve"};
  static constexpr const char* k_fleet[] = {"host", "assign", "unassign", "agent", "fleet"};
  static const std::array<HelpGroup, 6> k_groups = {{
      {"Keys and certificates", k_keys},
      {"Backup and recovery", k_backup},
      {"Local certificate authorities", k_ca},
      {"Deployment", k_deploy},
      {"Fleets of hosts", k_fleet},
      {"Store and monitoring", k_store},
  }};
  return k_groups;
}

}  // namespace keysafe::cli
