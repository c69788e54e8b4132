// Host key files: written once with a safe mode, read with the same checks as key files.
#include "keysafe/ops/host_key.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cerrno>
#include <cstring>

#include "keysafe/error.hpp"
#include "keysafe/files/io.hpp"
#include "keysafe/ossl/errors.hpp"

namespace keysafe::ops {
namespace {

std::string quoted(const std::filesystem::path& p) { return "\"" + p.string() + "\""; }

constexpr std::size_t k_max_host_key_file = 16 * 1024;

SecureBytes pem_text(EVP_PKEY* host_key, std::span<const std::uint8_t> signing_public_der) {
  ossl::Bio bio(BIO_new(BIO_s_secmem()));
  const unsigned char* p = signing_public_der.data();
  ossl::PKey signing(d2i_PUBKEY(nullptr, &p, static_cast<long>(signing_public_der.size())));
  if (!bio || !signing ||
      PEM_write_bio_PrivateKey(bio.get(), host_key, nullptr, nullptr, 0, nullptr, nullptr) != 1 ||
      PEM_write_bio_PUBKEY(bio.get(), signing.get()) != 1)
    ossl::fail(Errc::Crypto, "cannot encode the host key file");
  const char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return SecureBytes(data, data + len);
}

Error bad_file(const std::filesystem::path& file, std::string cause) {
  return Error(Errc::BadInput, quoted(file) + " is not a keysafe host key file", std::move(cause),
               "use the file `keysafe host add NAME --key-out FILE` wrote for this host");
}

}  // namespace

void write_host_key_file(const std::filesystem::path& file, EVP_PKEY* host_key,
                         std::span<const std::uint8_t> signing_public_der) {
  const SecureBytes text = pem_text(host_key, signing_public_der);
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    throw Error(errno == EEXIST ? Errc::AlreadyExists : Errc::Io,
                "cannot create the host key file " + quoted(file), std::strerror(errno),
                errno == EEXIST ? "a host key file is never overwritten: choose a path for a new file"
                                : "choose a directory you can write");
  ::fchmod(fd, 0600);
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                  ::fsync(fd) == 0;
  const int saved = errno;
  ::close(fd);
  if (!ok) {
    ::unlink(file.c_str());
    throw Error(Errc::Io, "cannot write the host key file " + quoted(file), std::strerror(saved));
  }
}

HostKeyFile read_host_key_file(const std::filesystem::path& file) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0)
    throw Error(Errc::Io, "cannot read the host key file " + quoted(file), std::strerror(errno),
                errno == ELOOP ? "a host key file must not be a symbolic link"
                               : "check --host-key");
  struct stat st {};
  ::fstat(fd, &st);
  if (!S_ISREG(st.st_mode) || (st.st_mode & 077) != 0) {
    ::close(fd);
    throw Error(Errc::Refused, "refusing the host key file " + quoted(file),
                S_ISREG(st.st_mode) ? "group or others can read it (mode " +
                                          std::to_string((st.st_mode >> 6) & 7) +
                                          std::to_string((st.st_mode >> 3) & 7) +
                                          std::to_string(st.st_mode & 7) + ")"
                                    : std::string("it is not a regular file"),
                "chmod 600 " + file.string());
  }
  SecureBytes text(k_max_host_key_file + 1);
  std::size_t got = 0;
  while (got < text.size()) {
    const ssize_t n = ::read(fd, text.data() + got, text.size() - got);
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  ::close(fd);
  if (got > k_max_host_key_file) throw bad_file(file, "it is larger than a host key file can be");
  text.resize(got);
  ossl::Bio bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
  HostKeyFile out;
  out.host_key.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!out.host_key || EVP_PKEY_get_base_id(out.host_key.get()) != EVP_PKEY_X25519) {
    ossl::clear_errors();
    throw bad_file(file, "its first block is not an X25519 private key");
  }
  out.signing_public.reset(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  if (!out.signing_public || EVP_PKEY_get_base_id(out.signing_public.get()) != EVP_PKEY_ED25519) {
    ossl::clear_errors();
    throw bad_file(file, "its second block is not the store's Ed25519 fleet signing key");
  }
  return out;
}

}  // namespace keysafe::ops
