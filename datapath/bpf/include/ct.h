/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Connection tracking (BPF only).
 *
 * An entry is keyed by the tuple of the packet that opened the connection
 * and the direction it travelled (STRAND_DIR_*): the pod that sends the
 * first packet owns an egress entry, the pod that receives it an ingress
 * entry, so both ends on one node keep their own counters. A later packet
 * is looked up as-is with its own direction (same side as the opener) and
 * reversed with the other direction (the reply side).
 *
 * Counters are updated with atomics (several CPUs share an entry); state,
 * flags and timestamps with plain stores: a lost race costs one flag bit
 * that the next packet sets again.
 */
#ifndef STRAND_CT_H
#define STRAND_CT_H

#include <linux/bpf.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>

#include "drop_reasons.h"
#include "parse.h"
#include "strand_events.h"
#include "strand_maps.h"

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, STRAND_CT_MAX);
	__type(key, struct strand_ct_key);
	__type(value, struct strand_ct_entry);
} ct SEC(".maps");

/* TCP flag combinations no conforming stack sends; they only probe or
 * confuse state machines. */
static __always_inline int strand_ct_check(const struct strand_pkt *pkt)
{
	__u8 f = pkt->tcp_flags;

	if (pkt->proto != IPPROTO_TCP)
		return STRAND_DROP_NONE;
	if ((f & (STRAND_TCP_SYN | STRAND_TCP_FIN)) ==
		    (STRAND_TCP_SYN | STRAND_TCP_FIN) ||
	    (f & (STRAND_TCP_SYN | STRAND_TCP_RST)) ==
		    (STRAND_TCP_SYN | STRAND_TCP_RST) ||
	    (f & (STRAND_TCP_SYN | STRAND_TCP_FIN | STRAND_TCP_RST |
		  STRAND_TCP_ACK)) == 0)
		return STRAND_DROP_CT_INVALID;
	return STRAND_DROP_NONE;
}

static __always_inline void strand_ct_key_set(struct strand_ct_key *key,
					      const struct strand_pkt *pkt,
					      __u8 dir, int reverse)
{
	__builtin_memset(key, 0, sizeof(*key));
	key->proto = pkt->proto;
	key->family = pkt->family;
	if (!reverse) {
		__builtin_memcpy(key->saddr, pkt->saddr, sizeof(key->saddr));
		__builtin_memcpy(key->daddr, pkt->daddr, sizeof(key->daddr));
		key->sport = pkt->sport;
		key->dport = pkt->dport;
		key->dir = dir;
	} else {
		__builtin_memcpy(key->saddr, pkt->daddr, sizeof(key->saddr));
		__builtin_memcpy(key->daddr, pkt->saddr, sizeof(key->daddr));
		key->sport = pkt->dport;
		key->dport = pkt->sport;
		key->dir = dir ^ 1;
	}
}

/* Finds the connection a packet belongs to. On a hit, key holds the
 * entry's key and *side says whether the packet came from the opener
 * (STRAND_CT_ORIG) or the other end (STRAND_CT_REPLY). On a miss, key holds
 * the key a new entry would get. */
static __always_inline struct strand_ct_entry *
strand_ct_lookup(const struct strand_pkt *pkt, __u8 dir,
		 struct strand_ct_key *key, __u8 *side)
{
	struct strand_ct_entry *ce;

	strand_ct_key_set(key, pkt, dir, 1);
	ce = bpf_map_lookup_elem(&ct, key);
	if (ce) {
		*side = STRAND_CT_REPLY;
		return ce;
	}
	strand_ct_key_set(key, pkt, dir, 0);
	*side = STRAND_CT_ORIG;
	return bpf_map_lookup_elem(&ct, key);
}

static __always_inline __u64
strand_ct_timeout(const struct strand_ct_entry *ce, __u8 proto,
		  const volatile struct strand_tc_config *cfg)
{
	if (proto != IPPROTO_TCP)
		return cfg->ct_other_ns;
	switch (ce->state) {
	case STRAND_CT_NONE:
	case STRAND_CT_SYN_SENT:
	case STRAND_CT_SYN_RECV:
		return cfg->ct_syn_ns;
	case STRAND_CT_TIME_WAIT:
	case STRAND_CT_CLOSED:
		return cfg->ct_close_ns;
	default:
		return cfg->ct_tcp_ns;
	}
}

/* True when the entry no longer describes the packet's connection: idle
 * past its timeout, or closed and the tuple reused by a new SYN. The caller
 * reports it (unless already reported), deletes it and starts over. */
static __always_inline int strand_ct_stale(const struct strand_ct_entry *ce,
					   const struct strand_pkt *pkt,
					   __u64 now,
					   const volatile struct strand_tc_config *cfg)
{
	if (now - ce->last_seen_ns > strand_ct_timeout(ce, pkt->proto, cfg))
		return 1;
	return pkt->proto == IPPROTO_TCP &&
	       (pkt->tcp_flags & (STRAND_TCP_SYN | STRAND_TCP_ACK)) ==
		       STRAND_TCP_SYN &&
	       ce->state >= STRAND_CT_TIME_WAIT;
}

