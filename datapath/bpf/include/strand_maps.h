/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Map keys and values shared by the BPF programs and the agent.
 *
 * Rules: fixed-width kernel types only, every hole is a named pad field that
 * writers zero, keys are zeroed before they are filled (hash and LPM maps
 * compare every byte). Sizes and offsets are pinned down by static_assert in
 * datapath/layout.cpp, so a change here that moves a field fails the build.
 */
#ifndef STRAND_MAPS_H
#define STRAND_MAPS_H

#include <linux/types.h>

#include "drop_reasons.h"

/* Map names as the kernel sees them (<= 15 characters). */
#define STRAND_MAP_ENDPOINTS "endpoints"
#define STRAND_MAP_IPCACHE "ipcache"
#define STRAND_MAP_POLICY "policy"
#define STRAND_MAP_CT "ct"
#define STRAND_MAP_EP_STATS "ep_stats"
#define STRAND_MAP_EV_LIMIT "ev_limit"
#define STRAND_MAP_EVENTS "events"
#define STRAND_MAP_PREFILTER "prefilter"
#define STRAND_MAP_NODE_STATS "node_stats"
#define STRAND_MAP_POLICY_HITS "policy_hits"

/* Default capacities; the agent may resize between open and load. */
#define STRAND_ENDPOINTS_MAX 4096
#define STRAND_IPCACHE_MAX 65536
#define STRAND_POLICY_MAX 262144
#define STRAND_RULES_MAX 65536
#define STRAND_CT_MAX 65536
#define STRAND_EP_STATS_MAX 4096
#define STRAND_EVENTS_BYTES (256 * 1024)
#define STRAND_PREFILTER_MAX 16384

/* Direction as seen from the pod. Indexes every [2] array below. */
#define STRAND_DIR_EGRESS 0  /* leaving the pod: host veth ingress, from_pod */
#define STRAND_DIR_INGRESS 1 /* entering the pod: host veth egress, to_pod */

/* Address family tags used in keys (not AF_* so they fit a byte and read
 * naturally in dumps). */
#define STRAND_FAMILY_IPV4 4
#define STRAND_FAMILY_IPV6 6

/* Reserved identities. ipcache misses resolve to UNKNOWN; the agent maps
 * outside prefixes to WORLD and node addresses to HOST. */
#define STRAND_IDENTITY_UNKNOWN 0
#define STRAND_IDENTITY_HOST 1
#define STRAND_IDENTITY_WORLD 2

/* endpoints: host veth ifindex (__u32) -> struct strand_endpoint. */
#define STRAND_EP_F_ENFORCE_INGRESS (1U << 0) /* policy applies to_pod */
#define STRAND_EP_F_ENFORCE_EGRESS (1U << 1)  /* policy applies from_pod */
#define STRAND_EP_F_AUDIT (1U << 2)           /* count denies, pass them */

struct strand_endpoint {
	__u32 ep_id;    /* agent-allocated, != 0; 0 means "no record" */
	__u32 identity; /* security identity of the pod */
	__u32 flags;    /* STRAND_EP_F_* */
	/* Bumped by the agent after every policy change that may take an
	 * allowance away (written after the change is complete). A tracked
	 * connection whose ct entry carries another revision has its opening
	 * side judged again by the current policy on its next packet, so an
	 * update cuts connections the new policy denies (UDP tuples reused
	 * by later exchanges included). */
	__u32 policy_rev;
};

/* LPM key for ipcache and prefilter. prefixlen counts the family/pad word
 * too, so a /N entry has prefixlen = STRAND_LPM_PREFIX(N) and every lookup
 * uses the full length of its family. */
#define STRAND_LPM_PREFIX(bits) (32 + (bits))

struct strand_lpm_key {
	__u32 prefixlen;
	__u8 family; /* STRAND_FAMILY_* */
	__u8 pad[3];
	__u8 addr[16]; /* IPv4 in addr[0..3], network order */
};

/* ipcache: strand_lpm_key -> where an address lives and who it is.
 *
 * Two identities per address, so the policy lookup needs a fixed number of
 * probes however policies mix selectors and ipBlocks:
 *  - identity: who the address is. A pod IP (/32, /128) carries its pod's
 *    label identity; the node's own addresses carry HOST; everything else
 *    carries WORLD (the agent installs 0.0.0.0/0 and ::/0 -> WORLD, so a miss
 *    means the agent has not synced yet: UNKNOWN).
 *  - cidr_identity: which region of the ipBlock prefix set the address lies
 *    in (the agent allocates one identity per distinct set of ipBlocks
 *    -- cidr minus except -- that contain the region). Pod IPs carry the
 *    cidr_identity of the region they fall in too: ipBlock peers match pod
 *    IPs. 0 when no ipBlock of any policy contains the address. */
