// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The baseline of bench_prog_run: a tc program that does nothing, so that
 * the cost of BPF_PROG_TEST_RUN itself (skb set-up, the call) is measured
 * and subtracted from strand's programs. */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

SEC("tc")
int noop(struct __sk_buff *skb)
{
	(void)skb;
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
