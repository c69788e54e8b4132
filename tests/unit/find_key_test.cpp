// Unit tests of the backup index and of find-key's scan: clear headers and indexes only,
// hostile directories (links, FIFOs, garbage), and indexes that do not match their backup.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "keysafe/backup/container.hpp"
#include "keysafe/backup/index.hpp"
#include "keysafe/error.hpp"
#include "keysafe/files/walk.hpp"
#include "keysafe/ops/find_key.hpp"
#include "key_test_support.hpp"

namespace keysafe::ops {
namespace {

namespace fs = std::filesystem;
using keysafe::testing::TempDir;
using keysafe::testing::write_bytes;

const std::string k_a(64, 'a');
const std::string k_b(64, 'b');
const std::string k_c(64, 'c');

Bytes as_bytes(std::string_view s) { return Bytes(s.begin(), s.end()); }

// A passphrase backup (cheapest KDF) naming `names` with `hashes`.
void passphrase_backup(const fs::path& file, const std::vector<std::string>& names,
                       const std::vector<std::string>& hashes,
                       const std::vector<bool>& private_key = {}) {
  const auto pass = keysafe::testing::secret("pw");
  write_bytes(file, backup::seal_with_passphrase(as_bytes("{}"), pass, {10, 8, 1}, 1795700000,
                                                 names, hashes, private_key));
}

// A file standing for a recipient backup and its index (the index's hash is of these bytes).
void indexed_backup(const fs::path& file, const std::string& content,
                    const std::vector<std::string>& names,
                    const std::vector<std::string>& hashes) {
  write_bytes(file, as_bytes(content));
  backup::BackupIndex index;
  index.backup = file.filename().string();
  index.backup_sha256 = to_hex(sha256(as_bytes(content)));
  index.created = 1795700000;
  index.names = names;
  index.spki_sha256 = hashes;
  index.private_key.assign(names.size(), true);
  write_bytes(fs::path(file.string() + ".index.json"), as_bytes(backup::encode_index(index)));
}

TEST(BackupIndex, RoundTrips) {
  backup::BackupIndex in;
  in.backup = "www-20261206T101010Z.p7m";
  in.backup_sha256 = k_c;
  in.created = 1795700000;
  in.names = {"www", "api"};
  in.spki_sha256 = {k_a, k_b};
  in.private_key = {true, false};
  const auto out = backup::decode_index(as_bytes(backup::encode_index(in)), "i");
  EXPECT_EQ(out.backup, in.backup);
  EXPECT_EQ(out.backup_sha256, in.backup_sha256);
  EXPECT_EQ(out.created, in.created);
  EXPECT_EQ(out.names, in.names);
  EXPECT_EQ(out.spki_sha256, in.spki_sha256);
  EXPECT_EQ(out.private_key, in.private_key);
}

TEST(BackupIndex, RefusesWhatKeysafeNeverWrites) {
  const auto damaged = [](const std::string& text) {
    try {
      (void)backup::decode_index(as_bytes(text), "x.index.json");
    } catch (const Error& e) {
      return e.code() == Errc::Damaged && e.summary().find("x.index.json") != std::string::npos;
    }
    return false;
  };
  const std::string head = R"({"format":"keysafe-backup-index","version":1,"created":1,)";
  EXPECT_TRUE(damaged("not json"));
  EXPECT_TRUE(damaged(R"({"format":"something-else"})"));
  EXPECT_TRUE(damaged(R"({"format":1})"));
  EXPECT_TRUE(damaged(head + R"("backup":"x","backup_sha256":")" + k_c +
                      R"(","names":["a"],"spki_sha256":[")" + k_a + R"("],"private_key":"yes"})"));
  EXPECT_TRUE(damaged(head + R"("backup":"../x","backup_sha256":")" + k_c +
                      R"(","names":[],"spki_sha256":[]})"));
  EXPECT_TRUE(damaged(head + R"("backup":"x","backup_sha256":"zz","names":[],"spki_sha256":[]})"));
  EXPECT_TRUE(damaged(head + R"("backup":"x","backup_sha256":")" + k_c +
                      R"(","names":["a","b"],"spki_sha256":[")" + k_a + R"("]})"));
  EXPECT_TRUE(damaged(head + R"("backup":"x","backup_sha256":")" + k_c +
                      R"(","names":["a"],"spki_sha256":["not-a-hash"]})"));
  EXPECT_TRUE(damaged(std::string(backup::k_max_index_size + 1, ' ')));
  EXPECT_FALSE(damaged(head + R"("backup":"x","backup_sha256":")" + k_c +
                       R"(","names":["a"],"spki_sha256":[")" + k_a + R"("]})"));
}

TEST(FindKey, ReadsPassphraseHeadersAndCheckedIndexesRecursively) {
  TempDir dir;
  fs::create_directories(dir.path() / "x" / "y");
  passphrase_backup(dir.path() / "one.kbk", {"www"}, {k_b});
  passphrase_backup(dir.path() / "x" / "y" / "multi.kbk", {"api", "www2", "mail"}, {k_b, k_a, k_c});
  indexed_backup(dir.path() / "x" / "r.p7m", "cms bytes", {"other", "www2"}, {k_c, k_a});
  const auto r = find_key_in_backups({dir.path()}, k_a);
  ASSERT_EQ(r.found.size(), 2u);
  EXPECT_EQ(r.found[0].file, dir.path() / "x" / "r.p7m");
  EXPECT_EQ(r.found[0].entry, "www2");
  EXPECT_EQ(r.found[0].kind, BackupKind::Recipient);
  EXPECT_EQ(r.found[1].file, dir.path() / "x" / "y" / "multi.kbk");
  EXPECT_EQ(r.found[1].entry, "www2");
  EXPECT_EQ(r.found[1].created, 1795700000);
  EXPECT_TRUE(r.problems.empty());
  EXPECT_EQ(r.backups_read, 3u);
  EXPECT_TRUE(find_key_in_backups({dir.path()}, std::string(64, 'd')).found.empty());
}

