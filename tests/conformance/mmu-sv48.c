/* SPDX-License-Identifier: GPL-2.0-only */
/* Sv48 page tables built by the test, plus a 512 GiB leaf: see common/mmu-body.h. */
#define SV 48
#include "mmu-body.h"
