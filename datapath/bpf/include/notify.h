/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Events to user space (BPF only): drop and flow-end records in the
 * `events` ringbuf, rate-limited per endpoint by a token bucket. Every
 * outcome is counted in the endpoint's stats: sent, limited or lost. */
#ifndef STRAND_NOTIFY_H
#define STRAND_NOTIFY_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "strand_events.h"
#include "strand_maps.h"

#define STRAND_NSEC_PER_SEC 1000000000ULL

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, STRAND_EVENTS_BYTES);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, STRAND_EP_STATS_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32); /* endpoint id */
	__type(value, struct strand_ev_bucket);
} ev_limit SEC(".maps");

/* What an event says about where it happened. */
struct strand_notify_ctx {
	__u64 now;
	struct strand_ep_stats *st; /* may be NULL */
	__u32 ep_id;
	__u32 identity;
	__u32 ifindex;
	/* The endpoint record's flags and policy revision (0 without one):
	 * what policy decisions for this packet go by. */
	__u32 ep_flags;
	__u32 policy_rev;
	/* Set by the policy decision for its events; 0 for other drops. */
	__u32 remote_identity;
	__u32 cidr_identity;
	__u32 rule_id;
	__u8 dir;
};

/* Takes one token from the endpoint's bucket. Unlocked: concurrent CPUs
 * may both take the last token, which only loosens the limit slightly. */
static __always_inline int
strand_ev_allow(const struct strand_notify_ctx *nc,
		const volatile struct strand_tc_config *cfg)
{
	__u64 cap = (__u64)cfg->ev_burst * STRAND_NSEC_PER_SEC;
	struct strand_ev_bucket *b;
	__u64 elapsed, credit;

	b = bpf_map_lookup_elem(&ev_limit, &nc->ep_id);
	if (!b) {
		struct strand_ev_bucket nb = { .last_ns = nc->now };

		if (cap < STRAND_NSEC_PER_SEC)
			return 0;
		nb.credit = cap - STRAND_NSEC_PER_SEC;
		bpf_map_update_elem(&ev_limit, &nc->ep_id, &nb, BPF_ANY);
		return 1;
	}
	elapsed = nc->now - b->last_ns;
	/* After burst seconds the bucket is full for any rate >= 1; below
	 * that, elapsed * rate < 1e13 * 1e6 cannot overflow. */
	if (cfg->ev_rate == 0) {
		credit = b->credit;
	} else if (elapsed >= (__u64)cfg->ev_burst * STRAND_NSEC_PER_SEC) {
		credit = cap;
	} else {
		credit = b->credit + elapsed * cfg->ev_rate;
		if (credit > cap)
			credit = cap;
	}
	b->last_ns = nc->now;
	if (credit < STRAND_NSEC_PER_SEC) {
		b->credit = credit;
		return 0;
	}
	b->credit = credit - STRAND_NSEC_PER_SEC;
	return 1;
}

static __always_inline void *
strand_ev_reserve(const struct strand_notify_ctx *nc,
		  const volatile struct strand_tc_config *cfg, __u32 kind,
		  __u64 size)
{
	void *ev;

	if (!(cfg->events & kind))
		return NULL;
	if (!strand_ev_allow(nc, cfg)) {
		if (nc->st)
			nc->st->events_limited++;
		return NULL;
	}
	ev = bpf_ringbuf_reserve(&events, size, 0);
	if (!ev) {
		if (nc->st)
			nc->st->events_lost++;
		return NULL;
	}
	if (nc->st)
		nc->st->events_sent++;
	return ev;
}

static __always_inline void strand_ev_hdr(struct strand_event_hdr *h,
					  const struct strand_notify_ctx *nc,
					  __u8 type, __u16 reason)
{
	h->type = type;
	h->dir = nc->dir;
	h->reason = reason;
	h->ep_id = nc->ep_id;
	h->ts_ns = nc->now;
}

static __always_inline void
strand_notify_drop(struct __sk_buff *skb, const struct strand_notify_ctx *nc,
		   const volatile struct strand_tc_config *cfg, __u16 reason)
{
	struct strand_drop_event *ev;
	__u32 cap;

	ev = strand_ev_reserve(nc, cfg, STRAND_EVENTS_DROP, sizeof(*ev));
	if (!ev)
		return;
	strand_ev_hdr(&ev->hdr, nc, STRAND_EV_DROP, reason);
	ev->ifindex = nc->ifindex;
	ev->identity = nc->identity;
	ev->pkt_len = skb->len;
	ev->remote_identity = nc->remote_identity;
	ev->cidr_identity = nc->cidr_identity;
	ev->rule_id = nc->rule_id;
	ev->pad = 0;
	__builtin_memset(ev->pkt, 0, sizeof(ev->pkt));
	cap = skb->len;
	if (cap > sizeof(ev->pkt))
		cap = sizeof(ev->pkt);
	if (cap < 1 || bpf_skb_load_bytes(skb, 0, ev->pkt, cap))
		cap = 0;
	ev->cap_len = cap;
	bpf_ringbuf_submit(ev, 0);
}

static __always_inline void
strand_notify_flow_end(const struct strand_notify_ctx *nc,
		       const volatile struct strand_tc_config *cfg,
		       const struct strand_ct_key *key,
		       const struct strand_ct_entry *ce, __u16 why)
{
	struct strand_flow_event *ev;

	ev = strand_ev_reserve(nc, cfg, STRAND_EVENTS_FLOW, sizeof(*ev));
	if (!ev)
		return;
	strand_ev_hdr(&ev->hdr, nc, STRAND_EV_FLOW_END, why);
	__builtin_memcpy(&ev->key, key, sizeof(ev->key));
	__builtin_memcpy(&ev->ct, ce, sizeof(ev->ct));
	bpf_ringbuf_submit(ev, 0);
}

#endif /* STRAND_NOTIFY_H */
