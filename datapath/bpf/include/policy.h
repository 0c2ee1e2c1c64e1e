/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* NetworkPolicy (BPF only): the verdict for a packet that opens a
 * connection, ICMP errors of tracked connections, and the ICMPv6 messages
 * a pod needs whatever its policy.
 *
 * Policy is judged once per connection, on the packet that finds no ct
 * entry; everything after it (both sides) rides on the entry and costs no
 * policy lookup, until the endpoint's policy_rev moves: then the next
 * packet from the opening side is judged again the same way (strand_tc's
 * strand_rejudge). The judgement (contract in strand_maps.h, "policy"):
 *  - direction not enforced for the endpoint: STRAND_RULE_NONE;
 *  - peer is the node (ipcache identity HOST): STRAND_RULE_HOST;
 *  - else three probes of the policy LPM trie, at most: the peer's identity,
 *    its cidr_identity (when != 0), STRAND_POLICY_ANY_IDENTITY; the first
 *    hit allows with its rule id;
 *  - no hit: STRAND_RULE_ISOLATED, denied (audit mode: passed, reported).
 * So a new connection costs one ipcache and at most three policy lookups,
 * however many policies, rules, pods or CIDRs there are.
 */
#ifndef STRAND_POLICY_H
#define STRAND_POLICY_H

#include <linux/bpf.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "ct.h"
#include "endpoint.h"
#include "parse.h"
#include "strand_maps.h"

/* ICMP error types: they carry the IP header and at least the first 8
 * bytes of the packet they are about. */
#define STRAND_ICMP_DEST_UNREACH 3
#define STRAND_ICMP_TIME_EXCEEDED 11
#define STRAND_ICMP_PARAMETERPROB 12
#define STRAND_ICMPV6_DEST_UNREACH 1
#define STRAND_ICMPV6_PKT_TOOBIG 2
#define STRAND_ICMPV6_TIME_EXCEED 3
#define STRAND_ICMPV6_PARAMPROB 4

/* ICMPv6 a pod cannot do without: MLD query/report/done (130-132), router
 * solicitation/advertisement, neighbour solicitation/advertisement,
 * redirect (133-137), MLDv2 report (143). */
#define STRAND_ICMPV6_MLD_QUERY 130
#define STRAND_ICMPV6_NDISC_REDIRECT 137
#define STRAND_ICMPV6_MLD2_REPORT 143

/* Neighbour discovery and MLD pass without policy and without a ct entry:
 * they are not connections, and an entry (ICMPv6 with no ids: ports 0/0)
 * would let every other non-echo ICMPv6 message between the two addresses
 * ride on it. */
static __always_inline int strand_icmp6_ndisc(const struct strand_pkt *pkt)
{
	__u8 t = pkt->icmp_type;

	return pkt->proto == IPPROTO_ICMPV6 &&
	       ((t >= STRAND_ICMPV6_MLD_QUERY &&
		 t <= STRAND_ICMPV6_NDISC_REDIRECT) ||
		t == STRAND_ICMPV6_MLD2_REPORT);
}

static __always_inline int strand_icmp_error(const struct strand_pkt *pkt)
{
	__u8 t = pkt->icmp_type;

	if (pkt->proto == IPPROTO_ICMP)
		return t == STRAND_ICMP_DEST_UNREACH ||
		       t == STRAND_ICMP_TIME_EXCEEDED ||
		       t == STRAND_ICMP_PARAMETERPROB;
	if (pkt->proto == IPPROTO_ICMPV6)
		return t >= STRAND_ICMPV6_DEST_UNREACH &&
		       t <= STRAND_ICMPV6_PARAMPROB;
	return 0;
}

static __always_inline int strand_addr_eq(const __be32 *a, const __be32 *b)
{
	return ((a[0] ^ b[0]) | (a[1] ^ b[1]) | (a[2] ^ b[2]) |
		(a[3] ^ b[3])) == 0;
}

/* The packet an ICMP error quotes, as far as a ct key needs it: family,
 * addresses, protocol, ports (echo id for ICMP echo, as strand_parse_l4
 * puts it). The quoted IP header must be whole and of the outer family, its
 * L4 header's first 8 bytes present; a quoted IPv6 extension header or a
 * non-first fragment makes it unreadable (0), like every other failure. */
static __always_inline int strand_icmp_quoted(struct __sk_buff *skb,
					      const struct strand_pkt *pkt,
					      struct strand_pkt *in)
{
	__u32 off = pkt->l4_off + sizeof(struct strand_icmp_hdr);
	struct strand_icmp_hdr l4; /* 8 bytes: ports, or ICMP type/id */

	if (pkt->family == STRAND_FAMILY_IPV4) {
		struct iphdr ip;
		__u32 hlen;

		if (off + sizeof(ip) > pkt->limit ||
		    bpf_skb_load_bytes(skb, off, &ip, sizeof(ip)))
			return 0;
		hlen = ip.ihl * 4;
		if (ip.version != 4 || hlen < sizeof(ip) ||
		    (bpf_ntohs(ip.frag_off) & STRAND_IP_OFFSET))
			return 0;
		in->family = STRAND_FAMILY_IPV4;
		in->saddr[0] = ip.saddr;
		in->daddr[0] = ip.daddr;
		in->proto = ip.protocol;
		off += hlen;
	} else {
		struct ipv6hdr ip6;

		if (off + sizeof(ip6) > pkt->limit ||
		    bpf_skb_load_bytes(skb, off, &ip6, sizeof(ip6)))
			return 0;
		if (ip6.version != 6 || strand_ipv6_is_ext(ip6.nexthdr))
			return 0;
		in->family = STRAND_FAMILY_IPV6;
		__builtin_memcpy(in->saddr, &ip6.saddr, sizeof(in->saddr));
		__builtin_memcpy(in->daddr, &ip6.daddr, sizeof(in->daddr));
		in->proto = ip6.nexthdr;
		off += sizeof(ip6);
	}

