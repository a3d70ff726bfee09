/* SPDX-License-Identifier: GPL-2.0-only */
/* Sv57 page tables built by the test (five levels), plus a 512 GiB leaf: see common/mmu-body.h. */
#define SV 57
#include "mmu-body.h"