struct strand_ipcache_value {
	__u32 identity;
	__u32 cidr_identity;
	__u32 node_id;       /* 0: not a pod IP / this node */
	__u8 tunnel_family;  /* 0 when there is no tunnel endpoint */
	__u8 pad[3];
	__be32 tunnel_ip[4]; /* node IP to reach it through (overlay) */
};

/* policy: LPM trie, (endpoint, remote identity, direction, protocol, port)
 * -> allow + rule id. There are only allow entries (NetworkPolicy v1 has no
 * deny rules): an endpoint enforcing a direction (STRAND_EP_F_ENFORCE_*)
 * lets a new connection through when one of three probes matches, else it
 * is denied by isolation (STRAND_RULE_ISOLATED):
 *   1. remote_identity = the peer's ipcache identity
 *   2. remote_identity = the peer's ipcache cidr_identity (when != 0)
 *   3. remote_identity = STRAND_POLICY_ANY_IDENTITY (rules with no peers)
 * Every probe uses the full key (prefixlen STRAND_POLICY_PREFIX_FULL); the
 * entries' prefix lengths make the wildcards:
 *   STRAND_POLICY_PREFIX_ANY_PROTO  every protocol and port (rule without ports)
 *   STRAND_POLICY_PREFIX_ANY_PORT   every port of one protocol
 *   STRAND_POLICY_PREFIX_ANY_PORT + n  ports sharing the top n bits of dport
 *                                   (endPort ranges split into such blocks)
 * The key is compared bytewise from ep_id on, so multi-byte fields are in
 * network byte order: __be32 ep_id and remote_identity, __be16 dport. The
 * per-packet cost is three trie lookups whatever the number of rules. */
#define STRAND_POLICY_ANY_IDENTITY 0

#define STRAND_POLICY_PREFIX_ANY_PROTO 72 /* ep_id, remote_identity, dir */
#define STRAND_POLICY_PREFIX_ANY_PORT 80  /* + proto */
#define STRAND_POLICY_PREFIX_FULL 96      /* + dport */

struct strand_policy_key {
	__u32 prefixlen;        /* bits of what follows that must match */
	__be32 ep_id;
	__be32 remote_identity; /* STRAND_POLICY_ANY_IDENTITY: any peer */
	__u8 dir;               /* STRAND_DIR_* */
	__u8 proto;             /* IPPROTO_*; ICMP probes use dport 0 */
	__be16 dport;
};

#define STRAND_VERDICT_ALLOW 1

/* Rule ids: in policy values, ct entries, drop events and policy_hits.
 * The agent allocates ids >= STRAND_RULE_FIRST for (policy, direction, rule
 * index) and maps them back; the reserved ones say why no rule was needed. */
#define STRAND_RULE_NONE 0     /* direction not enforced for the endpoint */
#define STRAND_RULE_HOST 1     /* peer is the node itself: always allowed */
#define STRAND_RULE_ISOLATED 2 /* enforced and no rule allows: denied (audit: passed) */
#define STRAND_RULE_RELATED 3  /* ICMP error of a tracked connection */
#define STRAND_RULE_FIRST 16

struct strand_policy_value {
	__u8 verdict; /* STRAND_VERDICT_ALLOW */
	__u8 pad[3];
	__u32 rule_id;
};

/* policy_hits: per-CPU array indexed by rule id (< STRAND_RULES_MAX): new
 * connections a rule let through; [STRAND_RULE_ISOLATED] counts the ones
 * isolation denied (or would have, in audit mode). Tracked connections
 * judged again after a policy change are not counted. */

/* ct: connection tracking, LRU. An entry is keyed by the tuple of the
 * packet that opened the connection plus the side it came from (dir), so
 * two pods on one node each own an entry for a connection between them.
 * Replies are found by looking up the reversed tuple with the other dir. */
#define STRAND_CT_ORIG 0  /* index for the opening side in [2] arrays */
#define STRAND_CT_REPLY 1

struct strand_ct_key {
	__be32 saddr[4]; /* IPv4 in saddr[0], rest zero */
	__be32 daddr[4];
	__be16 sport; /* ICMP echo: id as sport (request) or dport (reply) */
	__be16 dport;
	__u8 proto;
	__u8 family; /* STRAND_FAMILY_* */
	__u8 dir;    /* STRAND_DIR_* of the packet that opened it */
	__u8 pad;
};

enum strand_ct_state {
	STRAND_CT_NONE = 0,
	STRAND_CT_NEW = 1,         /* non-TCP, only the opening side seen */
	STRAND_CT_SYN_SENT = 2,    /* SYN seen */
	STRAND_CT_SYN_RECV = 3,    /* SYN-ACK seen */
	STRAND_CT_ESTABLISHED = 4, /* handshake done, or any reply (non-TCP) */
	STRAND_CT_FIN_WAIT = 5,    /* FIN from one side */
	STRAND_CT_TIME_WAIT = 6,   /* FIN from both sides */
	STRAND_CT_CLOSED = 7,      /* RST */
};

