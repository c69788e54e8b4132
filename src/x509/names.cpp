// DNS/IP validation, distinguished-name parsing and RFC 2253 display.
#include "keysafe/x509/names.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>

#include "keysafe/ossl/errors.hpp"

namespace keysafe::x509 {
namespace {

bool valid_label(std::string_view label) {
  // RFC 1123 §2.1: letters, digits, hyphens; no hyphen at either end; at most 63 octets.
  if (label.empty() || label.size() > 63) return false;
  if (label.front() == '-' || label.back() == '-') return false;
  return std::all_of(label.begin(), label.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-';
  });
}

std::string ip_bytes_to_string(const unsigned char* data, int len) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (len == 4)
    inet_ntop(AF_INET, data, buf, sizeof buf);
  else if (len == 16)
    inet_ntop(AF_INET6, data, buf, sizeof buf);
  else
    return "invalid-ip-length-" + std::to_string(len);
  return buf;
}

}  // namespace

std::string normalize_dns_name(std::string_view name) {
  std::string n(name);
  std::transform(n.begin(), n.end(), n.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (!n.empty() && n.back() == '.') n.pop_back();
  const auto bad = [&](std::string why) -> Error {
    return Error(Errc::Usage, "\"" + std::string(name) + "\" is not a valid DNS name",
                 std::move(why),
                 "give a host name such as www.example.com (a wildcard only as the leftmost label: "
                 "*.example.com); use --ip for addresses");
  };
  if (n.empty() || n.size() > 253) throw bad("a DNS name has 1 to 253 characters");
  std::string_view rest = n;
  if (rest.starts_with("*.")) rest.remove_prefix(2);
  std::size_t start = 0;
  while (true) {
    const auto dot = rest.find('.', start);
    const auto label = rest.substr(start, dot == std::string_view::npos ? rest.npos : dot - start);
    if (!valid_label(label))
      throw bad("label \"" + std::string(label) +
                "\" must be 1-63 letters, digits or hyphens, not starting or ending with a hyphen");
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  // RFC 1123 §2.1: a host name is never all-numeric dotted form; that is an IP address.
  const auto last =
      rest.substr(rest.rfind('.') == std::string_view::npos ? 0 : rest.rfind('.') + 1);
  if (std::all_of(last.begin(), last.end(),
                  [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }))
    throw Error(Errc::Usage, "\"" + std::string(name) + "\" is not a valid DNS name",
                "it looks like an IP address (the last label is all digits)",
                "give addresses with --ip, e.g. --ip " + std::string(name));
  return n;
}

std::string normalize_ip(std::string_view address) {
  const std::string a(address);
  unsigned char buf[16];
  if (inet_pton(AF_INET, a.c_str(), buf) == 1) return ip_bytes_to_string(buf, 4);
  if (inet_pton(AF_INET6, a.c_str(), buf) == 1) return ip_bytes_to_string(buf, 16);
  throw Error(Errc::Usage, "\"" + a + "\" is not an IP address",
              "--ip takes an IPv4 (192.0.2.10) or IPv6 (2001:db8::10) address",
              "use --dns for host names");
}

ossl::Name parse_subject(std::string_view dn) {
  ossl::Name name(X509_NAME_new());
  if (!name) ossl::fail(Errc::Crypto, "allocating a name failed");
  const auto usage = [&](std::string why) -> Error {
    return Error(Errc::Usage, "cannot read the subject \"" + std::string(dn) + "\"", std::move(why),
                 "write it as TYPE=value pairs separated by commas, e.g. --subject \"O=Example "
                 "Ltd,C=GB\" (escape a comma inside a value as \\,)");
  };
  // Split on unescaped commas; each part is TYPE=value.
  std::vector<std::string> parts(1);
  for (std::size_t i = 0; i < dn.size(); ++i) {
    if (dn[i] == '\\' && i + 1 < dn.size()) {
      parts.back() += dn[++i];
    } else if (dn[i] == ',') {
      parts.emplace_back();
    } else {
      parts.back() += dn[i];
    }
  }
  // RFC 4514 order: the most specific component first, so the last one typed is the first RDN.
  std::reverse(parts.begin(), parts.end());
  for (auto& part : parts) {
    const auto trim = [](std::string s) {
      const auto b = s.find_first_not_of(" \t");
      const auto e = s.find_last_not_of(" \t");
      return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
    };
    part = trim(part);
    if (part.empty()) {
      if (parts.size() == 1) break;  // an empty subject
      throw usage("an empty component");
    }
    const auto eq = part.find('=');
    if (eq == std::string::npos) throw usage("\"" + part + "\" has no '='");
    const std::string type = trim(part.substr(0, eq));
    const std::string value = trim(part.substr(eq + 1));
    if (value.empty()) throw usage("\"" + type + "\" has an empty value");
    if (OBJ_txt2nid(type.c_str()) == NID_undef) {
      ossl::clear_errors();
      throw usage("\"" + type + "\" is not a known attribute type (use CN, O, OU, L, ST, C, ...)");
    }
    if (X509_NAME_add_entry_by_txt(name.get(), type.c_str(), MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(value.c_str()),
                                   static_cast<int>(value.size()), -1, 0) != 1) {
      const auto detail = ossl::take_errors();
      throw usage("\"" + type + "=" + value + "\" is not allowed (" + detail + ")");
    }
  }
  return name;
}

std::string name_to_string(const X509_NAME* name) {
  ossl::Bio bio(BIO_new(BIO_s_mem()));
  // RFC 2253, but keep UTF-8 readable instead of escaping every non-ASCII byte.
  X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

std::optional<std::string> common_name(const X509_NAME* name) {
  const int idx = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (idx < 0) return std::nullopt;
  const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx));
  unsigned char* utf8 = nullptr;
  const int len = ASN1_STRING_to_UTF8(&utf8, data);
  if (len < 0) {
    ossl::clear_errors();
    return std::nullopt;
  }
  const ossl::Allocated<unsigned char> owned(utf8);
  return std::string(reinterpret_cast<char*>(utf8), static_cast<size_t>(len));
}

void collect_alt_names(const GENERAL_NAMES* names, std::vector<std::string>& dns,
                       std::vector<std::string>& ip) {
  if (names == nullptr) return;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names, i);
    if (gn->type == GEN_DNS) {
      const ASN1_IA5STRING* s = gn->d.dNSName;
      dns.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                       static_cast<size_t>(ASN1_STRING_length(s)));
    } else if (gn->type == GEN_IPADD) {
      const ASN1_OCTET_STRING* s = gn->d.iPAddress;
      ip.push_back(ip_bytes_to_string(ASN1_STRING_get0_data(s), ASN1_STRING_length(s)));
    }
  }
}

