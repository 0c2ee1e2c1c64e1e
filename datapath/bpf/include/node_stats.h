/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Node counters of the uplink (BPF only): one per-CPU slot. */
#ifndef STRAND_NODE_STATS_H
#define STRAND_NODE_STATS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "drop_reasons.h"
#include "strand_maps.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct strand_node_stats);
} node_stats SEC(".maps");

static __always_inline struct strand_node_stats *strand_node_stats_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&node_stats, &zero);
}

/* Everything the uplink sees, by family (STRAND_NODE_*). */
static __always_inline void strand_node_count(struct strand_node_stats *ns,
					      __u32 family, __u32 len)
{
	if (!ns || family > STRAND_NODE_OTHER)
		return;
	ns->packets[family]++;
	ns->bytes[family] += len;
}

static __always_inline void
strand_node_count_drop(struct strand_node_stats *ns, __u32 reason)
{
	if (!ns || reason >= STRAND_DROP_SLOTS)
		return;
	ns->drops[reason]++;
}

#endif /* STRAND_NODE_STATS_H */
