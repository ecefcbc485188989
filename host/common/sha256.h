// Streaming SHA-256 / HMAC-SHA-256 (OpenSSL EVP), hex output.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace hive {

class Sha256 {
public:
    Sha256();
    ~Sha256();
    Sha256(Sha256&&) noexcept;
    Sha256& operator=(Sha256&&) noexcept;
    void update(std::string_view data);
    std::string hex();  // finishes; the object is reset afterwards
private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

std::string sha256_hex(std::string_view data);
std::string hmac_sha256_hex(std::string_view key, std::string_view data);
// SHA-256 of a file's bytes; empty string if it cannot be read.
std::string sha256_file_hex(const std::string& path);

}  // namespace hive
