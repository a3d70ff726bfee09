/* SPDX-License-Identifier: GPL-2.0-only */
/* Fixed-width types for the freestanding PV kernel (LP64). */
#ifndef PV_TYPES_H
#define PV_TYPES_H
typedef unsigned char u8;
typedef signed char s8;
typedef unsigned short u16;
typedef short s16;
typedef unsigned int u32;
typedef int s32;
typedef unsigned long u64;
typedef long s64;
typedef unsigned long size_t;
typedef long ssize_t;
typedef unsigned long uintptr_t;
#define NULL ((void *)0)
#define bool _Bool
#define true 1
#define false 0
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define _Static_check(c) _Static_assert(c, #c)
#endif
