#ifndef SENDARIX_COPENSSL_SHIM_H
#define SENDARIX_COPENSSL_SHIM_H
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <openssl/pem.h>
#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/core_names.h>
#include <openssl/rsa.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <stdio.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

/* OpenSSL API that is a macro, wrapped so Swift can call it. */
static inline long sx_SSL_CTX_set_min_proto_version(SSL_CTX *ctx, int v) { return SSL_CTX_set_min_proto_version(ctx, v); }
static inline long sx_SSL_CTX_set_max_proto_version(SSL_CTX *ctx, int v) { return SSL_CTX_set_max_proto_version(ctx, v); }
static inline long sx_SSL_set_tlsext_host_name(SSL *ssl, const char *name) { return SSL_set_tlsext_host_name(ssl, name); }
static inline long sx_SSL_CTX_set_mode(SSL_CTX *ctx, long mode) { return SSL_CTX_set_mode(ctx, mode); }
static inline long sx_SSL_CTX_set_options(SSL_CTX *ctx, long opts) { return SSL_CTX_set_options(ctx, opts); }
static inline long sx_SSL_CTX_set_session_cache_mode(SSL_CTX *ctx, long m) { return SSL_CTX_set_session_cache_mode(ctx, m); }
static inline int sx_TLS1_2_VERSION(void) { return TLS1_2_VERSION; }
static inline int sx_TLS1_3_VERSION(void) { return TLS1_3_VERSION; }
static inline long sx_SSL_MODE_RELEASE_BUFFERS(void) { return SSL_MODE_RELEASE_BUFFERS; }
static inline long sx_SSL_MODE_ENABLE_PARTIAL_WRITE(void) { return SSL_MODE_ENABLE_PARTIAL_WRITE; }
static inline long sx_SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER(void) { return SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER; }
static inline long sx_SSL_OP_NO_COMPRESSION(void) { return SSL_OP_NO_COMPRESSION; }
static inline long sx_SSL_OP_NO_RENEGOTIATION(void) { return SSL_OP_NO_RENEGOTIATION; }
static inline long sx_SSL_OP_CIPHER_SERVER_PREFERENCE(void) { return SSL_OP_CIPHER_SERVER_PREFERENCE; }
static inline long sx_SSL_OP_NO_TICKET(void) { return SSL_OP_NO_TICKET; }
static inline void sx_OPENSSL_free(void *p) { OPENSSL_free(p); }

/* fsyncs the directory holding `path` (so a rename into it survives a power cut). 0 on success. */
static inline int sx_fsync_parent(const char *path) {
    char dir[4096];
    size_t n = strlen(path);
    if (n >= sizeof dir) return -1;
    memcpy(dir, path, n + 1);
    char *slash = strrchr(dir, '/');
    if (!slash) { dir[0] = '.'; dir[1] = 0; } else if (slash == dir) { dir[1] = 0; } else { *slash = 0; }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

/* Generates an RSA-2048 key and a self-signed certificate for `cn` valid for ten years and writes
   both as PEM files (key mode 0600). Returns 1 on success, 0 on failure (see the OpenSSL error queue). */
static inline int sx_generate_self_signed(const char *cn, const char *certPath, const char *keyPath) {
    int ok = 0;
    EVP_PKEY *pkey = EVP_RSA_gen(2048);
    X509 *x = X509_new();
    FILE *kf = NULL, *cf = NULL;
    if (!pkey || !x) goto done;
    X509_set_version(x, 2);
    unsigned char serial[16];
    if (RAND_bytes(serial, sizeof serial) != 1) goto done;
    serial[0] &= 0x7f;
    BIGNUM *bn = BN_bin2bn(serial, sizeof serial, NULL);
    if (!bn) goto done;
    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
    BN_free(bn);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 60L * 60 * 24 * 3650);
    X509_set_pubkey(x, pkey);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"Sendarix self-signed", -1, -1, 0);
    X509_set_issuer_name(x, name);
    {
        char san[600];
        snprintf(san, sizeof san, "DNS:%s,DNS:localhost,IP:127.0.0.1", cn);
        X509V3_CTX ctx;
        X509V3_set_ctx_nodb(&ctx);
        X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
        X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name, san);
        if (ext) { X509_add_ext(x, ext, -1); X509_EXTENSION_free(ext); }
    }
    if (!X509_sign(x, pkey, EVP_sha256())) goto done;
    /* Each file is written under a temporary name, fsynced, renamed into place and its directory
       fsynced: a power cut leaves either no file (generated again at the next start) or a whole
       one, never an empty or torn PEM file that would keep the node from starting. */
    char keyTmp[4096], certTmp[4096];
    if (snprintf(keyTmp, sizeof keyTmp, "%s.tmp", keyPath) >= (int)sizeof keyTmp) goto done;
    if (snprintf(certTmp, sizeof certTmp, "%s.tmp", certPath) >= (int)sizeof certTmp) goto done;
    kf = fopen(keyTmp, "w");
    if (!kf) goto done;
    fchmod(fileno(kf), 0600);
    if (!PEM_write_PrivateKey(kf, pkey, NULL, NULL, 0, NULL, NULL)) goto done;
    if (fflush(kf) != 0 || fsync(fileno(kf)) != 0) goto done;
    cf = fopen(certTmp, "w");
    if (!cf) goto done;
    if (!PEM_write_X509(cf, x)) goto done;
    if (fflush(cf) != 0 || fsync(fileno(cf)) != 0) goto done;
    fclose(kf); kf = NULL;
    fclose(cf); cf = NULL;
    if (rename(keyTmp, keyPath) != 0 || rename(certTmp, certPath) != 0) goto done;
    if (sx_fsync_parent(keyPath) != 0 || sx_fsync_parent(certPath) != 0) goto done;
    ok = 1;
