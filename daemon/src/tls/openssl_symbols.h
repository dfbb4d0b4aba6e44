#pragma once
// Every OpenSSL function hearthd calls, with its number of parameters: the
// list behind tls/openssl_stubs.cc (one forwarding definition each) and the
// loader's table (tls/openssl_loader.cc). X(name, arity).
//
// Keep it equal to what the daemon references: after a change that calls a
// new OpenSSL function, a lazy build (HEARTH_LAZY_OPENSSL, the default) fails
// to link with "undefined reference to `NAME'": add NAME here. The arity is
// checked against the header's declaration at compile time. What the daemon
// references: `nm --undefined-only` on a build with -DHEARTH_LAZY_OPENSSL=OFF
// (docs/architecture.md "OpenSSL, loaded on demand").
//
// Functions only, none variadic. OpenSSL's macros (SSL_CTX_set_mode,
// SSL_set_tlsext_host_name, SSL_CTX_set_tlsext_servername_callback,
// BIO_get_mem_data, OPENSSL_free...) expand to the real functions listed here
// (SSL_CTX_ctrl, SSL_ctrl, SSL_CTX_callback_ctrl, BIO_ctrl, CRYPTO_free).
#define HEARTH_OPENSSL_SYMBOLS(X) \
  X(ASN1_INTEGER_to_BN, 2) \
  X(ASN1_TIME_print, 2) \
  X(BIO_ctrl, 4) \
  X(BIO_ctrl_pending, 1) \
  X(BIO_free, 1) \
  X(BIO_new, 1) \
  X(BIO_new_bio_pair, 4) \
  X(BIO_puts, 2) \
  X(BIO_read, 3) \
  X(BIO_s_mem, 0) \
  X(BIO_write, 3) \
  X(BN_bn2hex, 1) \
  X(BN_free, 1) \
  X(CRYPTO_free, 3) \
  X(ERR_clear_error, 0) \
  X(ERR_error_string_n, 3) \
  X(ERR_get_error, 0) \
  X(ERR_lib_error_string, 1) \
  X(ERR_peek_error, 0) \
  X(ERR_peek_last_error, 0) \
  X(ERR_reason_error_string, 1) \
  X(SSL_CTX_callback_ctrl, 3) \
  X(SSL_CTX_check_private_key, 1) \
  X(SSL_CTX_ctrl, 4) \
  X(SSL_CTX_free, 1) \
  X(SSL_CTX_get0_certificate, 1) \
  X(SSL_CTX_get_default_passwd_cb_userdata, 1) \
  X(SSL_CTX_get_ex_data, 2) \
  X(SSL_CTX_get_verify_callback, 1) \
  X(SSL_CTX_new, 1) \
  X(SSL_CTX_set_alpn_select_cb, 3) \
  X(SSL_CTX_set_cipher_list, 2) \
  X(SSL_CTX_set_default_passwd_cb, 2) \
  X(SSL_CTX_set_default_passwd_cb_userdata, 2) \
  X(SSL_CTX_set_default_verify_paths, 1) \
  X(SSL_CTX_set_ex_data, 3) \
  X(SSL_CTX_set_options, 2) \
  X(SSL_CTX_set_session_id_context, 3) \
  X(SSL_CTX_set_verify, 3) \
  X(SSL_CTX_use_PrivateKey_file, 3) \
  X(SSL_CTX_use_certificate_chain_file, 2) \
  X(SSL_accept, 1) \
  X(SSL_connect, 1) \
  X(SSL_ctrl, 4) \
  X(SSL_do_handshake, 1) \
  X(SSL_free, 1) \
  X(SSL_get0_alpn_selected, 3) \
  X(SSL_get_error, 2) \
  X(SSL_get_ex_data, 2) \
  X(SSL_get_ex_data_X509_STORE_CTX_idx, 0) \
  X(SSL_get_servername, 2) \
  X(SSL_get_shutdown, 1) \
  X(SSL_get_verify_mode, 1) \
  X(SSL_has_pending, 1) \
  X(SSL_new, 1) \
  X(SSL_read, 3) \
  X(SSL_set_SSL_CTX, 2) \
  X(SSL_set_accept_state, 1) \
  X(SSL_set_bio, 3) \
  X(SSL_set_ex_data, 3) \
  X(SSL_set_fd, 2) \
  X(SSL_set_read_ahead, 2) \
  X(SSL_set_verify, 3) \
  X(SSL_shutdown, 1) \
  X(SSL_write, 3) \
  X(TLS_client_method, 0) \
  X(TLS_method, 0) \
  X(TLS_server_method, 0) \
  X(X509_NAME_print_ex, 4) \
  X(X509_STORE_CTX_get_current_cert, 1) \
  X(X509_STORE_CTX_get_error_depth, 1) \
  X(X509_STORE_CTX_get_ex_data, 2) \
  X(X509_check_host, 5) \
  X(X509_check_ip_asc, 3) \
  X(X509_cmp_current_time, 1) \
  X(X509_get0_notAfter, 1) \
  X(X509_get0_serialNumber, 1) \
  X(X509_get_subject_name, 1)
