/*
 * Small helpers over libyaml's document API, shared by the readers of
 * the policy file, the daemon's configuration and the managed-certificate
 * spec, so all three say the same things the same way.
 */
#ifndef CL_YAMLDOC_H
#define CL_YAMLDOC_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <yaml.h>
#include "core/cl.h"

/* The scalar's text, or NULL when n is NULL or not a scalar. */
const char *cl_yaml_scalar(const yaml_node_t *n);

/* YAML null: ~, null or nothing at all, unquoted. */
bool cl_yaml_is_null(const yaml_node_t *n);

/* The 1-based line where n starts; 1 for NULL. */
int cl_yaml_line(const yaml_node_t *n);

/*
 * Formats "NAME:LINE: message" (the line where node starts; "NAME: message"
 * without a node) into err; returns CL_ERR_PARSE.
 */
int cl_yaml_vfail(char *err, size_t errlen, const char *name, const yaml_node_t *node,
                  const char *fmt, va_list ap) CL_PRINTF(5, 0);

/*
 * Formats a libyaml parse error as "NAME:LINE: problem (in the flow
 * sequence started at line 6)" into err. Returns CL_ERR_NOMEM when
 * libyaml ran out of memory (err untouched), else CL_ERR_PARSE.
 */
int cl_yaml_error(char *err, size_t errlen, const char *name, const yaml_parser_t *parser);

#endif