TEST(FindKey, AnEntryWithoutItsPrivateKeyDoesNotCount) {
  TempDir dir;
  passphrase_backup(dir.path() / "certonly.kbk", {"www", "api"}, {k_a, k_b}, {false, true});
  EXPECT_TRUE(find_key_in_backups({dir.path()}, k_a).found.empty());
  EXPECT_EQ(find_key_in_backups({dir.path()}, k_b).found.size(), 1u);
}

TEST(FindKey, AnIndexThatDoesNotMatchItsBackupIsReportedNotTrusted) {
  TempDir dir;
  indexed_backup(dir.path() / "r.p7m", "original", {"www"}, {k_a});
  write_bytes(dir.path() / "r.p7m", as_bytes("replaced"));
  auto r = find_key_in_backups({dir.path()}, k_a);
  EXPECT_TRUE(r.found.empty());
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_NE(r.problems[0].problem.find("does not match its backup"), std::string::npos);
  // An index copied beside another file, and one whose backup is gone.
  fs::rename(dir.path() / "r.p7m.index.json", dir.path() / "s.p7m.index.json");
  r = find_key_in_backups({dir.path()}, k_a);
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_NE(r.problems[0].problem.find("not the file it is beside"), std::string::npos);
  indexed_backup(dir.path() / "t.p7m", "x", {"www"}, {k_a});
  fs::remove(dir.path() / "t.p7m");
  r = find_key_in_backups({dir.path()}, k_a);
  EXPECT_TRUE(r.found.empty());
  ASSERT_EQ(r.problems.size(), 2u);
  EXPECT_NE(r.problems[1].problem.find("missing"), std::string::npos);
}

TEST(FindKey, HostileTreesAreWalkedWithoutFollowingLinks) {
  TempDir dir;
  TempDir outside;
  passphrase_backup(outside.path() / "elsewhere.kbk", {"www"}, {k_a});
  fs::create_directories(dir.path() / "sub");
  fs::create_directory_symlink("..", dir.path() / "sub" / "loop");
  fs::create_directory_symlink(outside.path(), dir.path() / "out");
  fs::create_symlink(outside.path() / "elsewhere.kbk", dir.path() / "link.kbk");
  ASSERT_EQ(::mkfifo((dir / "fifo.kbk").c_str(), 0600), 0);
  write_bytes(dir.path() / "garbage.kbk", as_bytes("KEYSAFE-BACKUP 1\n{\"format\":"));
  write_bytes(dir.path() / "newer.kbk", as_bytes("KEYSAFE-BACKUP 9\n{}\n"));
  write_bytes(dir.path() / "orphan.p7m", as_bytes("\x30\x03\x02\x01\x00"));
  passphrase_backup(dir.path() / "sub" / "real.kbk", {"www"}, {k_a});
  const auto r = find_key_in_backups({dir.path()}, k_a);
  ASSERT_EQ(r.found.size(), 1u);  // not through the links
  EXPECT_EQ(r.found[0].file, dir.path() / "sub" / "real.kbk");
  std::vector<std::string> problem_files;
  for (const auto& p : r.problems) problem_files.push_back(p.file.filename().string());
  EXPECT_EQ(problem_files, (std::vector<std::string>{"garbage.kbk", "newer.kbk", "orphan.p7m"}));
  EXPECT_THROW((void)find_key_in_backups({dir.path() / "absent"}, k_a), Error);
}

TEST(FindKey, WalkStopsAtTheDepthLimit) {
  TempDir dir;
  fs::path deep = dir.path();
  for (int i = 0; i < 5; ++i) deep /= "d";
  fs::create_directories(deep);
  write_bytes(deep / "f", as_bytes("x"));
  std::vector<std::string> seen;
  std::vector<std::string> skipped;
  files::walk_regular_files(dir.path(), {3}, [&](const files::WalkedFile& f) {
    seen.push_back(f.name);
  }, skipped);
  EXPECT_TRUE(seen.empty());
  ASSERT_EQ(skipped.size(), 1u);
  EXPECT_NE(skipped[0].find("deeper than 3"), std::string::npos);
}

TEST(FindKey, RestoreCommandsAreQuotedForTheShell) {
  BackupHolding h{"/b/it's here.kbk", "www", 0, BackupKind::Passphrase, {}};
  EXPECT_EQ(restore_command(h, std::nullopt), "keysafe restore '/b/it'\\''s here.kbk' --only www");
  h.kind = BackupKind::Recipient;
  EXPECT_EQ(restore_command(h, fs::path("/s/k.db")),
            "keysafe restore '/b/it'\\''s here.kbk' --only www --recovery-key RECOVERY-KEY "
            "--store /s/k.db");
}

}  // namespace
}  // namespace keysafe::ops
