# SPDX-License-Identifier: GPL-2.0-only
# Loader test input: code, initialised data, a zero-filled .bss tail and the HTIF
# tohost/fromhost words, in separately placed sections so PT_LOAD has filesz < memsz.
  .section .text.init, "ax"
  .globl _start
_start:
  la t0, data_word
  lw t1, 0(t0)
1: j 1b

  .section .tohost, "aw", @progbits
  .align 6
  .globl tohost
tohost: .dword 0
  .align 6
  .globl fromhost
fromhost: .dword 0

  .data
  .globl data_word
data_word: .dword 0x1122334455667788
  .ascii "tsxen-loader-test"

  .bss
  .globl big_bss
big_bss: .space 12345
