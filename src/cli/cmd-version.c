#include "autoconf.h"

#include <stdio.h>
#include <string.h>

#include "cli/cmd.h"

static int
cmd_version_exec(int argc, char **argv)
{
	if (argc > 1 &&
	    (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		cmd_print_help(&cmd_version_entry);
		return 0;
	}
	if (argc > 1)
		return cmd_usage_error(&cmd_version_entry,
		    "unexpected argument '%s'", argv[1]);
	printf("sentinel %s\n", PACKAGE_VERSION);
	return 0;
}

const struct cmd_entry cmd_version_entry = {
	.name = "version",
	.usage = "",
	.summary = "Print the version",
	.help = "",
	.exec = cmd_version_exec,
};
