/* SPDX-License-Identifier: GPL-2.0-only */
/* Sv39 page tables built by the test: see common/mmu-body.h. */
#define SV 39
#include "mmu-body.h"
