// SPDX-License-Identifier: GPL-2.0
/*
 * ctskip C shim: only what Rust cannot reach through bindgen — static
 * inlines (nf_ct_set, skb_header_pointer, net_generic), per-CPU macros,
 * a static mutex and the module parameters. No logic lives here.
 */
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/nsproxy.h>
#include <linux/percpu.h>
#include <linux/sched.h>
#include <linux/seq_file_net.h>
#include <linux/skbuff.h>
#include <linux/sysfs.h>
#include <net/ipv6.h>
#include <net/netns/generic.h>
#include <net/netfilter/nf_conntrack.h>

#include "ctskip_shim.h"

/*
 * `rules` takes strings of any length (charp stops at 1024 bytes): the value
 * points into the module's own copy of its arguments, which lives as long
 * as the module does.
 */
const char *ctskip_param_rules = "";

static int ctskip_rules_set(const char *val, const struct kernel_param *kp)
{
	*(const char **)kp->arg = val ? val : "";
	return 0;
}

static int ctskip_rules_get(char *buffer, const struct kernel_param *kp)
{
	return scnprintf(buffer, PAGE_SIZE, "%s\n", *(const char **)kp->arg);
}

static const struct kernel_param_ops ctskip_rules_ops = {
	.set = ctskip_rules_set,
	.get = ctskip_rules_get,
};
module_param_cb(rules, &ctskip_rules_ops, &ctskip_param_rules, 0444);
MODULE_PARM_DESC(rules, "initial rules, ';'-separated (any length)");

int ctskip_param_priority = -201;
module_param_named(priority, ctskip_param_priority, int, 0444);
MODULE_PARM_DESC(priority, "hook priority, between -400 and -200 exclusive (default -201)");

bool ctskip_enabled = true;
module_param_named(enabled, ctskip_enabled, bool, 0444);
MODULE_PARM_DESC(enabled, "mark matching packets untracked (default 1)");

static DEFINE_MUTEX(ctskip_mutex);

void ctskip_lock(void)
{
	mutex_lock(&ctskip_mutex);
}

void ctskip_unlock(void)
{
	mutex_unlock(&ctskip_mutex);
}

bool ctskip_skb_has_nfct(const struct sk_buff *skb)
{
#if IS_ENABLED(CONFIG_NF_CONNTRACK)
	return skb->_nfct != 0;
#else
	return false;
#endif
}

void ctskip_skb_untrack(struct sk_buff *skb)
{
#if IS_ENABLED(CONFIG_NF_CONNTRACK)
	nf_ct_set(skb, NULL, IP_CT_UNTRACKED);
#endif
}

const void *ctskip_skb_header(const struct sk_buff *skb, int offset, int len,
			      void *buf)
{
	if (offset < 0 || len < 0)
		return NULL;
	return skb_header_pointer(skb, skb_network_offset(skb) + offset, len, buf);
}

int ctskip_ipv6_skip_exthdr(const struct sk_buff *skb, int start, u8 *nexthdr,
			    __be16 *frag_off)
{
#if IS_ENABLED(CONFIG_IPV6)
	int base = skb_network_offset(skb);
	int off = ipv6_skip_exthdr(skb, base + start, nexthdr, frag_off);

	return off < 0 ? -1 : off - base;
#else
	return -1;
#endif
}

unsigned int ctskip_skb_len(const struct sk_buff *skb)
{
	return skb->len;
}

void *ctskip_net_generic(const struct net *net, unsigned int id)
{
	return net_generic(net, id);
}

struct net *ctskip_seq_net(struct seq_file *seq)
{
	return seq_file_single_net(seq);
}

bool ctskip_may_read_net(const struct net *net)
{
	return net_eq(current->nsproxy->net_ns, net) ||
	       ns_capable(net->user_ns, CAP_NET_ADMIN);
}

u64 __percpu *ctskip_pcpu_alloc(unsigned int n)
{
	return __alloc_percpu(sizeof(u64) * n, __alignof__(u64));
}

void ctskip_pcpu_free(u64 __percpu *p)
{
	free_percpu(p);
}

void ctskip_pcpu_count(u64 __percpu *p, u64 inc, unsigned int idx, u64 v)
{
	while (inc) {
		this_cpu_inc(p[__ffs64(inc)]);
		inc &= inc - 1;
	}
	if (idx < 64)
		this_cpu_add(p[idx], v);
}

void ctskip_pcpu_pair_add(u64 __percpu *p, unsigned int idx, u64 v)
{
	this_cpu_inc(p[idx]);
	this_cpu_add(p[idx + 1], v);
}

u64 ctskip_pcpu_sum(u64 __percpu *p, unsigned int idx)
{
	u64 sum = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		sum += per_cpu_ptr(p, cpu)[idx];
	return sum;
}

/*
 * The control files' group. In C because struct attribute_group differs
 * between kernel series (anonymous unions and const bin_attrs in 7.x).
 */
static struct attribute_group ctskip_group;

int ctskip_sysfs_create_group(struct kobject *kobj, struct attribute **attrs,
			      struct bin_attribute **bin_attrs)
{
	ctskip_group.attrs = attrs;
	/* const-qualified in newer kernels; the array itself is never changed. */
	ctskip_group.bin_attrs = (void *)bin_attrs;
	return sysfs_create_group(kobj, &ctskip_group);
}

void ctskip_sysfs_remove_group(struct kobject *kobj)
{
	sysfs_remove_group(kobj, &ctskip_group);
}

/*
 * Fields of struct net and struct net_device, read in C: both structures
 * change shape with the kernel's config and series, so Rust does not
 * depend on their layout.
 */
struct proc_dir_entry *ctskip_proc_net(struct net *net)
{
	return net->proc_net;
}

void ctskip_dev_name(const struct net_device *dev, char name[IFNAMSIZ])
{
	memcpy(name, dev->name, IFNAMSIZ);
}
