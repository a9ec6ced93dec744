#include <stdio.h>
#include <string.h>
#include "core/cl.h"
#include "core/yamldoc.h"

const char *cl_yaml_scalar(const yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

bool cl_yaml_is_null(const yaml_node_t *n)
{
	static const char *const nulls[] = { "~", "null", "Null", "NULL", "" };
	size_t i;

	if (!n || n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	for (i = 0; i < CL_ARRAY_LEN(nulls); i++)
		if (strcmp(cl_yaml_scalar(n), nulls[i]) == 0)
			return true;
	return false;
}

int cl_yaml_line(const yaml_node_t *n)
{
	return n ? (int)n->start_mark.line + 1 : 1;
}

int cl_yaml_vfail(char *err, size_t errlen, const char *name, const yaml_node_t *node,
                  const char *fmt, va_list ap)
{
	char msg[700];

	vsnprintf(msg, sizeof msg, fmt, ap);
	if (node)
		snprintf(err, errlen, "%s:%d: %s", name, cl_yaml_line(node), msg);
	else
		snprintf(err, errlen, "%s: %s", name, msg);
	return CL_ERR_PARSE;
}

/*
 * What libyaml was reading when it failed, and where that began: " (in the
 * flow sequence started at line 6)", or "" when it does not say.
 */
static void context(char *buf, size_t len, const yaml_parser_t *parser)
{
	static const char *const verbs[] = { "while parsing an ", "while parsing a ",
	                                     "while scanning an ", "while scanning a " };
	const char *c = parser->context;
	unsigned long line = (unsigned long)parser->context_mark.line + 1;
	size_t i;

	buf[0] = '\0';
	if (!c || !*c)
		return;
	for (i = 0; i < CL_ARRAY_LEN(verbs); i++)
		if (strncmp(c, verbs[i], strlen(verbs[i])) == 0) {
			snprintf(buf, len, " (in the %s started at line %lu)", c + strlen(verbs[i]), line);
			return;
		}
	snprintf(buf, len, " (%s at line %lu)", c, line);
}

int cl_yaml_error(char *err, size_t errlen, const char *name, const yaml_parser_t *parser)
{
	char ctx[200];

	if (parser->error == YAML_MEMORY_ERROR)
		return CL_ERR_NOMEM;
	context(ctx, sizeof ctx, parser);
	snprintf(err, errlen, "%s:%lu: %s%s", name, (unsigned long)parser->problem_mark.line + 1,
	         parser->problem ? parser->problem : "not valid YAML", ctx);
	return CL_ERR_PARSE;
}
