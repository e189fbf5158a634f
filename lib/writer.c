/*
 * writer.c - when pending states are written
 *
 * This version saves synchronously: an update stays pending until the app
 * calls sessnap_session_save(), sessnap_session_flush() or
 * sessnap_session_end(), which write it on the calling thread.
 */
#include "config.h"

#include "writer.h"

int sessnap__writer_start(sessnap_store *store)
{
	(void)store;
	return 0;
}

void sessnap__writer_stop(sessnap_store *store)
{
	(void)store;
}

void sessnap__writer_notify(sessnap_store *store)
{
	(void)store;
}

int sessnap__writer_flush(sessnap_session *s)
{
	return sessnap__session_save_pending(s);
}
