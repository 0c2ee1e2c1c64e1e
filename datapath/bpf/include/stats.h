/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Per-endpoint counters (BPF only). Per-CPU values, so plain increments. */
#ifndef STRAND_STATS_H
#define STRAND_STATS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "drop_reasons.h"
#include "strand_maps.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, STRAND_EP_STATS_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32); /* endpoint id, 0 = no endpoint record */
	__type(value, struct strand_ep_stats);
} ep_stats SEC(".maps");

/* Source of the zeroes for a new entry (too big for the BPF stack). */
static const struct strand_ep_stats strand_ep_stats_zero;

/* The endpoint's counters, created on first use. NULL only when the map is
 * full; callers then count nothing but still forward or drop. */
static __always_inline struct strand_ep_stats *strand_ep_stats_get(__u32 ep_id)
{
	struct strand_ep_stats *st;

	st = bpf_map_lookup_elem(&ep_stats, &ep_id);
	if (st)
		return st;
	bpf_map_update_elem(&ep_stats, &ep_id, &strand_ep_stats_zero,
			    BPF_NOEXIST);
	return bpf_map_lookup_elem(&ep_stats, &ep_id);
}

/* A packet that passed, in direction dir (STRAND_DIR_*). */
static __always_inline void strand_ep_count(struct strand_ep_stats *st,
					    __u8 dir, __u32 len)
{
	if (!st || dir > STRAND_DIR_INGRESS)
		return;
	st->packets[dir]++;
	st->bytes[dir] += len;
}

static __always_inline void strand_ep_count_drop(struct strand_ep_stats *st,
						 __u8 dir, __u32 reason)
{
	if (!st || dir > STRAND_DIR_INGRESS || reason >= STRAND_DROP_SLOTS)
		return;
	st->drops[dir][reason]++;
}

#endif /* STRAND_STATS_H */
