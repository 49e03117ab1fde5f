#ifndef SENDARIX_CLMDB_SHIM_H
#define SENDARIX_CLMDB_SHIM_H
#include <lmdb.h>
#endif
