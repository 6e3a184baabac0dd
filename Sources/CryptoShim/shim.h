#ifndef CRYPTO_SHIM_H
#define CRYPTO_SHIM_H

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/decoder.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

// Wrappers for OpenSSL macros that Swift cannot call directly.

static inline void CryptoShim_OPENSSL_free(void *pointer) {
    OPENSSL_free(pointer);
}

static inline long CryptoShim_BIO_get_mem_data(BIO *bio, char **data) {
    return BIO_get_mem_data(bio, data);
}

/// The salt length "same as the digest" (RFC 7518 section 3.5).
static inline int CryptoShim_RSA_PSS_SALTLEN_DIGEST(void) {
    return RSA_PSS_SALTLEN_DIGEST;
}

/// Key selections for decoding and building keys (composite macros Swift does not import).
static inline int CryptoShim_EVP_PKEY_KEYPAIR(void) {
    return EVP_PKEY_KEYPAIR;
}

static inline int CryptoShim_EVP_PKEY_PUBLIC_KEY(void) {
    return EVP_PKEY_PUBLIC_KEY;
}

#endif
