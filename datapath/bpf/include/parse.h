/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Packet parsing (BPF only): Ethernet, up to two VLAN tags, IPv4 with
 * options and fragments, IPv6 with a bounded extension header walk, and the
 * L4 ports of TCP, UDP, SCTP, ICMP and ICMPv6.
 *
 * Headers are copied to the stack with bpf_skb_load_bytes/bpf_xdp_load_bytes
 * at scalar offsets instead of read in place:
 *  - the helper bounds-checks against the whole packet, so a non-linear skb
 *    needs no pull (which would also unclone every TCP skb) and "does not
 *    fit" always means the packet is short;
 *  - an offset that never becomes packet-pointer arithmetic stays imprecise
 *    for the verifier, so the 3 VLAN depths x extension chains x L4 kinds
 *    prune into a few states; with direct access each combination was a
 *    separate path and from_pod hit the 1M instruction limit.
 *
 * One length bounds every header: the packet as its IP length field
 * delimits it (`limit`). A header that does not fit there is truncated; an
 * IP length beyond the packet is a truncated packet. Helpers return a drop
 * reason (0 = go on) and never drop themselves.
 */
#ifndef STRAND_PARSE_H
#define STRAND_PARSE_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "drop_reasons.h"
#include "strand_maps.h"

#define STRAND_MAX_VLAN_TAGS 2
#define STRAND_MAX_IPV6_EXT_HDRS 8

#ifndef ETH_P_8021AD
#define ETH_P_8021AD 0x88A8
#endif
#define STRAND_ETH_P_QINQ_OLD 0x9100

#define STRAND_FRAG_NONE 0
#define STRAND_FRAG_FIRST 1 /* offset 0, more fragments follow: has L4 */
#define STRAND_FRAG_LATER 2 /* offset > 0: no L4 header */

#define STRAND_IP_MF 0x2000
#define STRAND_IP_OFFSET 0x1fff
#define STRAND_IP6_MF 0x0001
#define STRAND_IP6_OFFSET 0xfff8

struct strand_vlan_hdr {
	__be16 tci;
	__be16 encap_proto;
};

struct strand_ip6_frag_hdr {
	__u8 nexthdr;
	__u8 reserved;
	__be16 frag_off; /* offset << 3 | M flag */
	__be32 id;
};

struct strand_sctp_hdr {
	__be16 source;
	__be16 dest;
	__be32 vtag;
	__le32 checksum;
};

/* ICMP and ICMPv6 share this layout: type, code, checksum, then for echo
 * messages the identifier and sequence (linux/icmp.h pulls in libc). */
struct strand_icmp_hdr {
	__u8 type;
	__u8 code;
	__sum16 checksum;
	__be16 echo_id;
	__be16 echo_seq;
};

#define STRAND_ICMP_ECHOREPLY 0
#define STRAND_ICMP_ECHO 8
#define STRAND_ICMPV6_ECHO_REQUEST 128
#define STRAND_ICMPV6_ECHO_REPLY 129

struct strand_pkt {
	__be32 saddr[4];
	__be32 daddr[4];
	__be16 sport;
	__be16 dport;
	__u16 eth_proto; /* host order, after VLAN tags */
	__u8 family;     /* STRAND_FAMILY_*, 0 when not IP */
	__u8 proto;      /* L4 protocol after extension headers */
	__u8 tcp_flags;
	__u8 frag;       /* STRAND_FRAG_* */
	__u8 vlans;
	__u8 ext_hdrs;
	__u8 icmp_type; /* ICMP/ICMPv6 only */
	__u8 icmp_code;
	__u32 l3_off;
	__u32 l4_off;
	__u32 limit; /* end of the IP packet (offset): IP length field */
};

/* Where the packet comes from; a compile-time constant at every call, so
 * the other helper is never emitted. */
#define STRAND_CTX_SKB 0
#define STRAND_CTX_XDP 1

static __always_inline long strand_load(void *ctx, int kind, __u32 off,
					void *buf, __u32 len)
{
	if (kind == STRAND_CTX_XDP)
		return bpf_xdp_load_bytes(ctx, off, buf, len);
	return bpf_skb_load_bytes(ctx, off, buf, len);
}

