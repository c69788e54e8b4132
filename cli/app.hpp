// The whole command line as a function, so tests can run it in-process.
#pragma once

#include <string>
#include <vector>

#include "context.hpp"

namespace keysafe::cli {

// argv[0] excluded. Returns the process exit code.
int run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
        Environment env);

}  // namespace keysafe::cli
