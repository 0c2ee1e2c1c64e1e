// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Pod datapath, attached to each pod's host veth:
 *   from_pod  host veth ingress = traffic leaving the pod  (STRAND_DIR_EGRESS)
 *   to_pod    host veth egress  = traffic entering the pod (STRAND_DIR_INGRESS)
 *
 * Per packet: parse; malformed -> count the reason, rate-limited drop event,
 * TC_ACT_SHOT; not IP -> count as non_ip, pass; non-first fragment -> count,
 * pass; otherwise conntrack, count, pass. Policy slots in after conntrack
 * (the endpoint's flags already say where it is enforced).
 *
 * What drops and what passes, deliberately:
 *  - anything that claims to be IP but cannot be parsed to its ports drops:
 *    later policy decides on those ports, so an unparsable packet would be a
 *    way around it;
 *  - frames that are not IP (ARP, LLDP, ...) pass: the host does not route
 *    them and the pod needs ARP/ND for nothing but its gateway;
 *  - MPLS/PPPoE/too many VLAN tags drop: they hide IP from the parser;
 *  - non-first fragments pass uncounted by conntrack: they carry no ports
 *    (tracking fragments to their first is later work).
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

#include "ct.h"
#include "drop_reasons.h"
#include "endpoint.h"
#include "notify.h"
#include "parse.h"
#include "stats.h"
#include "strand_maps.h"

const volatile struct strand_tc_config strand_cfg = {
	.events = STRAND_EVENTS_DROP | STRAND_EVENTS_FLOW,
	.ev_rate = 100,
	.ev_burst = 200,
	.ct_syn_ns = 60ULL * STRAND_NSEC_PER_SEC,
	.ct_tcp_ns = 6ULL * 3600 * STRAND_NSEC_PER_SEC,
	.ct_close_ns = 10ULL * STRAND_NSEC_PER_SEC,
	.ct_other_ns = 60ULL * STRAND_NSEC_PER_SEC,
};

static __always_inline void strand_track(struct __sk_buff *skb,
					 const struct strand_notify_ctx *nc,
					 const struct strand_pkt *pkt)
{
	struct strand_ct_entry *ce;
	struct strand_ct_key key;
	__u8 side;
	__u16 end;

	ce = strand_ct_lookup(pkt, nc->dir, &key, &side);
	if (ce && strand_ct_stale(ce, pkt, nc->now, &strand_cfg)) {
		if (!(ce->flags & STRAND_CT_F_ENDED))
			strand_notify_flow_end(nc, &strand_cfg, &key, ce,
					       STRAND_FLOW_END_EXPIRED);
		bpf_map_delete_elem(&ct, &key);
		ce = NULL;
	}
	if (!ce) {
		strand_ct_key_set(&key, pkt, nc->dir, 0);
		side = STRAND_CT_ORIG;
		ce = strand_ct_create(&key, pkt, nc->ep_id,
				      strand_remote_identity(pkt, nc->dir),
				      nc->now);
		if (!ce)
			return;
	}
	end = strand_ct_update(ce, side, pkt, skb->len, nc->now);
	if (end)
		strand_notify_flow_end(nc, &strand_cfg, &key, ce, end);
}

static __always_inline int strand_pod(struct __sk_buff *skb, __u8 dir)
{
	struct strand_notify_ctx nc = {
		.now = bpf_ktime_get_ns(),
		.ifindex = skb->ifindex,
		.dir = dir,
	};
	struct strand_endpoint *ep;
	struct strand_pkt pkt = {};
	int reason;

	ep = strand_endpoint_lookup(skb->ifindex);
	if (ep) {
		nc.ep_id = ep->ep_id;
		nc.identity = ep->identity;
	}
	nc.st = strand_ep_stats_get(nc.ep_id);

	reason = strand_parse(skb, STRAND_CTX_SKB, skb->len, &pkt);
	if (reason)
		goto drop;
	if (!pkt.family) {
		if (nc.st)
			nc.st->non_ip[dir]++;
		goto pass;
	}
	if (pkt.frag == STRAND_FRAG_LATER) {
		if (nc.st)
			nc.st->fragments[dir]++;
		goto pass;
	}
	reason = strand_ct_check(&pkt);
	if (reason)
		goto drop;
	strand_track(skb, &nc, &pkt);
pass:
	strand_ep_count(nc.st, dir, skb->len);
	return TC_ACT_OK;
drop:
	strand_ep_count_drop(nc.st, dir, reason);
	strand_notify_drop(skb, &nc, &strand_cfg, reason);
	return TC_ACT_SHOT;
}

SEC("tc")
int from_pod(struct __sk_buff *skb)
{
	return strand_pod(skb, STRAND_DIR_EGRESS);
}

SEC("tc")
int to_pod(struct __sk_buff *skb)
{
	return strand_pod(skb, STRAND_DIR_INGRESS);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