/* Ethernet and VLAN tags. Leaves l3_off and eth_proto. */
static __always_inline int strand_parse_l2(void *ctx, int kind,
					   struct strand_pkt *pkt)
{
	struct ethhdr eth;
	__u32 off = sizeof(eth);
	__u16 proto;
	int i;

	if (strand_load(ctx, kind, 0, &eth, sizeof(eth)))
		return STRAND_DROP_TRUNCATED_L2;
	proto = bpf_ntohs(eth.h_proto);

	for (i = 0; i < STRAND_MAX_VLAN_TAGS; i++) {
		struct strand_vlan_hdr vh;

		if (proto != ETH_P_8021Q && proto != ETH_P_8021AD)
			break;
		if (strand_load(ctx, kind, off, &vh, sizeof(vh)))
			return STRAND_DROP_TRUNCATED_L2;
		proto = bpf_ntohs(vh.encap_proto);
		off += sizeof(vh);
		pkt->vlans++;
	}
	if (proto == ETH_P_8021Q || proto == ETH_P_8021AD ||
	    proto == STRAND_ETH_P_QINQ_OLD)
		return STRAND_DROP_VLAN_DEPTH;
	/* These carry IP where an L3 parser cannot see it: passing them
	 * would let a pod hide traffic from conntrack and policy. */
	if (proto == ETH_P_MPLS_UC || proto == ETH_P_MPLS_MC ||
	    proto == ETH_P_PPP_SES)
		return STRAND_DROP_UNSUPPORTED_L3;

	pkt->eth_proto = proto;
	pkt->l3_off = off;
	return STRAND_DROP_NONE;
}

/* IP length (header included) -> pkt->limit. GSO packets above 64 KiB
 * (BIG TCP) carry 0 in the length field: then the packet itself is the
 * authority. An IP length shorter than the packet leaves L2 padding. */
static __always_inline int strand_ip_limit(struct strand_pkt *pkt,
					   __u32 ip_len, __u32 hdr_len,
					   __u32 pkt_len, int len_field_zero)
{
	__u32 avail = pkt_len - pkt->l3_off;

	if (len_field_zero && avail > 0xffff)
		ip_len = avail;
	if (ip_len > avail)
		return STRAND_DROP_TRUNCATED_L3;
	if (ip_len < hdr_len)
		return STRAND_DROP_MALFORMED_L3;
	pkt->limit = pkt->l3_off + ip_len;
	return STRAND_DROP_NONE;
}

static __always_inline int strand_parse_ipv4(void *ctx, int kind,
					     __u32 pkt_len,
					     struct strand_pkt *pkt)
{
	__u32 off = pkt->l3_off;
	struct iphdr ip;
	__u32 hlen;
	__u16 frag;
	int ret;

	if (off + sizeof(ip) > pkt_len ||
	    strand_load(ctx, kind, off, &ip, sizeof(ip)))
		return STRAND_DROP_TRUNCATED_L3;
	if (ip.version != 4)
		return STRAND_DROP_MALFORMED_L3;
	hlen = ip.ihl * 4;
	if (hlen < sizeof(ip))
		return STRAND_DROP_MALFORMED_L3;
	if (off + hlen > pkt_len)
		return STRAND_DROP_TRUNCATED_L3; /* options cut short */
	ret = strand_ip_limit(pkt, bpf_ntohs(ip.tot_len), hlen, pkt_len,
			      ip.tot_len == 0);
	if (ret)
		return ret;

	pkt->family = STRAND_FAMILY_IPV4;
	pkt->saddr[0] = ip.saddr;
	pkt->daddr[0] = ip.daddr;
	pkt->proto = ip.protocol;
	frag = bpf_ntohs(ip.frag_off);
	if (frag & STRAND_IP_OFFSET)
		pkt->frag = STRAND_FRAG_LATER;
	else if (frag & STRAND_IP_MF)
		pkt->frag = STRAND_FRAG_FIRST;
	pkt->l4_off = off + hlen;
	return STRAND_DROP_NONE;
}

static __always_inline int strand_ipv6_is_ext(__u8 nh)
{
	return nh == IPPROTO_HOPOPTS || nh == IPPROTO_ROUTING ||
	       nh == IPPROTO_FRAGMENT || nh == IPPROTO_DSTOPTS ||
	       nh == IPPROTO_AH;
}

static __always_inline int strand_parse_ipv6(void *ctx, int kind,
					     __u32 pkt_len,
					     struct strand_pkt *pkt)
{
	__u32 off = pkt->l3_off;
	struct ipv6hdr ip6;
	__u16 plen;
	__u8 nh;
	int i, ret;

	if (off + sizeof(ip6) > pkt_len ||
	    strand_load(ctx, kind, off, &ip6, sizeof(ip6)))
		return STRAND_DROP_TRUNCATED_L3;
	if (ip6.version != 6)
		return STRAND_DROP_MALFORMED_L3;
	/* payload_len 0 is BIG TCP when the packet is that long, an empty
	 * payload otherwise (hop-by-hop jumbo options are not walked). */
	plen = bpf_ntohs(ip6.payload_len);
	ret = strand_ip_limit(pkt, sizeof(ip6) + plen, sizeof(ip6), pkt_len,
			      plen == 0);
	if (ret)
		return ret;

	pkt->family = STRAND_FAMILY_IPV6;
	__builtin_memcpy(pkt->saddr, &ip6.saddr, sizeof(pkt->saddr));
	__builtin_memcpy(pkt->daddr, &ip6.daddr, sizeof(pkt->daddr));
	nh = ip6.nexthdr;
	off += sizeof(ip6);

	for (i = 0; i < STRAND_MAX_IPV6_EXT_HDRS; i++) {
		struct strand_ip6_frag_hdr hdr; /* 8 bytes: any ext header's start */
		__u32 len;

		if (!strand_ipv6_is_ext(nh))
			break;
		if (off + sizeof(hdr) > pkt->limit ||
		    strand_load(ctx, kind, off, &hdr, sizeof(hdr)))
			return STRAND_DROP_TRUNCATED_L3;
		pkt->ext_hdrs++;
		if (nh == IPPROTO_FRAGMENT) {
			__u16 fo = bpf_ntohs(hdr.frag_off);

			if (fo & STRAND_IP6_OFFSET) {
				/* What follows is payload, not headers. */
				pkt->frag = STRAND_FRAG_LATER;
				pkt->proto = hdr.nexthdr;
				pkt->l4_off = off + sizeof(hdr);
				return STRAND_DROP_NONE;
			}
			if (fo & STRAND_IP6_MF)
				pkt->frag = STRAND_FRAG_FIRST;
			len = sizeof(hdr);
		} else if (nh == IPPROTO_AH) {
			/* hdrlen sits where the fragment header has reserved */
			len = ((__u32)hdr.reserved + 2) * 4;
		} else {
			len = ((__u32)hdr.reserved + 1) * 8;
		}
		if (off + len > pkt->limit)
			return STRAND_DROP_TRUNCATED_L3;
		nh = hdr.nexthdr;
		off += len;
	}
	if (strand_ipv6_is_ext(nh))
		return STRAND_DROP_IPV6_EXT_LIMIT;

	pkt->proto = nh;
	pkt->l4_off = off;
	return STRAND_DROP_NONE;
}

/* Ports (or the ICMP echo id) and TCP flags. A non-first fragment has no
 * L4 header; callers skip this for it. */
static __always_inline int strand_parse_l4(void *ctx, int kind,
					   struct strand_pkt *pkt)
{
	__u32 off = pkt->l4_off;

