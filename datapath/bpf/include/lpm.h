/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* LPM trie keys for ipcache and prefilter (BPF only). */
#ifndef STRAND_LPM_H
#define STRAND_LPM_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "strand_maps.h"

/* Full-length LPM key for one address of the packet's family. */
static __always_inline void strand_lpm_key_set(struct strand_lpm_key *key,
					       __u8 family,
					       const __be32 *addr)
{
	__builtin_memset(key, 0, sizeof(*key));
	key->family = family;
	if (family == STRAND_FAMILY_IPV4) {
		key->prefixlen = STRAND_LPM_PREFIX(32);
		__builtin_memcpy(key->addr, addr, 4);
	} else {
		key->prefixlen = STRAND_LPM_PREFIX(128);
		__builtin_memcpy(key->addr, addr, 16);
	}
}

#endif /* STRAND_LPM_H */
