#include <stdio.h>
#include "core/cl.h"
int main(void) { puts("certledger " CL_VERSION); return 0; }
