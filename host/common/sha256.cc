#include "common/sha256.h"

// NB: plain SHA-256 goes through OpenSSL's SHA256_Init/Update/Final, deprecated in 3.0 in favour of EVP.
// The EVP path initialises the provider framework on first use (~1.4 ms at every hive-py start on the
// machines this was measured on) for the same digest code; the low-level calls are its implementation
// without the dispatch. HMAC (only with a key file) still uses EVP.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <cstdio>
#include <fstream>

namespace hive {

namespace {
std::string to_hex(const unsigned char* d, unsigned n) {
    static const char* digits = "0123456789abcdef";
    std::string s(n * 2, '0');
    for (unsigned i = 0; i < n; ++i) {
        s[2 * i] = digits[d[i] >> 4];
        s[2 * i + 1] = digits[d[i] & 15];
    }
    return s;
}
}  // namespace

// NB: OpenSSL's first use reads openssl.cnf (a few ms at every start); hashing needs none of it.
const bool g_openssl_ready = OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, nullptr) == 1;

struct Sha256::Impl {
    SHA256_CTX ctx;
    Impl() { SHA256_Init(&ctx); }
};

Sha256::Sha256() : impl_(std::make_unique<Impl>()) {}
Sha256::~Sha256() = default;
Sha256::Sha256(Sha256&&) noexcept = default;
Sha256& Sha256::operator=(Sha256&&) noexcept = default;

void Sha256::update(std::string_view data) { SHA256_Update(&impl_->ctx, data.data(), data.size()); }

std::string Sha256::hex() {
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256_Final(md, &impl_->ctx);
    SHA256_Init(&impl_->ctx);
    return to_hex(md, SHA256_DIGEST_LENGTH);
}

std::string sha256_hex(std::string_view data) {
    Sha256 h;
    h.update(data);
    return h.hex();
}

std::string hmac_sha256_hex(std::string_view key, std::string_view data) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    HMAC(EVP_sha256(), key.data(), int(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
         data.size(), md, &n);
    return to_hex(md, n);
}

std::string sha256_file_hex(const std::string& path) {
    FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) return {};
    Sha256 h;
    char buf[65536];
    size_t got;
    while ((got = std::fread(buf, 1, sizeof buf, f)) > 0) h.update(std::string_view(buf, got));
    std::fclose(f);
    return h.hex();
}

}  // namespace hive
