/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ctskip C shim: prototypes of the small C helpers in src/shim.c. Each one
 * wraps a static inline, a macro or a config-dependent field that Rust cannot
 * reach through bindgen.
 */
#ifndef CTSKIP_SHIM_H
#define CTSKIP_SHIM_H

#include <linux/types.h>

struct sk_buff;
struct net;
struct seq_file;

/* Module parameters (defined with module_param() in shim.c). */
extern const char *ctskip_param_rules;
extern int ctskip_param_priority;
/* Live on/off switch: the `enabled` parameter and /sys/kernel/ctskip/enabled. */
extern bool ctskip_enabled;

/*
 * The argument string as the loading process gave it to (f)init_module(2),
 * before the kernel cut it at blanks; NULL if it cannot be read. kfree() it.
 */
char *ctskip_load_args(void);
void ctskip_kfree(const void *p);

struct file;
struct pid;
struct bin_attribute;
/* get_file() / fput() / file_count(); file_ns_capable(init_user_ns, NET_ADMIN). */
void ctskip_file_get(struct file *file);
void ctskip_file_put(struct file *file);
long ctskip_file_count(struct file *file);
bool ctskip_file_net_admin(const struct file *file);
/* Whether the file was opened for writing (FMODE_WRITE). */
bool ctskip_file_writable(const struct file *file);
/* A reference to the current task's (or its real parent's) thread group. */
struct pid *ctskip_pid_current(void);
struct pid *ctskip_pid_parent(void);
bool ctskip_pid_is_current(const struct pid *pid);
/* Whether the thread group still has a task. */
bool ctskip_pid_alive(struct pid *pid);
int ctskip_pid_nr(struct pid *pid);
void ctskip_pid_put(struct pid *pid);
void ctskip_rcu_read_lock(void);
void ctskip_rcu_read_unlock(void);
void ctskip_bin_attr_init(struct bin_attribute *attr);
/* Milliseconds since boot (jiffies). */
u64 ctskip_now_ms(void);

/* A delayed work calling fn(data); freeing it waits for a call in progress. */
struct ctskip_poller;
struct ctskip_poller *ctskip_poller_new(void (*fn)(void *data));
void ctskip_poller_set_data(struct ctskip_poller *p, void *data);
void ctskip_poller_arm(struct ctskip_poller *p, unsigned int ms);
void ctskip_poller_free(struct ctskip_poller *p);

/* Byte offsets of struct sk_buff's fields read on the hot path. */
struct ctskip_skb_layout {
	long len, data_len, head, data, network_header;
	long nfct;		/* -1 without conntrack */
	unsigned long ct_untracked;	/* IP_CT_UNTRACKED */
};
extern const struct ctskip_skb_layout ctskip_skb_layout;
/*
 * skb_header_pointer() at @offset from the network header: a pointer to @len
 * bytes, copied into @buf when they are not linear. NULL when the packet is
 * shorter than that.
 */
const void *ctskip_skb_header(const struct sk_buff *skb, int offset, int len,
			      void *buf);
/*
 * ipv6_skip_exthdr() from @start (relative to the network header): the
 * transport header's offset from the network header, or -1 when the chain
 * cannot be walked. *nexthdr is the transport protocol, *frag_off the
 * fragment offset field (a non-zero offset means no transport header).
 */
int ctskip_ipv6_skip_exthdr(const struct sk_buff *skb, int start, u8 *nexthdr,
			    __be16 *frag_off);

/* net_generic(net, id). */
void *ctskip_net_generic(const struct net *net, unsigned int id);
/* seq_file_single_net(seq): the netns of a /proc/net single_open file. */
struct net *ctskip_seq_net(struct seq_file *seq);
/* The data pointer of the /proc entry a seq_file reads. */
void *ctskip_seq_pde_data(struct seq_file *seq);

/*
 * Whether the current task may read @net's counters: it lives in @net, or
 * it has CAP_NET_ADMIN over the user namespace that owns @net (the host's
 * root may look into a container; a container may not look out of it).
 */
bool ctskip_may_read_net(const struct net *net);

/* Per-CPU counters: an array of @n u64 per CPU. */
u64 __percpu *ctskip_pcpu_alloc(unsigned int n);
void ctskip_pcpu_free(u64 __percpu *p);
/*
 * Hot-path counting, safe in any context, no lock or shared atomic:
 * this_cpu_inc(p[i]) for every bit i of @inc, then this_cpu_add(p[@idx], @v)
 * when @idx < 64.
 */
void ctskip_pcpu_count(u64 __percpu *p, u64 inc, unsigned int idx, u64 v);
/* this_cpu_inc(p[idx]); this_cpu_add(p[idx + 1], v): a rule's hit. */
void ctskip_pcpu_pair_add(u64 __percpu *p, unsigned int idx, u64 v);
/* Sum of p[idx] over all possible CPUs. */
u64 ctskip_pcpu_sum(u64 __percpu *p, unsigned int idx);

/*
 * /sys/kernel/ctskip's files: @attrs and @bin_attrs (NULL-terminated,
 * static) as one group of @kobj; removed with ctskip_sysfs_remove_group().
 */
struct kobject;
struct attribute;
struct bin_attribute;
int ctskip_sysfs_create_group(struct kobject *kobj, struct attribute **attrs,
			      struct bin_attribute **bin_attrs);
void ctskip_sysfs_remove_group(struct kobject *kobj);

struct net_device;
struct proc_dir_entry;
/* net->proc_net: the netns's /proc/net directory. */
struct proc_dir_entry *ctskip_proc_net(struct net *net);
/* Copies dev->name (IFNAMSIZ bytes, NUL-padded) to @name. */
void ctskip_dev_name(const struct net_device *dev, char name[16]);

#endif