/* Opens an entry for a packet that matched none and that policy let
 * through (rule_id says why, policy.h; policy_rev is the endpoint's
 * revision that judgement was made under). A TCP RST opens nothing
 * (there is no connection left to track); a TCP packet without SYN opens
 * an ESTABLISHED entry marked MIDSTREAM (the opener is a guess). */
static __always_inline struct strand_ct_entry *
strand_ct_create(const struct strand_ct_key *key, const struct strand_pkt *pkt,
		 __u32 ep_id, __u32 remote_identity, __u32 rule_id,
		 __u32 policy_rev, __u64 now)
{
	struct strand_ct_entry e = {};

	if (pkt->proto == IPPROTO_TCP) {
		if (pkt->tcp_flags & STRAND_TCP_RST)
			return NULL;
		if ((pkt->tcp_flags & (STRAND_TCP_SYN | STRAND_TCP_ACK)) !=
		    STRAND_TCP_SYN) {
			e.state = STRAND_CT_ESTABLISHED;
			e.flags = STRAND_CT_F_MIDSTREAM;
		}
	} else {
		e.state = STRAND_CT_NEW;
	}
	e.first_seen_ns = now;
	e.last_seen_ns = now;
	e.ep_id = ep_id;
	e.remote_identity = remote_identity;
	e.rule_id = rule_id;
	e.policy_rev = policy_rev;
	/* Another CPU may have won the race: use its entry. */
	bpf_map_update_elem(&ct, key, &e, BPF_NOEXIST);
	return bpf_map_lookup_elem(&ct, key);
}

static __always_inline __u8 strand_ct_tcp_next(struct strand_ct_entry *ce,
					       __u8 side, __u8 f, __u64 now)
{
	__u8 state = ce->state;
	__u8 other = ce->tcp_flags[side ^ 1];

	if (f & STRAND_TCP_RST)
		return STRAND_CT_CLOSED;
	if (state >= STRAND_CT_TIME_WAIT)
		return state;
	if (f & STRAND_TCP_FIN)
		return (other & STRAND_TCP_FIN) ? STRAND_CT_TIME_WAIT :
						  STRAND_CT_FIN_WAIT;
	if (state >= STRAND_CT_ESTABLISHED)
		return state;

	if ((f & (STRAND_TCP_SYN | STRAND_TCP_ACK)) == STRAND_TCP_SYN) {
		if (side == STRAND_CT_ORIG && state <= STRAND_CT_SYN_SENT) {
			ce->syn_ns = now; /* a retransmitted SYN restarts it */
			return STRAND_CT_SYN_SENT;
		}
		return state;
	}
	if (f & STRAND_TCP_SYN) { /* SYN-ACK */
		if (side == STRAND_CT_REPLY &&
		    (state == STRAND_CT_SYN_SENT || state == STRAND_CT_SYN_RECV)) {
			if (!ce->rtt_ns && ce->syn_ns)
				ce->rtt_ns = now - ce->syn_ns ?: 1;
			return STRAND_CT_SYN_RECV;
		}
		return state;
	}
	if ((f & STRAND_TCP_ACK) && side == STRAND_CT_ORIG &&
	    state == STRAND_CT_SYN_RECV)
		return STRAND_CT_ESTABLISHED;
	return state;
}

/* Accounts a packet to its entry and advances the state. Returns the
 * STRAND_FLOW_END_* reason when this packet ended the flow (first time
 * only), 0 otherwise. */
static __always_inline __u16 strand_ct_update(struct strand_ct_entry *ce,
					      __u8 side,
					      const struct strand_pkt *pkt,
					      __u32 len, __u64 now)
{
	__u8 f = pkt->tcp_flags;
	__u8 next;

	side &= 1;
	__sync_fetch_and_add(&ce->packets[side], 1);
	__sync_fetch_and_add(&ce->bytes[side], len);
	ce->last_seen_ns = now;

	if (pkt->proto != IPPROTO_TCP) {
		if (side == STRAND_CT_REPLY && ce->state == STRAND_CT_NEW)
			ce->state = STRAND_CT_ESTABLISHED;
		return 0;
	}

	if ((ce->tcp_flags[side] | f) != ce->tcp_flags[side])
		ce->tcp_flags[side] |= f;
	next = strand_ct_tcp_next(ce, side, f, now);
	if (next != ce->state)
		ce->state = next;
	if (next < STRAND_CT_TIME_WAIT || (ce->flags & STRAND_CT_F_ENDED))
		return 0;
	ce->flags |= STRAND_CT_F_ENDED;
	return next == STRAND_CT_CLOSED ? STRAND_FLOW_END_RST :
					  STRAND_FLOW_END_FIN;
}

#endif /* STRAND_CT_H */
