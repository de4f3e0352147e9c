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
/*
 * Conntrack's own figures: @net's entries (nf_conntrack_count()) and the
 * limit checked against them (nf_conntrack_max, one for every netns).
 */
u32 ctskip_ct_count(const struct net *net);
unsigned int ctskip_ct_max(void);

/*
 * /proc/net/@name in @net, a single-shot text made by @show(seq, NULL).
 * Opening it needs: the opener lives in @net, or has CAP_NET_ADMIN over the
 * user namespace that owns @net (the host's root may look into a container;
 * a container may not look out of it); else EACCES. The check is made at
 * open, so it is the opener's, whoever reads the descriptor later. Returns
 * the entry (for the accessors and removal), NULL without memory.
 */
struct ctskip_proc;
struct ctskip_proc *ctskip_proc_create(const char *name, umode_t mode,
				       struct net *net,
				       int (*show)(struct seq_file *, void *),
				       void *data);
/* Removes the entry (waiting for readers, closing open files) and frees it. */
void ctskip_proc_remove(struct ctskip_proc *entry);
/* The netns and data of the entry a seq_file reads (from its show). */
struct net *ctskip_seq_net(struct seq_file *seq);
void *ctskip_seq_data(struct seq_file *seq);

/*
 * Whether a log line may be printed now. Lines that writes, readers and new
 * netns can cause have two budgets of CTSKIP_LOG_BURST lines per
 * CTSKIP_LOG_INTERVAL_S seconds (the kernel then prints how many it
 * suppressed): one for lines anyone can cause (@anyone: refusals, new
 * netns), one for lines only an administrator's writes cause.
 */
#define CTSKIP_LOG_BURST 20
#define CTSKIP_LOG_INTERVAL_S 5
bool ctskip_log_allowed(bool anyone);

/* fatal_signal_pending(current): the calling process was killed. */
bool ctskip_fatal_signal_pending(void);

/* cond_resched(): a long build lets other tasks run (process context). */
void ctskip_cond_resched(void);

/*
 * A mutex of lockdep class @class (0 or 1; one class per lock of ctskip's),
 * taken killably: ctskip_mutex_lock_killable() returns -EINTR when the
 * caller is killed while it waits.
 */
struct mutex;
void ctskip_mutex_init(struct mutex *m, unsigned int class);
int ctskip_mutex_lock_killable(struct mutex *m);
void ctskip_mutex_lock(struct mutex *m);
void ctskip_mutex_unlock(struct mutex *m);

/* Per-CPU counters: an array of @n u64 per CPU. */
u64 __percpu *ctskip_pcpu_alloc(unsigned int n);
void ctskip_pcpu_free(u64 __percpu *p);
/*
 * Hot-path counting, safe in any context, no lock or shared atomic:
 * this_cpu_add(p[@i], @a) (on x86_64 with SMP the Rust side issues the
 * same instruction inline).
 */
void ctskip_pcpu_add(u64 __percpu *p, unsigned int i, u64 a);
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
/* Copies dev->name (IFNAMSIZ bytes, NUL-padded) to @name. */
void ctskip_dev_name(const struct net_device *dev, char name[16]);

/*
 * Trace events (include/ctskip_trace.h, src/trace.c): the packet the rules
 * were asked about, and the calls the hook makes when an event is enabled.
 */
struct nf_hook_state;
struct ctskip_trace_pkt {
	u8 saddr[16], daddr[16];	/* network order; IPv4 in the first 4 */
	u16 sport, dport;		/* host order; 0 when not read */
	u8 v6, proto;
	u8 icmp_error;			/* an ICMP error, classified by the packet it is about */
};
/* ctskip:skip's reason */
#define CTSKIP_SKIP_NOMATCH 0	/* no rule matched */
#define CTSKIP_SKIP_NOPORTS 1	/* a rule needed ports the packet did not show */
void ctskip_trace_untrack(const struct nf_hook_state *state,
			  const struct ctskip_trace_pkt *pkt, u32 rule);
void ctskip_trace_skip(const struct nf_hook_state *state,
		       const struct ctskip_trace_pkt *pkt, u32 reason);
/* Whether the event is enabled, without a static branch (slow path). */
bool ctskip_trace_untrack_enabled(void);
bool ctskip_trace_skip_enabled(void);
#ifdef CONFIG_TRACEPOINTS
/* The events' tracepoints, whose keys the hook's static branches test. */
struct tracepoint;
extern struct tracepoint __tracepoint_untrack;
extern struct tracepoint __tracepoint_skip;
#endif

#endif
