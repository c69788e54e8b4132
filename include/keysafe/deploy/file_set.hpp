// Writing a deployment's files one by one, atomically, with a way back to what was there.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "keysafe/deploy/layout.hpp"
#include "keysafe/files/fd.hpp"
#include "keysafe/files/io.hpp"
#include "keysafe/files/trusted_directory.hpp"
#include "keysafe/ossl/bytes.hpp"

namespace keysafe::deploy {

// What a path held before a deployment wrote it.
struct PreviousFile {
  std::filesystem::path path;  // for messages and records; the file is reached by name
  std::string name;            // in the directory FileSet keeps open
  bool existed = false;
  SecureBytes content;  // may be an earlier private key
  unsigned mode = 0;
  uid_t uid = 0;        // owner and group
  gid_t gid = 0;
  std::string sha256;   // hex of content; empty when the file did not exist
  std::string link;     // certbot's link text when the path was that link (restored as a link)
};

// Whether `link_text` is the link certbot makes from live/LINEAGE/FILE ("cert.pem") into its
// archive: "../../archive/LINEAGE/certN.pem" exactly, N a version number. Such a link cannot
// leave the configuration directory it is in.
bool is_certbot_link(std::string_view link_text, std::string_view lineage, std::string_view file);

// What `name` in `dir` holds when it is certbot's link (is_certbot_link with LINEAGE the
// directory's own name): the regular file it names, that file's directory resolved as a
// deployment's directory is (files::TrustedDirectory: nothing another user controls is
// followed), read with O_NOFOLLOW; `link_text` set. nullopt when `name` is not a link or does
// not exist. Errc::Refused for any other link.
std::optional<files::RegularFile> read_certbot_link(const files::TrustedDirectory& dir,
                                                    const std::string& name, std::string& link_text);

// file_sha256 for a file that may be certbot's link (read_certbot_link): the hex SHA-256 of
// what the path serves, nullopt when there is nothing.
std::optional<std::string> served_file_sha256(const files::TrustedDirectory& dir, const std::string& name);

// The hex SHA-256 of a regular file, nullopt when there is no file. Throws Errc::Refused for a
// symlink or a non-regular file, Errc::Io when it cannot be read.
std::optional<std::string> file_sha256(const std::filesystem::path& path);
// The same for `name` in `dir` (nullopt while the directory does not exist).
std::optional<std::string> file_sha256(const files::TrustedDirectory& dir, const std::string& name);

// Writes each file into `dir` (temp file + fsync + rename, never through a symlink) and returns
// what each path held before, in memory. Every read, write and removal, the rollback's too, is
// relative to the directory's descriptor, kept open: replacing the directory or a parent by a
// symlink meanwhile cannot redirect any of them. If a write fails midway, what was written is
// rolled back before the error is raised; a rollback that fails too is part of that error.
class FileSet final {
 public:
  FileSet() = default;
  FileSet(const FileSet&) = delete;
  FileSet& operator=(const FileSet&) = delete;
  FileSet(FileSet&&) = default;
  FileSet& operator=(FileSet&&) = default;

  static FileSet write(const files::TrustedDirectory& dir, const std::vector<DeployFile>& files);
  // Resolves `dir` (files::TrustedDirectory::resolve; it must exist), then writes.
  static FileSet write(const std::filesystem::path& dir, const std::vector<DeployFile>& files);

  // Puts every path back as it was (same bytes, same mode; removes files that did not exist),
  // then checks each against its recorded SHA-256 and mode. Run as root it restores each
  // file's owner and group too (a server may read its key as another user, or by group);
  // anyone else cannot give a file away, so a restored file belongs to the user running
  // keysafe. Throws Errc::Io naming any path that could not be restored, after trying all.
  void restore();

  const std::vector<PreviousFile>& previous() const noexcept { return m_previous; }

 private:
  // The path holds what it held before (a write that failed before its rename).
  bool untouched(const PreviousFile& p) const;

  files::Fd m_dir;
  std::filesystem::path m_dir_path;
  std::vector<PreviousFile> m_previous;
};

}  // namespace keysafe::deploy
