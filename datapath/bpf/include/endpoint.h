/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Who is on each end (BPF only): the endpoint behind a host veth, the
 * identities of a remote address, and the maps NetworkPolicy reads and
 * counts in (policy, policy_hits; the lookups are in policy.h). */
#ifndef STRAND_ENDPOINT_H
#define STRAND_ENDPOINT_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "lpm.h"
#include "parse.h"
#include "strand_maps.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, STRAND_ENDPOINTS_MAX);
	__type(key, __u32); /* host veth ifindex */
	__type(value, struct strand_endpoint);
} endpoints SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, STRAND_IPCACHE_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct strand_lpm_key);
	__type(value, struct strand_ipcache_value);
} ipcache SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, STRAND_POLICY_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct strand_policy_key);
	__type(value, struct strand_policy_value);
} policy SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, STRAND_RULES_MAX);
	__type(key, __u32);
	__type(value, __u64);
} policy_hits SEC(".maps");

static __always_inline struct strand_endpoint *
strand_endpoint_lookup(__u32 ifindex)
{
	return bpf_map_lookup_elem(&endpoints, &ifindex);
}

/* The peer as ipcache knows it: identity and cidr_identity (see
 * strand_maps.h). */
struct strand_peer {
	__u32 identity;      /* STRAND_IDENTITY_UNKNOWN on a miss */
	__u32 cidr_identity; /* 0: in no ipBlock */
};

/* One ipcache lookup for the peer: the destination of what leaves the pod,
 * the source of what enters it. */
static __always_inline void strand_peer_lookup(const struct strand_pkt *pkt,
					       __u8 dir, struct strand_peer *peer)
{
	struct strand_ipcache_value *v;
	struct strand_lpm_key key;

	strand_lpm_key_set(&key, pkt->family,
			   dir == STRAND_DIR_EGRESS ? pkt->daddr : pkt->saddr);
	v = bpf_map_lookup_elem(&ipcache, &key);
	if (v) {
		peer->identity = v->identity;
		peer->cidr_identity = v->cidr_identity;
	} else {
		peer->identity = STRAND_IDENTITY_UNKNOWN;
		peer->cidr_identity = 0;
	}
}

#endif /* STRAND_ENDPOINT_H */