std::string printable_name(std::string_view name) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (const char c : name) {
    const auto b = static_cast<unsigned char>(c);
    if (b >= 0x20 && b < 0x7f && b != '\\') {
      out += c;
    } else {
      out += "\\x";
      out += digits[b >> 4];
      out += digits[b & 0x0f];
    }
  }
  return out;
}

namespace {

constexpr const char* k_signable_names =
    "keysafe signs only DNS host names (RFC 1034 labels of letters, digits and hyphens, a "
    "leftmost \"*.\" wildcard, \"xn--\" IDNA labels) and IPv4/IPv6 addresses; make the request "
    "or certificate again with such names";

std::string general_name_kind(int type) {
  switch (type) {
    case GEN_EMAIL: return "an e-mail address";
    case GEN_URI: return "a URI";
    case GEN_DIRNAME: return "a directory name";
    case GEN_OTHERNAME: return "an otherName";
    case GEN_RID: return "a registered ID";
    default: return "an entry of type " + std::to_string(type);
  }
}

[[noreturn]] void bad_name(std::string_view kind, std::string_view name, std::string_view origin,
                           std::string cause) {
  throw Error(Errc::BadInput,
              "the " + std::string(kind) + " \"" + printable_name(name) + "\" in " +
                  std::string(origin) + " is not one keysafe signs",
              std::move(cause), k_signable_names);
}

}  // namespace

AltNames checked_alt_names(const std::vector<std::string>& dns, const std::vector<std::string>& ip,
                           std::string_view origin) {
  AltNames out;
  for (const auto& d : dns) {
    try {
      out.dns.push_back(normalize_dns_name(d));
    } catch (const Error& e) {
      bad_name("DNS name", d, origin, e.cause());
    }
  }
  for (const auto& a : ip) {
    try {
      out.ip.push_back(normalize_ip(a));
    } catch (const Error& e) {
      bad_name("IP address", a, origin, e.cause());
    }
  }
  return out;
}

AltNames checked_alt_names(const GENERAL_NAMES* names, std::string_view origin) {
  AltNames out;
  if (names == nullptr) return out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names, i);
    if (gn->type == GEN_DNS) {
      const ASN1_IA5STRING* s = gn->d.dNSName;
      const std::string_view d(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                               static_cast<size_t>(ASN1_STRING_length(s)));
      try {
        out.dns.push_back(normalize_dns_name(d));
      } catch (const Error& e) {
        bad_name("DNS name", d, origin, e.cause());
      }
    } else if (gn->type == GEN_IPADD) {
      const ASN1_OCTET_STRING* s = gn->d.iPAddress;
      const int len = ASN1_STRING_length(s);
      // RFC 5280 §4.2.1.6: 4 octets for IPv4, 16 for IPv6 (8 and 32 are name constraints).
      if (len != 4 && len != 16)
        bad_name("IP address", ip_bytes_to_string(ASN1_STRING_get0_data(s), len), origin,
                 "an address in a subjectAltName has 4 (IPv4) or 16 (IPv6) octets");
      out.ip.push_back(ip_bytes_to_string(ASN1_STRING_get0_data(s), len));
    } else {
      throw Error(Errc::BadInput,
                  "the subjectAltName of " + std::string(origin) + " has " +
                      general_name_kind(gn->type) + " (not a DNS name or an IP address)",
                  "e-mail addresses, URIs, directory names and other names are not checked by "
                  "keysafe, so its CA does not put them in a certificate",
                  k_signable_names);
    }
  }
  return out;
}

}  // namespace keysafe::x509
