// DNS-01 on OpenSSL (the digest) and libresolv (the query and the message parser).
#include "keysafe/acme/dns01.hpp"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>

#include <openssl/evp.h>

#include <array>
#include <charconv>
#include <cstring>
#include <optional>
#include <span>

#include "keysafe/acme/jws.hpp"
#include "keysafe/error.hpp"

namespace keysafe::acme {
namespace {

struct Resolver {
  in_addr address{};
  std::uint16_t port = 0;
};

std::optional<Resolver> parse_resolver(std::string_view address_port) {
  const auto colon = address_port.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  const std::string host(address_port.substr(0, colon));
  const auto port_text = address_port.substr(colon + 1);
  Resolver r;
  unsigned port = 0;
  const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port == 0 || port > 65535)
    return std::nullopt;
  if (inet_pton(AF_INET, host.c_str(), &r.address) != 1) return std::nullopt;
  r.port = static_cast<std::uint16_t>(port);
  return r;
}

}  // namespace

std::string dns01_record_name(std::string_view identifier) {
  if (identifier.starts_with("*.")) identifier.remove_prefix(2);
  if (!identifier.empty() && identifier.back() == '.') identifier.remove_suffix(1);
  return "_acme-challenge." + std::string(identifier);
}

std::string dns01_record_value(std::string_view key_authorization) {
  std::array<std::uint8_t, 32> digest{};
  unsigned int len = 0;
  if (EVP_Digest(key_authorization.data(), key_authorization.size(), digest.data(), &len,
                 EVP_sha256(), nullptr) != 1 || len != digest.size())
    throw Error(Errc::Crypto, "SHA-256 of the key authorization failed");
  return base64url(std::span<const std::uint8_t>(digest.data(), len));
}

void require_resolver_address(std::string_view address_port) {
  if (!parse_resolver(address_port))
    throw Error(Errc::Usage, "\"" + std::string(address_port) + "\" is not a DNS server address",
                "--dns-resolver takes an IPv4 address and a port",
                "for example: --dns-resolver 8.8.8.8:53");
}

TxtAnswer query_txt(const std::string& address_port, const std::string& name) {
  const auto resolver = parse_resolver(address_port);
  if (!resolver) require_resolver_address(address_port);
  struct __res_state state;
  std::memset(&state, 0, sizeof state);
  if (res_ninit(&state) != 0) return {};
  // Only this server, no search list: the name is absolute.
  state.nscount = 1;
  state.nsaddr_list[0].sin_family = AF_INET;
  state.nsaddr_list[0].sin_addr = resolver->address;
  state.nsaddr_list[0].sin_port = htons(resolver->port);
  state.options &= ~static_cast<unsigned long>(RES_DNSRCH | RES_DEFNAMES);
  state.retrans = 2;
  state.retry = 2;
  std::array<unsigned char, 8192> answer{};
  const int len = res_nquery(&state, (name + ".").c_str(), ns_c_in, ns_t_txt, answer.data(),
                             static_cast<int>(answer.size()));
  const int herr = state.res_h_errno;
  res_nclose(&state);
  TxtAnswer out;
  if (len < 0) {
    // NXDOMAIN and "no data" are answers; TRY_AGAIN (timeout, SERVFAIL) is none.
    out.answered = herr == HOST_NOT_FOUND || herr == NO_DATA;
    return out;
  }
  ns_msg msg;
  if (ns_initparse(answer.data(), len, &msg) != 0) return out;
  out.answered = true;
  for (int i = 0; i < ns_msg_count(msg, ns_s_an); ++i) {
    ns_rr rr;
    if (ns_parserr(&msg, ns_s_an, i, &rr) != 0 || ns_rr_type(rr) != ns_t_txt) continue;
    // TXT RDATA is a sequence of <length><bytes> strings (RFC 1035 §3.3.14), joined.
    const unsigned char* p = ns_rr_rdata(rr);
    const unsigned char* end = p + ns_rr_rdlen(rr);
    std::string record;
    while (p < end) {
      const std::size_t n = *p++;
      if (n > static_cast<std::size_t>(end - p)) break;
      record.append(reinterpret_cast<const char*>(p), n);
      p += n;
    }
    out.records.push_back(std::move(record));
  }
  return out;
}

}  // namespace keysafe::acme
