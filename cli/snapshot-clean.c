/*
 * snapshot-clean.c - the maintenance command for cron and systemd timers
 *
 * The same cleaner as "sessnap clean" (cmd_clean.c), under the name that
 * schedules call.  See snapshot-clean(1).
 */
#include "config.h"

#include "commands.h"

int main(int argc, char **argv)
{
	return cmd_clean(argc, argv, "snapshot-clean");
}
