/*
 * names.h - the store's file names, their paths, and the directory walk
 *
 * See names.c.  Included by internal.h: every module of lib/ may use it.
 */
#ifndef SESSNAP_NAMES_H
#define SESSNAP_NAMES_H

#include <stdbool.h>
#include <stddef.h>

#include "sessnap.h"

/* 1 to SESSNAP_APP_MAX of [A-Za-z0-9._-], not starting with a dot. */
bool sessnap__app_valid(const char *app);
/* Exactly SESSNAP_ID_LEN lowercase hex digits. */
bool sessnap__id_valid(const char *id);

/* Full path of a file in the store, for messages: writes into buf. */
const char *sessnap__path(char *buf, size_t len, const sessnap_store *store,
			  const char *name);
/* File names of a session. */
#define SESSNAP__NAME_MAX (SESSNAP_ID_LEN + 32)
void sessnap__snap_name(char out[SESSNAP__NAME_MAX], const char *id);
void sessnap__prev_name(char out[SESSNAP__NAME_MAX], const char *id);
void sessnap__lock_name(char out[SESSNAP__NAME_MAX], const char *id);

#endif /* SESSNAP_NAMES_H */