done:
    if (kf) fclose(kf);
    if (cf) fclose(cf);
    if (x) X509_free(x);
    if (pkey) EVP_PKEY_free(pkey);
    return ok;
}

/* The HMAC implementation (EVP_MAC_fetch(NULL, "HMAC", NULL)); NULL when unavailable. Each call
   fetches: callers keep the result (EVP_MAC_free when done). */
static inline EVP_MAC *sx_hmac_fetch(void) { return EVP_MAC_fetch(NULL, "HMAC", NULL); }

/* A new HMAC-SHA256 context of `mac` keyed with `key` (`keylen` bytes, may be 0 with key NULL),
   ready for EVP_MAC_update; NULL on failure. OSSL_PARAM arrays are built here, not in Swift. */
static inline EVP_MAC_CTX *sx_hmac_sha256_new(EVP_MAC *mac, const unsigned char *key, size_t keylen) {
    static const unsigned char empty[1] = { 0 };
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(mac);
    if (!ctx) return NULL;
    OSSL_PARAM params[2];
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
    params[1] = OSSL_PARAM_construct_end();
    /* A NULL key would mean "keep the current key" (there is none yet): an empty key is passed as "". */
    if (EVP_MAC_init(ctx, key ? key : empty, keylen, params) != 1) { EVP_MAC_CTX_free(ctx); return NULL; }
    return ctx;
}

/* A new RSA key of `bits` bits (EVP_RSA_gen is a variadic macro Swift cannot call). */
static inline EVP_PKEY *sx_rsa_generate(unsigned int bits) { return EVP_RSA_gen(bits); }

/* A new Ed25519 key. */
static inline EVP_PKEY *sx_ed25519_generate(void) { return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519"); }

/* Name of the negotiated cipher of `ssl`, or "" before a handshake. */
static inline const char *sx_SSL_cipher_name(const SSL *ssl) {
    const SSL_CIPHER *c = SSL_get_current_cipher(ssl);
    return c ? SSL_CIPHER_get_name(c) : "";
}

/* Writes the names of the peer certificate of `ssl` into `buf` (NUL-terminated), one per line:
   `CN:<common name>`, `DNS:<dNSName>`, `URI:<uniformResourceIdentifier>` (names holding a NUL or a
   newline are skipped). Returns the bytes written, -1 without a peer certificate, -2 if `cap` was
   too small. */
static inline int sx_peer_certificate_names(SSL *ssl, char *buf, int cap) {
    if (cap < 1) return -2;
    buf[0] = 0;
    X509 *cert = SSL_get1_peer_certificate(ssl);
    if (!cert) return -1;
    int n = 0, overflow = 0;
#define SX_ADD_NAME(prefix, str) do { \
        const unsigned char *d_ = ASN1_STRING_get0_data(str); int l_ = ASN1_STRING_length(str); \
        if (l_ >= 0 && !memchr(d_, 0, (size_t)l_) && !memchr(d_, '\n', (size_t)l_)) { \
            int w_ = snprintf(buf + n, (size_t)(cap - n), "%s:%.*s\n", prefix, l_, (const char *)d_); \
            if (w_ < 0 || w_ >= cap - n) { overflow = 1; buf[n] = 0; } else { n += w_; } \
        } } while (0)
    X509_NAME *subject = X509_get_subject_name(cert);
    int idx = -1;
    while (!overflow && subject && (idx = X509_NAME_get_index_by_NID(subject, NID_commonName, idx)) >= 0) {
        ASN1_STRING *s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, idx));
        if (s) SX_ADD_NAME("CN", s);
    }
    GENERAL_NAMES *names = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
    if (names) {
        for (int i = 0; i < sk_GENERAL_NAME_num(names) && !overflow; i++) {
            const GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);
            if (g->type == GEN_DNS) SX_ADD_NAME("DNS", g->d.dNSName);
            else if (g->type == GEN_URI) SX_ADD_NAME("URI", g->d.uniformResourceIdentifier);
        }
        GENERAL_NAMES_free(names);
    }
#undef SX_ADD_NAME
    X509_free(cert);
    return overflow ? -2 : n;
}

#endif
