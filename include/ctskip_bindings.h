/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The C declarations ctskip's Rust code uses, for the module-local bindgen
 * run (see Kbuild). The kernel crate's own bindings in 6.12 do not cover
 * netfilter, pernet, procfs or sysfs.
 */
#include <linux/capability.h>
#include <linux/kobject.h>
#include <linux/mutex.h>
#include <linux/sysfs.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netdevice.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <linux/skbuff.h>
#include <linux/tracepoint.h>
#include <net/net_namespace.h>

#include "ctskip_shim.h"

/*
 * Where the fields the hot path reads sit in struct sk_buff, as this
 * kernel's compiler lays them out (several sit in anonymous unions whose
 * Rust names differ between kernel series): constants bindgen evaluates, so
 * a read is one load at a fixed offset.
 */
enum ctskip_skb_off {
	CTSKIP_SKB_LEN = offsetof(struct sk_buff, len),
	CTSKIP_SKB_DATA_LEN = offsetof(struct sk_buff, data_len),
	CTSKIP_SKB_HEAD = offsetof(struct sk_buff, head),
	CTSKIP_SKB_DATA = offsetof(struct sk_buff, data),
	CTSKIP_SKB_NETWORK_HEADER = offsetof(struct sk_buff, network_header),
#if IS_ENABLED(CONFIG_NF_CONNTRACK)
	CTSKIP_SKB_NFCT = offsetof(struct sk_buff, _nfct),
#else
	CTSKIP_SKB_NFCT = -1,	/* no _nfct field */
#endif
	CTSKIP_CT_UNTRACKED = IP_CT_UNTRACKED,
};
