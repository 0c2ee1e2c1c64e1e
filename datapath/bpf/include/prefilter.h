/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* CIDR deny list for the uplink (BPF only): an LPM trie of source
 * prefixes; a match drops and counts on the matching entry. */
#ifndef STRAND_PREFILTER_H
#define STRAND_PREFILTER_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "lpm.h"
#include "parse.h"
#include "strand_maps.h"

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, STRAND_PREFILTER_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct strand_lpm_key);
	__type(value, struct strand_prefilter_value);
} prefilter SEC(".maps");

/* Returns 1 when the packet's source is denied (and counts it there). */
static __always_inline int strand_prefilter_deny(const struct strand_pkt *pkt,
						 __u32 len)
{
	struct strand_prefilter_value *v;
	struct strand_lpm_key key;

	strand_lpm_key_set(&key, pkt->family, pkt->saddr);
	v = bpf_map_lookup_elem(&prefilter, &key);
	if (!v)
		return 0;
	__sync_fetch_and_add(&v->packets, 1);
	__sync_fetch_and_add(&v->bytes, len);
	return 1;
}

#endif /* STRAND_PREFILTER_H */