	switch (in->proto) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
	case IPPROTO_UDPLITE:
	case IPPROTO_SCTP:
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		break;
	default:
		return 1; /* tracked by addresses only */
	}
	if (off + sizeof(l4) > pkt->limit ||
	    bpf_skb_load_bytes(skb, off, &l4, sizeof(l4)))
		return 0;
	if (in->proto == IPPROTO_ICMP || in->proto == IPPROTO_ICMPV6) {
		__u8 echo = STRAND_ICMP_ECHO, reply = STRAND_ICMP_ECHOREPLY;

		if (in->proto == IPPROTO_ICMPV6) {
			echo = STRAND_ICMPV6_ECHO_REQUEST;
			reply = STRAND_ICMPV6_ECHO_REPLY;
		}
		if (l4.type == echo)
			in->sport = l4.echo_id;
		else if (l4.type == reply)
			in->dport = l4.echo_id;
	} else {
		/* TCP, UDP, UDP-Lite and SCTP all start with the ports. */
		__builtin_memcpy(&in->sport, &l4, sizeof(in->sport));
		__builtin_memcpy(&in->dport, (__u8 *)&l4 + 2, sizeof(in->dport));
	}
	return 1;
}

/* True when pkt is an ICMP error about a live connection of this endpoint.
 * The quoted packet travelled the other way than the error (the pod sent
 * what an error to it quotes, and received what an error from it quotes),
 * so it is looked up as a packet of the other direction: as-is it is the
 * opener's side, reversed the reply side (strand_ct_lookup). The error's
 * pod-side address must be the quoted packet's, and an error the pod sends
 * must go back to the quoted packet's source: a pod cannot pass arbitrary
 * ICMP off as related to its own connections. */
static __always_inline int
strand_icmp_related(struct __sk_buff *skb, const struct strand_pkt *pkt,
		    __u8 dir, __u32 ep_id, __u64 now,
		    const volatile struct strand_tc_config *cfg)
{
	struct strand_pkt in = {};
	struct strand_ct_entry *ce;
	struct strand_ct_key key;
	__u8 side;

	if (!strand_icmp_error(pkt) || !strand_icmp_quoted(skb, pkt, &in))
		return 0;
	if (dir == STRAND_DIR_INGRESS) {
		if (!strand_addr_eq(pkt->daddr, in.saddr))
			return 0;
	} else if (!strand_addr_eq(pkt->saddr, in.daddr) ||
		   !strand_addr_eq(pkt->daddr, in.saddr)) {
		return 0;
	}
	ce = strand_ct_lookup(&in, dir ^ 1, &key, &side);
	if (!ce || ce->ep_id != ep_id)
		return 0;
	return now - ce->last_seen_ns <= strand_ct_timeout(ce, in.proto, cfg);
}

static __always_inline struct strand_policy_value *
strand_policy_probe(__u32 ep_id, __u8 dir, __u32 identity, __u8 proto,
		    __be16 dport)
{
	struct strand_policy_key key = {
		.prefixlen = STRAND_POLICY_PREFIX_FULL,
		.ep_id = bpf_htonl(ep_id),
		.remote_identity = bpf_htonl(identity),
		.dir = dir,
		.proto = proto,
		.dport = dport,
	};
	struct strand_policy_value *v;

	v = bpf_map_lookup_elem(&policy, &key);
	if (v && v->verdict == STRAND_VERDICT_ALLOW)
		return v;
	return NULL;
}

/* The rule id a new connection gets (see the file comment). ICMP is probed
 * with port 0 (echo ids are no ports); protocols without ports carry 0. */
static __always_inline __u32 strand_policy_rule(__u32 ep_flags, __u32 ep_id,
						__u8 dir,
						const struct strand_pkt *pkt,
						const struct strand_peer *peer)
{
	__u32 enforce = dir == STRAND_DIR_EGRESS ? STRAND_EP_F_ENFORCE_EGRESS :
						   STRAND_EP_F_ENFORCE_INGRESS;
	struct strand_policy_value *v = NULL;
	__be16 dport = pkt->dport;

	if (!(ep_flags & enforce))
		return STRAND_RULE_NONE;
	if (peer->identity == STRAND_IDENTITY_HOST)
		return STRAND_RULE_HOST;
	if (pkt->proto == IPPROTO_ICMP || pkt->proto == IPPROTO_ICMPV6)
		dport = 0;
	/* UNKNOWN is 0, the ANY probe's number: probed once, last. */
	if (peer->identity != STRAND_POLICY_ANY_IDENTITY)
		v = strand_policy_probe(ep_id, dir, peer->identity, pkt->proto,
					dport);
	if (!v && peer->cidr_identity)
		v = strand_policy_probe(ep_id, dir, peer->cidr_identity,
					pkt->proto, dport);
	if (!v)
		v = strand_policy_probe(ep_id, dir, STRAND_POLICY_ANY_IDENTITY,
					pkt->proto, dport);
	return v ? v->rule_id : STRAND_RULE_ISOLATED;
}

/* One more decision for rule_id in policy_hits (per CPU). */
static __always_inline void strand_policy_hit(__u32 rule_id)
{
	__u64 *n;

	if (rule_id >= STRAND_RULES_MAX)
		return;
	n = bpf_map_lookup_elem(&policy_hits, &rule_id);
	if (n)
		(*n)++;
}

#endif /* STRAND_POLICY_H */
