/*
 * Internal entry point of the configuration parser, for the fuzz target
 * and the tests: cl_config_parse with flags.
 */
#ifndef CL_SERVE_CONFIG_INT_H
#define CL_SERVE_CONFIG_INT_H

#include "serve/config.h"

/*
 * Do not resolve secrets: {env: NAME} and {file: PATH} are still checked
 * for their form, but no variable or file is read; each stands for the
 * value CL_CONFIG_DUMMY_SECRET. For fuzzing, where input must not make
 * the parser read arbitrary files.
 */
#define CL_CONFIG_NO_SECRETS 0x1u
#define CL_CONFIG_DUMMY_SECRET "https://secret.invalid/dummy-7f3a9c"

/* cl_config_parse with flags (CL_CONFIG_*); same contract otherwise. */
int cl_config_parse_flags(struct cl_config **out, const char *text, size_t len,
                          const char *name, unsigned flags, char *err, size_t errlen);

#endif
