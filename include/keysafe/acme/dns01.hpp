// Answering DNS-01 challenges (RFC 8555 §8.4): the TXT record's name and value, and asking one
// DNS server whether it serves the record yet (libresolv, so no DNS message is parsed by hand).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace keysafe::acme {

// "_acme-challenge.NAME" for NAME or *.NAME, without a trailing dot.
std::string dns01_record_name(std::string_view identifier);
// base64url(SHA-256(key authorization)), the TXT record's value.
std::string dns01_record_value(std::string_view key_authorization);

// Checks "ADDR:PORT" (an IPv4 address and a port): throws Errc::Usage naming --dns-resolver.
void require_resolver_address(std::string_view address_port);

struct TxtAnswer {
  bool answered = false;              // the server answered (NOERROR, NXDOMAIN or no data)
  std::vector<std::string> records;   // each TXT record, its strings joined
};
// The TXT records of `name` at the DNS server ADDR:PORT (one query, recursion desired, a few
// seconds at most); no answer is `answered == false`, never an exception.
TxtAnswer query_txt(const std::string& address_port, const std::string& name);

}  // namespace keysafe::acme
