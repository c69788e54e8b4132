// Baseline for find-key: the least work that answers "which backup names this SPKI hash?" —
// a recursive walk (no symlinks followed) reading the first 64 KiB of every regular file and
// searching it for the hash, printing the files that hold it. No JSON parsing, no header
// checks, no SHA-256 of the backups an index names. Usage: raw_findkey DIR SPKI-SHA256-HEX
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "common.hpp"

namespace {

std::vector<char> g_buf(17 + 64 * 1024);
std::size_t g_found = 0;

void walk(int dir_fd, const std::string& path, const char* needle) {
  const int dup = fcntl(dir_fd, F_DUPFD_CLOEXEC, 0);
  DIR* dir = fdopendir(dup);
  if (dir == nullptr) return;
  while (const dirent* e = readdir(dir)) {
    if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
    struct stat st {};
    if (fstatat(dir_fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    const std::string child = path + "/" + e->d_name;
    if (S_ISDIR(st.st_mode)) {
      const int sub = openat(dir_fd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (sub < 0) continue;
      walk(sub, child, needle);
      close(sub);
    } else if (S_ISREG(st.st_mode)) {
      const int fd = openat(dir_fd, e->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
      if (fd < 0) continue;
      const ssize_t n = read(fd, g_buf.data(), g_buf.size());
      close(fd);
      if (n > 0 && memmem(g_buf.data(), static_cast<std::size_t>(n), needle, std::strlen(needle))) {
        std::printf("%s\n", child.c_str());
        ++g_found;
      }
    }
  }
  closedir(dir);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) bench::die("usage: raw_findkey DIR SPKI-SHA256-HEX");
  const int root = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root < 0) bench::die("cannot open the directory");
  walk(root, argv[1], argv[2]);
  close(root);
  return g_found > 0 ? 0 : 1;
}
