// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Pod datapath, attached to each pod's host veth:
 *   from_pod  host veth ingress = traffic leaving the pod  (STRAND_DIR_EGRESS)
 *   to_pod    host veth egress  = traffic entering the pod (STRAND_DIR_INGRESS)
 *
 * Per packet: parse; malformed -> count the reason, rate-limited drop event,
 * TC_ACT_SHOT; not IP -> count as non_ip, pass; non-first fragment -> count,
 * pass; otherwise conntrack: a packet of a tracked connection (either
 * side) is counted and passes with no policy lookup, unless it comes from
 * the opening side and the endpoint's policy revision moved since the
 * connection was last judged (then it is judged again, strand_rejudge); a
 * packet no connection owns is ICMPv6 neighbour discovery / MLD or an ICMP
 * error of a tracked connection (passes, opens nothing), or opens a
 * connection if NetworkPolicy lets it (policy.h): denied -> drop reason
 * policy-denied, event, no entry; audit mode -> counted as policy-audit,
 * event, passes and opens it.
 *
 * What drops and what passes, deliberately:
 *  - anything that claims to be IP but cannot be parsed to its ports drops:
 *    policy decides on those ports, so an unparsable packet would be a way
 *    around it;
 *  - frames that are not IP (ARP, LLDP, ...) pass: the host does not route
 *    them and the pod needs ARP/ND for nothing but its gateway;
 *  - MPLS/PPPoE/too many VLAN tags drop: they hide IP from the parser;
 *  - non-first fragments pass uncounted by conntrack and bypass policy:
 *    they carry no ports to judge, and the first fragment (which has them)
 *    was judged like any packet: denied, it never reaches the peer, which
 *    then cannot reassemble the datagram from the later ones and drops them
 *    (and Linux discards overlapping fragments, so a later one cannot
 *    rewrite the judged ports); tracking fragments to their first is later
 *    work;
 *  - ICMPv6 neighbour discovery, router messages and MLD pass whatever the
 *    policy: without them the pod loses its neighbours and multicast.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

#include "ct.h"
#include "drop_reasons.h"
#include "endpoint.h"
#include "notify.h"
#include "parse.h"
#include "policy.h"
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

/* The verdict of NetworkPolicy for pkt as the opening packet of a
 * connection: the peer from ipcache (*peer), the rule (*rule, policy.h).
 * Returns STRAND_DROP_POLICY_DENIED when it is denied (nc then carries the
 * peer and rule for the drop event); in audit mode a denial is counted as
 * policy-audit, reported and passes. */
static __always_inline int strand_judge(struct __sk_buff *skb,
					struct strand_notify_ctx *nc,
					const struct strand_pkt *pkt,
					struct strand_peer *peer, __u32 *rule)
{
	strand_peer_lookup(pkt, nc->dir, peer);
	*rule = strand_policy_rule(nc->ep_flags, nc->ep_id, nc->dir, pkt, peer);
	if (*rule != STRAND_RULE_ISOLATED)
		return STRAND_DROP_NONE;
	nc->remote_identity = peer->identity;
	nc->cidr_identity = peer->cidr_identity;
	nc->rule_id = *rule;
	if (!(nc->ep_flags & STRAND_EP_F_AUDIT))
		return STRAND_DROP_POLICY_DENIED;
	strand_ep_count_drop(nc->st, nc->dir, STRAND_DROP_POLICY_AUDIT);
	strand_notify_drop(skb, nc, &strand_cfg, STRAND_DROP_POLICY_AUDIT);
	return STRAND_DROP_NONE;
}

/* A packet no connection owns: neighbour discovery/MLD and ICMP errors of
 * a tracked connection pass as they are; anything else is judged by policy
 * and, let through, opens an entry recording the rule and the endpoint's
 * policy revision. Returns STRAND_DROP_POLICY_DENIED for a denied packet
 * (nc carries the peer and rule for the event). Nothing here runs for a
 * tracked packet: it is a subprogram of its own so the tracked fast path
 * stays compact. */
