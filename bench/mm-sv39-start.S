# SPDX-License-Identifier: GPL-2.0-only
# Start-up for minimark under virtual memory: builds Sv39 tables mapping the first 2 MiB of
# RAM with 4 KiB pages (so loads, stores and fetches go through the TLB at page granularity)
# and the device gigabyte identity, opens PMP, and enters cpu-bench's bare_main in S-mode.
  .section .text.start, "ax"
  .globl _start
_start:
  la sp, stack_top
  la t0, pt_root
  li t1, 0xcf                 # root[0]: VA 0..1 GiB -> PA 0 (devices), gigapage V R W X A D
  sd t1, 0(t0)
  la t2, pt_l1                # root[2] -> l1 (VA 0x8000_0000..)
  srli t2, t2, 12
  slli t2, t2, 10
  ori t2, t2, 1
  sd t2, 16(t0)
  la t1, pt_l1                # l1[0] -> l0
  la t2, pt_l0
  srli t2, t2, 12
  slli t2, t2, 10
  ori t2, t2, 1
  sd t2, 0(t1)
  la t1, pt_l0                # l0[i] -> PA 0x8000_0000 + i * 4 KiB, i < 512
  li t2, 0x80000000
  li t3, 512
1:srli t4, t2, 12
  slli t4, t4, 10
  ori t4, t4, 0xcf
  sd t4, 0(t1)
  addi t1, t1, 8
  li t5, 4096
  add t2, t2, t5
  addi t3, t3, -1
  bnez t3, 1b
  li t1, -1
  csrw pmpaddr0, t1
  li t1, 0x1f
  csrw pmpcfg0, t1
  srli t0, t0, 12
  li t1, 8
  slli t1, t1, 60
  or t0, t0, t1
  csrw satp, t0
  sfence.vma
  li t0, 0x1800               # mret to S-mode at bare_main
  csrc mstatus, t0
  li t0, 0x800
  csrs mstatus, t0
  la t0, bare_main
  csrw mepc, t0
  mret

  .bss
  .balign 4096
pt_root: .space 4096
pt_l1: .space 4096
pt_l0: .space 4096
  .space 65536
stack_top:
