/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Drop reasons: one list, shared by BPF and user space.
 *
 * STRAND_DROP_REASONS(X) is the only place a reason is written down. Both
 * sides get `enum strand_drop_reason` from it, user space also the name
 * table (datapath/drop_reasons.h). Numbers are stable ABI: they index the
 * per-reason counters in pinned maps and appear in events, so a number is
 * never reused or renumbered; retired reasons keep their slot.
 *
 * X(NAME, number, "name-for-humans")
 */
#ifndef STRAND_DROP_REASONS_H
#define STRAND_DROP_REASONS_H

#define STRAND_DROP_REASONS(X)                                                 \
	/* Not a drop: helpers return it when the packet may continue. */      \
	X(NONE, 0, "none")                                                     \
	/* Ethernet or 802.1Q/802.1ad tag cut short. */                        \
	X(TRUNCATED_L2, 1, "truncated-l2")                                     \
	/* More VLAN tags than STRAND_MAX_VLAN_TAGS: the L3 header is hidden. */ \
	X(VLAN_DEPTH, 2, "vlan-depth")                                         \
	/* An ethertype that carries IP where we cannot see it (MPLS, PPPoE). */ \
	X(UNSUPPORTED_L3, 3, "unsupported-l3")                                 \
	/* IP header, IPv4 options or an IPv6 extension header cut short, or \
	 * the packet is shorter than its IP length field says. */             \
	X(TRUNCATED_L3, 4, "truncated-l3")                                     \
	/* Wrong IP version, IHL < 5, IPv4 total length < header length. */    \
	X(MALFORMED_L3, 5, "malformed-l3")                                     \
	/* More IPv6 extension headers than STRAND_MAX_IPV6_EXT_HDRS. */        \
	X(IPV6_EXT_LIMIT, 6, "ipv6-ext-hdr-limit")                             \
	/* TCP/UDP/SCTP/ICMP header does not fit in the IP payload. */         \
	X(TRUNCATED_L4, 7, "truncated-l4")                                     \
	/* TCP data offset < 5. */                                             \
	X(MALFORMED_L4, 8, "malformed-l4")                                     \
	/* TCP flags no stack sends (SYN+FIN, SYN+RST, none at all). */        \
	X(CT_INVALID, 9, "ct-invalid")                                         \
	/* NetworkPolicy: the endpoint is isolated in this direction and no    \
	 * rule allows the new connection (rule STRAND_RULE_ISOLATED). */      \
	X(POLICY_DENIED, 10, "policy-denied")                                  \
	/* Not a drop: a connection policy would deny, passed in audit mode    \
	 * (counted and reported like a drop). */                              \
	X(POLICY_AUDIT, 11, "policy-audit")                                    \
	/* Source address in the uplink's CIDR deny list (XDP). */             \
	X(PREFILTER_DENIED, 12, "prefilter-denied")

/* Per-reason counter slots in ep_stats/node_stats; every number above is
 * below it (checked by static_assert in datapath/drop_reasons.cpp). */
#define STRAND_DROP_SLOTS 32

enum strand_drop_reason {
#define STRAND_DROP_ENUM(name, num, str) STRAND_DROP_##name = num,
	STRAND_DROP_REASONS(STRAND_DROP_ENUM)
#undef STRAND_DROP_ENUM
};

#endif /* STRAND_DROP_REASONS_H */
