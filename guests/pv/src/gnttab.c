/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Grant tables, version 1 (docs/abi.md §7; public/grant_table.h; xen-digest §9.3).
 *
 * The table's first frame is mapped with GNTTABOP_setup_table (which returns its GFN in the
 * magic region), or, if that fails, with XENMEM_add_to_physmap(XENMAPSPACE_grant_table) at
 * 0x7FF0_4000. Entries 0-7 are reserved (console, xenstore); ours are allocated from 8 up.
 * Granting: write domid and frame, wmb, then flags. Revoking: atomically clear flags only if
 * Xen has not set GTF_reading/GTF_writing (the entry's first 32-bit word holds flags and domid,
 * so one compare-and-swap on it does that).
 */
#include "hypercall.h"
#include "kernel.h"

struct grant_entry_v1 *gnttab_table;
unsigned int gnttab_nr_entries;
static u8 in_use[PAGE_SIZE / sizeof(struct grant_entry_v1)];

long gnttab_init(void)
{
	u64 frame = 0;
	struct gnttab_setup_table st = { .dom = DOMID_SELF, .nr_frames = 1, .frame_list = (u64)&frame };
	long r = HYPERVISOR_grant_table_op(GNTTABOP_setup_table, &st, 1);
	if (r == 0 && st.status == GNTST_okay && frame != 0) {
		gnttab_table = (struct grant_entry_v1 *)(frame << PAGE_SHIFT);
	} else {
		struct xen_add_to_physmap x = {
			.domid = DOMID_SELF, .space = XENMAPSPACE_grant_table, .idx = 0, .gpfn = MAGIC_GRANT_GPA >> PAGE_SHIFT,
		};
		long r2 = HYPERVISOR_memory_op(XENMEM_add_to_physmap, &x);
		if (r2 != 0) {
			printk("pv: grant table: setup_table %ld/%d, add_to_physmap %ld\n", r, st.status, r2);
			return r2;
		}
		gnttab_table = (struct grant_entry_v1 *)MAGIC_GRANT_GPA;
	}
	gnttab_nr_entries = PAGE_SIZE / sizeof(struct grant_entry_v1);
	return 0;
}

grant_ref_t gnttab_grant_access(u16 domid, u64 gfn, bool readonly)
{
	for (grant_ref_t ref = GNTTAB_NR_RESERVED_ENTRIES; ref < gnttab_nr_entries; ref++) {
		if (in_use[ref])
			continue;
		in_use[ref] = 1;
		struct grant_entry_v1 *e = &gnttab_table[ref];
		e->domid = domid;
		e->frame = (u32)gfn;
		wmb();
		WRITE_ONCE(e->flags, (u16)(GTF_permit_access | (readonly ? GTF_readonly : 0)));
		return ref;
	}
	return 0;
}

/* Revoke; false if the grant is still mapped or being copied (the entry stays valid). */
bool gnttab_end_access(grant_ref_t ref)
{
	volatile u32 *w = (volatile u32 *)&gnttab_table[ref];
	u32 old = *w;
	for (;;) {
		if (old & (GTF_reading | GTF_writing))
			return false;
		u32 want = old & 0xFFFF0000U;
		if (__atomic_compare_exchange_n(w, &old, want, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
			break;
	}
	in_use[ref] = 0;
	return true;
}

long gnttab_map(u16 dom, grant_ref_t ref, u64 host_gpa, bool readonly, u32 *handle)
{
	struct gnttab_map_grant_ref op = {
		.host_addr = host_gpa, .flags = GNTMAP_host_map | (readonly ? GNTMAP_readonly : 0), .ref = ref, .dom = dom,
	};
	long r = HYPERVISOR_grant_table_op(GNTTABOP_map_grant_ref, &op, 1);
	if (r != 0)
		return r;
	*handle = op.handle;
	return op.status;
}

long gnttab_unmap(u64 host_gpa, u32 handle)
{
	struct gnttab_unmap_grant_ref op = { .host_addr = host_gpa, .handle = handle };
	long r = HYPERVISOR_grant_table_op(GNTTABOP_unmap_grant_ref, &op, 1);
	return r != 0 ? r : op.status;
}

long gnttab_copy_one(struct gnttab_copy *op)
{
	long r = HYPERVISOR_grant_table_op(GNTTABOP_copy, op, 1);
	return r != 0 ? r : op->status;
}