static __noinline int strand_open(struct __sk_buff *skb,
				       struct strand_notify_ctx *nc,
				       const struct strand_pkt *pkt)
{
	struct strand_ct_entry *ce;
	struct strand_ct_key key;
	struct strand_peer peer;
	__u32 rule;
	__u16 end;
	int reason;

	if (strand_icmp6_ndisc(pkt))
		return STRAND_DROP_NONE;
	if (strand_icmp_related(skb, pkt, nc->dir, nc->ep_id, nc->now,
				&strand_cfg))
		return STRAND_DROP_NONE; /* STRAND_RULE_RELATED */

	reason = strand_judge(skb, nc, pkt, &peer, &rule);
	if (rule != STRAND_RULE_NONE)
		strand_policy_hit(rule);
	if (reason)
		return reason;

	strand_ct_key_set(&key, pkt, nc->dir, 0);
	ce = strand_ct_create(&key, pkt, nc->ep_id, peer.identity, rule,
			      nc->policy_rev, nc->now);
	if (!ce)
		return STRAND_DROP_NONE;
	end = strand_ct_update(ce, STRAND_CT_ORIG, pkt, skb->len, nc->now);
	if (end)
		strand_notify_flow_end(nc, &strand_cfg, &key, ce, end);
	return STRAND_DROP_NONE;
}

/* A packet from the opening side of a tracked connection judged under an
 * older policy revision of its endpoint: judged again exactly as if it
 * opened the connection now. Allowed (or audit, or the direction no longer
 * enforced): the entry takes the rule, the peer's identity and the current
 * revision, and the packet goes on as tracked. Denied: the connection ends
 * here (flow-end event with reason policy, unless its end was reported
 * already; entry deleted) and the packet drops as policy-denied with its
 * event. policy_hits is not counted: it counts new connections, and a
 * revalidation is none. Replies are never judged again: an allowed
 * connection's replies pass, and a denied one is cut by its opener's next
 * packet. Out of line like strand_open, for the same reason. */
static __noinline int strand_rejudge(struct __sk_buff *skb,
				     struct strand_notify_ctx *nc,
				     const struct strand_pkt *pkt,
				     struct strand_ct_key *key,
				     struct strand_ct_entry *ce)
{
	struct strand_peer peer;
	__u32 rule;
	int reason;

	reason = strand_judge(skb, nc, pkt, &peer, &rule);
	if (reason) {
		if (!(ce->flags & STRAND_CT_F_ENDED))
			strand_notify_flow_end(nc, &strand_cfg, key, ce,
					       STRAND_FLOW_END_POLICY);
		bpf_map_delete_elem(&ct, key);
		return reason;
	}
	ce->rule_id = rule;
	ce->remote_identity = peer.identity;
	ce->policy_rev = nc->policy_rev;
	return STRAND_DROP_NONE;
}

/* Conntrack, then policy for what conntrack does not know or knows from an
 * older policy revision. */
static __always_inline int strand_track(struct __sk_buff *skb,
					struct strand_notify_ctx *nc,
					const struct strand_pkt *pkt)
{
	struct strand_ct_entry *ce;
	struct strand_ct_key key;
	__u8 side;
	__u16 end;
	int reason;

	ce = strand_ct_lookup(pkt, nc->dir, &key, &side);
	if (ce && strand_ct_stale(ce, pkt, nc->now, &strand_cfg)) {
		if (!(ce->flags & STRAND_CT_F_ENDED))
			strand_notify_flow_end(nc, &strand_cfg, &key, ce,
					       STRAND_FLOW_END_EXPIRED);
		bpf_map_delete_elem(&ct, &key);
		ce = NULL;
	}
	if (!ce)
		return strand_open(skb, nc, pkt);
	if (side == STRAND_CT_ORIG && ce->policy_rev != nc->policy_rev) {
		reason = strand_rejudge(skb, nc, pkt, &key, ce);
		if (reason)
			return reason;
	}
	end = strand_ct_update(ce, side, pkt, skb->len, nc->now);
	if (end)
		strand_notify_flow_end(nc, &strand_cfg, &key, ce, end);
	return STRAND_DROP_NONE;
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
		nc.ep_flags = ep->flags;
		nc.policy_rev = ep->policy_rev;
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
	reason = strand_track(skb, &nc, &pkt);
	if (reason)
		goto drop;
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
