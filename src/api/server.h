/*
 * server.h - the control API's listeners (docs/api.md): HTTPS with mutual
 * TLS, an optional plain loopback listener with a bearer token, and the
 * ops listener (/healthz, /readyz, /metrics).
 *
 * Ownership: api_server_start() returns an object owned by the caller;
 * api_server_stop() stops every listener, waits for the requests in
 * flight and frees it (NULL is a no-op).  reg and cfg must outlive it.
 */
#ifndef SN_API_SERVER_H
#define SN_API_SERVER_H

#include <stddef.h>

struct registry;
struct sn_config;
struct api_server;

struct secret_store;
/* secrets may be NULL (no secret is injected into commands). */
int api_server_start(struct registry *reg, const struct sn_config *cfg,
    struct secret_store *secrets, struct api_server **out /* OUT */, char *err,
    size_t errlen);
void api_server_stop(struct api_server *s);

#endif