	switch (pkt->proto) {
	case IPPROTO_TCP: {
		struct tcphdr tcp;
		__u32 doff;

		if (off + sizeof(tcp) > pkt->limit ||
		    strand_load(ctx, kind, off, &tcp, sizeof(tcp)))
			return STRAND_DROP_TRUNCATED_L4;
		doff = tcp.doff * 4;
		if (doff < sizeof(tcp))
			return STRAND_DROP_MALFORMED_L4;
		if (off + doff > pkt->limit)
			return STRAND_DROP_TRUNCATED_L4; /* options cut short */
		pkt->sport = tcp.source;
		pkt->dport = tcp.dest;
		pkt->tcp_flags = ((__u8 *)&tcp)[13];
		break;
	}
	case IPPROTO_UDP:
	case IPPROTO_UDPLITE: {
		struct udphdr udp;

		if (off + sizeof(udp) > pkt->limit ||
		    strand_load(ctx, kind, off, &udp, sizeof(udp)))
			return STRAND_DROP_TRUNCATED_L4;
		pkt->sport = udp.source;
		pkt->dport = udp.dest;
		break;
	}
	case IPPROTO_SCTP: {
		struct strand_sctp_hdr sctp;

		if (off + sizeof(sctp) > pkt->limit ||
		    strand_load(ctx, kind, off, &sctp, sizeof(sctp)))
			return STRAND_DROP_TRUNCATED_L4;
		pkt->sport = sctp.source;
		pkt->dport = sctp.dest;
		break;
	}
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6: {
		struct strand_icmp_hdr icmp;
		__u8 echo, reply;

		if (off + sizeof(icmp) > pkt->limit ||
		    strand_load(ctx, kind, off, &icmp, sizeof(icmp)))
			return STRAND_DROP_TRUNCATED_L4;
		pkt->icmp_type = icmp.type;
		pkt->icmp_code = icmp.code;
		echo = pkt->proto == IPPROTO_ICMP ? STRAND_ICMP_ECHO :
						    STRAND_ICMPV6_ECHO_REQUEST;
		reply = pkt->proto == IPPROTO_ICMP ? STRAND_ICMP_ECHOREPLY :
						     STRAND_ICMPV6_ECHO_REPLY;
		/* Echo id on the requester's side of the tuple, so a reply's
		 * reversed tuple finds the request's entry. */
		if (icmp.type == echo)
			pkt->sport = icmp.echo_id;
		else if (icmp.type == reply)
			pkt->dport = icmp.echo_id;
		break;
	}
	default:
		/* ESP, GRE, no-next-header...: tracked by addresses only. */
		break;
	}
	return STRAND_DROP_NONE;
}

/* L2 and the L3 header: family, addresses, protocol, fragment, limit. A
 * packet that is not IP returns 0 with pkt->family == 0. pkt must be
 * zeroed by the caller. */
static __always_inline int strand_parse_l3(void *ctx, int kind, __u32 pkt_len,
					   struct strand_pkt *pkt)
{
	int ret;

	ret = strand_parse_l2(ctx, kind, pkt);
	if (ret)
		return ret;
	if (pkt->eth_proto == ETH_P_IP)
		return strand_parse_ipv4(ctx, kind, pkt_len, pkt);
	if (pkt->eth_proto == ETH_P_IPV6)
		return strand_parse_ipv6(ctx, kind, pkt_len, pkt);
	return STRAND_DROP_NONE;
}

/* Just enough for the uplink: family and addresses from the fixed L3
 * header, nothing validated. TRUNCATED_L3 when that header is missing. */
static __always_inline int strand_parse_l3_addrs(void *ctx, int kind,
						 struct strand_pkt *pkt)
{
	if (pkt->eth_proto == ETH_P_IP) {
		struct iphdr ip;

		if (strand_load(ctx, kind, pkt->l3_off, &ip, sizeof(ip)))
			return STRAND_DROP_TRUNCATED_L3;
		pkt->family = STRAND_FAMILY_IPV4;
		pkt->saddr[0] = ip.saddr;
		pkt->daddr[0] = ip.daddr;
	} else if (pkt->eth_proto == ETH_P_IPV6) {
		struct ipv6hdr ip6;

		if (strand_load(ctx, kind, pkt->l3_off, &ip6, sizeof(ip6)))
			return STRAND_DROP_TRUNCATED_L3;
		pkt->family = STRAND_FAMILY_IPV6;
		__builtin_memcpy(pkt->saddr, &ip6.saddr, sizeof(pkt->saddr));
		__builtin_memcpy(pkt->daddr, &ip6.daddr, sizeof(pkt->daddr));
	}
	return STRAND_DROP_NONE;
}

/* The whole parse, down to L4 when there is one. */
static __always_inline int strand_parse(void *ctx, int kind, __u32 pkt_len,
					struct strand_pkt *pkt)
{
	int ret;

	ret = strand_parse_l3(ctx, kind, pkt_len, pkt);
	if (ret || !pkt->family || pkt->frag == STRAND_FRAG_LATER)
		return ret;
	return strand_parse_l4(ctx, kind, pkt);
}

#endif /* STRAND_PARSE_H */
