#include "common/sha256.h"

#include <openssl/evp.h>
#include <openssl/crypto.h>
#include <openssl/hmac.h>

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
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    Impl() { EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr); }
    ~Impl() { EVP_MD_CTX_free(ctx); }
};

Sha256::Sha256() : impl_(std::make_unique<Impl>()) {}
Sha256::~Sha256() = default;
Sha256::Sha256(Sha256&&) noexcept = default;
Sha256& Sha256::operator=(Sha256&&) noexcept = default;

void Sha256::update(std::string_view data) { EVP_DigestUpdate(impl_->ctx, data.data(), data.size()); }

std::string Sha256::hex() {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    EVP_DigestFinal_ex(impl_->ctx, md, &n);
    EVP_DigestInit_ex(impl_->ctx, EVP_sha256(), nullptr);
    return to_hex(md, n);
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
