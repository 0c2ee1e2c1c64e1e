/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Records in the `events` ringbuf, shared by BPF and user space. Every
 * record starts with struct strand_event_hdr; `type` says which one it is. */
#ifndef STRAND_EVENTS_H
#define STRAND_EVENTS_H

#include <linux/types.h>

#include "strand_maps.h"

#define STRAND_EV_DROP 1
#define STRAND_EV_FLOW_END 2

struct strand_event_hdr {
	__u8 type;    /* STRAND_EV_* */
	__u8 dir;     /* STRAND_DIR_* */
	__u16 reason; /* drop: enum strand_drop_reason; flow end: STRAND_FLOW_END_* */
	__u32 ep_id;
	__u64 ts_ns; /* bpf_ktime_get_ns() */
};

/* The first bytes of the dropped packet ride along for troubleshooting. */
#define STRAND_DROP_CAPTURE 64

struct strand_drop_event {
	struct strand_event_hdr hdr;
	__u32 ifindex;
	__u32 identity; /* of the endpoint */
	__u32 pkt_len;  /* skb->len */
	__u32 cap_len;  /* valid bytes in pkt[] */
	/* Policy drops (and audit events): the peer's ipcache identity and
	 * cidr_identity, and the rule id (STRAND_RULE_ISOLATED). 0 otherwise. */
	__u32 remote_identity;
	__u32 cidr_identity;
	__u32 rule_id;
	__u32 pad;
	__u8 pkt[STRAND_DROP_CAPTURE];
};

#define STRAND_FLOW_END_FIN 1     /* FIN seen from both sides */
#define STRAND_FLOW_END_RST 2     /* RST seen */
#define STRAND_FLOW_END_EXPIRED 3 /* idle past its timeout, found by a new packet */
#define STRAND_FLOW_END_POLICY 4  /* judged again after a policy change: denied */

struct strand_flow_event {
	struct strand_event_hdr hdr;
	struct strand_ct_key key;
	struct strand_ct_entry ct; /* snapshot when the flow ended */
};

#endif /* STRAND_EVENTS_H */
