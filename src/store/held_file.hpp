// Reading bytes of a store file without closing a descriptor of it: closing any descriptor of
// a file drops every POSIX lock this process holds on it, SQLite's included (sqlite.org
// howtocorrupt.html §2.2). keysafe serve keeps stores open while it opens others (a session,
// a bearer token's read): a header sniffed with an ifstream released the session's locks, and
// a keysafe run in another process then checkpointed and removed the WAL the session still
// wrote to, whose writes were lost.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>

namespace keysafe::store::detail {

// Reads up to `size` bytes at `offset` from `path` through a read-only descriptor that stays
// open for the life of the process (one per file; SQLite keeps such descriptors too). Returns
// the number read, or -1 with errno set when the file cannot be opened or read.
long read_held(const std::filesystem::path& path, std::uint64_t offset, void* buffer,
               std::size_t size);

}  // namespace keysafe::store::detail
