// SQL is written once with SQLite's `?` placeholders; libpq wants $1, $2, ... (src/store only).
#pragma once

#include <string>
#include <string_view>

namespace keysafe::store {

struct NumberedSql {
  std::string sql;      // every `?` outside quotes and comments replaced by $1, $2, ...
  int parameters = 0;   // how many
};

// Leaves alone what PostgreSQL does not read as SQL tokens: 'string literals' (with ''),
// "quoted identifiers" (with ""), $$dollar-quoted$$ and $tag$dollar-quoted$tag$ bodies,
// -- line comments and /* block comments */ (nested, as PostgreSQL nests them).
// Not handled: backslash escapes in E'...' strings (keysafe writes none).
NumberedSql numbered_placeholders(std::string_view sql);

}  // namespace keysafe::store