/* TCP flag bits as in the TCP header's flags byte (tcp_flags[] below). */
#define STRAND_TCP_FIN 0x01
#define STRAND_TCP_SYN 0x02
#define STRAND_TCP_RST 0x04
#define STRAND_TCP_PSH 0x08
#define STRAND_TCP_ACK 0x10
#define STRAND_TCP_URG 0x20
#define STRAND_TCP_ECE 0x40
#define STRAND_TCP_CWR 0x80

#define STRAND_CT_F_MIDSTREAM (1U << 0) /* opened by a non-SYN TCP packet */
#define STRAND_CT_F_ENDED (1U << 1)     /* flow-end event already sent */

struct strand_ct_entry {
	__u64 first_seen_ns; /* bpf_ktime_get_ns() clock */
	__u64 last_seen_ns;
	__u64 packets[2]; /* [STRAND_CT_ORIG], [STRAND_CT_REPLY] */
	__u64 bytes[2];
	__u64 syn_ns; /* last SYN from the opening side */
	__u64 rtt_ns; /* SYN-ACK time - SYN time, at the pod's host veth */
	__u32 rule_id; /* STRAND_RULE_* or the agent's id of the allowing rule */
	__u32 ep_id;
	__u32 remote_identity; /* ipcache identity of the peer, 0 unknown */
	__u8 state;            /* enum strand_ct_state */
	__u8 tcp_flags[2];     /* OR of TCP flags seen, per side */
	__u8 flags;            /* STRAND_CT_F_* */
	/* The endpoint's policy_rev when the opening side was last judged
	 * (at creation, then on its first packet after every bump). */
	__u32 policy_rev;
	__u32 pad;
};

/* ep_stats: per-CPU, endpoint id (__u32) -> counters. Endpoint id 0 counts
 * packets on an interface without an endpoint record. packets/bytes count
 * what passed (bytes = skb->len, L2 included); drops are per reason. */
struct strand_ep_stats {
	__u64 packets[2]; /* [STRAND_DIR_*] */
	__u64 bytes[2];
	__u64 non_ip[2];    /* passed without L3 parsing (ARP, LLDP, ...) */
	__u64 fragments[2]; /* non-first IP fragments: passed, no L4, no ct */
	__u64 events_sent;
	__u64 events_limited; /* suppressed by the per-endpoint rate limit */
	__u64 events_lost;    /* ringbuf full */
	__u64 pad;
	__u64 drops[2][STRAND_DROP_SLOTS]; /* [STRAND_DIR_*][enum strand_drop_reason] */
};

/* ev_limit: endpoint id (__u32) -> token bucket for events. Every elapsed
 * nanosecond adds ev_rate credit, an event costs 1e9, the bucket holds at
 * most ev_burst * 1e9: ev_rate events/s on average, ev_burst at once. */
struct strand_ev_bucket {
	__u64 last_ns;
	__u64 credit;
};

/* prefilter (XDP): strand_lpm_key -> hit counters; presence means deny. */
struct strand_prefilter_value {
	__u64 packets;
	__u64 bytes;
};

/* node_stats (XDP): per-CPU array with one slot (key 0). */
#define STRAND_NODE_IPV4 0
#define STRAND_NODE_IPV6 1
#define STRAND_NODE_OTHER 2

struct strand_node_stats {
	__u64 packets[3]; /* [STRAND_NODE_*], everything seen */
	__u64 bytes[3];
	__u64 unparsed; /* IP ethertype but no readable L3 header: passed */
	__u64 pad;
	__u64 drops[STRAND_DROP_SLOTS];
};

/* Settings of strand_tc, in .rodata: set between open and load. */
#define STRAND_EVENTS_DROP (1U << 0)
#define STRAND_EVENTS_FLOW (1U << 1)

struct strand_tc_config {
	__u32 events;         /* STRAND_EVENTS_* enabled */
	__u32 ev_rate;        /* events per second per endpoint, <= 1e6 */
	__u32 ev_burst;       /* bucket depth in events, <= 1e4 */
	__u32 pad;
	__u64 ct_syn_ns;      /* idle timeout in SYN_SENT/SYN_RECV */
	__u64 ct_tcp_ns;      /* idle timeout in ESTABLISHED/FIN_WAIT */
	__u64 ct_close_ns;    /* idle timeout in TIME_WAIT/CLOSED */
	__u64 ct_other_ns;    /* idle timeout of non-TCP entries */
};

#endif /* STRAND_MAPS_H */
