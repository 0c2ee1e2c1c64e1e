// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Node uplink, XDP: count everything by family, drop sources in the CIDR
 * deny list, pass the rest. Validation beyond the fixed L3 header is left
 * to the kernel: this hook sees all of the node's traffic and must not be
 * stricter than the stack. No events here: a deny list is for floods.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>

#include "drop_reasons.h"
#include "node_stats.h"
#include "parse.h"
#include "prefilter.h"
#include "strand_maps.h"

SEC("xdp")
int uplink(struct xdp_md *ctx)
{
	struct strand_node_stats *ns = strand_node_stats_get();
	__u32 len = bpf_xdp_get_buff_len(ctx);
	struct strand_pkt pkt = {};
	__u32 family = STRAND_NODE_OTHER;

	if (strand_parse_l2(ctx, STRAND_CTX_XDP, &pkt) == STRAND_DROP_NONE) {
		if (pkt.eth_proto == ETH_P_IP)
			family = STRAND_NODE_IPV4;
		else if (pkt.eth_proto == ETH_P_IPV6)
			family = STRAND_NODE_IPV6;
	}
	strand_node_count(ns, family, len);
	if (family == STRAND_NODE_OTHER)
		return XDP_PASS;

	if (strand_parse_l3_addrs(ctx, STRAND_CTX_XDP, &pkt)) {
		if (ns)
			ns->unparsed++;
		return XDP_PASS;
	}
	if (strand_prefilter_deny(&pkt, len)) {
		strand_node_count_drop(ns, STRAND_DROP_PREFILTER_DENIED);
		return XDP_DROP;
	}
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
