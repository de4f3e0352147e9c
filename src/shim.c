// SPDX-License-Identifier: GPL-2.0
/*
 * ctskip C shim: only what Rust cannot reach through bindgen — static
 * inlines (nf_ct_set, skb_header_pointer, net_generic), per-CPU macros,
 * a static mutex and the module parameters. No logic lives here.
 */
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/module.h>
#include <linux/compat.h>
#include <linux/ptrace.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <asm/syscall.h>
#include <asm/unistd.h>
#include <linux/pid.h>
#include <linux/workqueue.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/nsproxy.h>
#include <linux/percpu.h>
#include <linux/proc_fs.h>
#include <linux/ratelimit.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
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
module_param_cb(rules, &ctskip_rules_ops, &ctskip_param_rules, 0400);
MODULE_PARM_DESC(rules, "initial rules, ';'-separated (any length)");

int ctskip_param_priority = -201;
module_param_named(priority, ctskip_param_priority, int, 0444);
MODULE_PARM_DESC(priority, "hook priority, between -400 and -200 exclusive (default -201)");

bool ctskip_enabled = true;
module_param_named(enabled, ctskip_enabled, bool, 0444);
MODULE_PARM_DESC(enabled, "mark matching packets untracked (default 1)");

/*
 * The argument string exactly as the loading process passed it to
 * init_module(2) or finit_module(2). THIS_MODULE->args holds the same text,
 * but parse_args() cut it in place (NULs where the blanks were), so where
 * it ends can no longer be told. Only from module init, which runs in the
 * loading syscall. NULL when it cannot be read (another syscall, a compat
 * task, a fault); kfree() the result.
 */
char *ctskip_load_args(void)
{
	struct pt_regs *regs = task_pt_regs(current);
	unsigned long args[6];
	const char __user *uargs;
	char *s;

	if (in_compat_syscall())
		return NULL;
	syscall_get_arguments(current, regs, args);
	switch (syscall_get_nr(current, regs)) {
	case __NR_finit_module:
		uargs = (const char __user *)args[1];
		break;
	case __NR_init_module:
		uargs = (const char __user *)args[2];
		break;
	default:
		return NULL;
	}
	s = strndup_user(uargs, 1 << 24);
	return IS_ERR(s) ? NULL : s;
}

void ctskip_kfree(const void *p)
{
	kfree(p);
}

/* Open files: a held reference, its count, the opener's capability. */
void ctskip_file_get(struct file *file)
{
	get_file(file);
}

void ctskip_file_put(struct file *file)
{
	fput(file);
}

long ctskip_file_count(struct file *file)
{
	return file_count(file);
}

bool ctskip_file_writable(const struct file *file)
{
	return file->f_mode & FMODE_WRITE;
}

bool ctskip_file_net_admin(const struct file *file)
{
	return file_ns_capable(file, &init_user_ns, CAP_NET_ADMIN);
}

/* Processes: held struct pid of a thread group. */
struct pid *ctskip_pid_current(void)
{
	return get_pid(task_tgid(current));
}

struct pid *ctskip_pid_parent(void)
{
	struct pid *pid;

	rcu_read_lock();
	pid = get_pid(task_tgid(rcu_dereference(current->real_parent)));
	rcu_read_unlock();
	return pid;
}

bool ctskip_pid_is_current(const struct pid *pid)
{
	return task_tgid(current) == pid;
}

bool ctskip_pid_alive(struct pid *pid)
{
	return pid_has_task(pid, PIDTYPE_TGID);
}

int ctskip_pid_nr(struct pid *pid)
{
	return pid_vnr(pid);
}

void ctskip_pid_put(struct pid *pid)
{
	put_pid(pid);
}

/* RCU read-side sections (rcu_read_lock() is a static inline). */
void ctskip_rcu_read_lock(void)
{
	rcu_read_lock();
}

void ctskip_rcu_read_unlock(void)
{
	rcu_read_unlock();
}

/*
 * A poller: a delayed work that calls @fn(@data) on the system workqueue,
 * armed again by whoever wants another call.
 */
struct ctskip_poller {
	struct delayed_work work;
	void (*fn)(void *data);
	void *data;
};

static void ctskip_poller_run(struct work_struct *work)
{
	struct ctskip_poller *p = container_of(to_delayed_work(work), struct ctskip_poller, work);

	p->fn(p->data);
}

struct ctskip_poller *ctskip_poller_new(void (*fn)(void *data))
{
	struct ctskip_poller *p = kzalloc(sizeof(*p), GFP_KERNEL);

	if (!p)
		return NULL;
	INIT_DELAYED_WORK(&p->work, ctskip_poller_run);
	p->fn = fn;
	return p;
}

void ctskip_poller_set_data(struct ctskip_poller *p, void *data)
{
	WRITE_ONCE(p->data, data);
}

void ctskip_poller_arm(struct ctskip_poller *p, unsigned int ms)
{
	schedule_delayed_work(&p->work, msecs_to_jiffies(ms));
}

void ctskip_poller_free(struct ctskip_poller *p)
{
	cancel_delayed_work_sync(&p->work);
	kfree(p);
}

u64 ctskip_now_ms(void)
{
	return jiffies64_to_msecs(get_jiffies_64());
}

/* A bin_attribute made at run time needs its lockdep key set. */
void ctskip_bin_attr_init(struct bin_attribute *attr)
{
	sysfs_bin_attr_init(attr);
}

/* The slow path of header reads: non-linear or short skbs. */
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

/*
 * With conntrack built as a module these make ctskip depend on it (modprobe
 * loads it first); without conntrack there is nothing to count.
 */
u32 ctskip_ct_count(const struct net *net)
{
#if IS_ENABLED(CONFIG_NF_CONNTRACK)
	return nf_conntrack_count(net);
#else
	return 0;
#endif
}

unsigned int ctskip_ct_max(void)
{
#if IS_ENABLED(CONFIG_NF_CONNTRACK)
	return READ_ONCE(nf_conntrack_max);
#else
	return 0;
#endif
}

void *ctskip_net_generic(const struct net *net, unsigned int id)
{
	return net_generic(net, id);
}

struct ctskip_proc {
	struct proc_dir_entry *pde;
	struct net *net;
	int (*show)(struct seq_file *seq, void *v);
	void *data;
};

static int ctskip_proc_show(struct seq_file *seq, void *v)
{
	struct ctskip_proc *e = seq->private;

	return e->show(seq, v);
}

/*
 * The permission check is made here, at open, with the opener's own
 * credentials and netns. The entry outlives every open file: removing it
 * (pernet exit, before the netns is freed) waits for callers and closes
 * the files still open.
 */
static int ctskip_proc_open(struct inode *inode, struct file *file)
{
	struct ctskip_proc *e = pde_data(inode);

	if (!net_eq(current->nsproxy->net_ns, e->net) &&
	    !ns_capable(e->net->user_ns, CAP_NET_ADMIN))
		return -EACCES;
	return single_open(file, ctskip_proc_show, e);
}

static const struct proc_ops ctskip_proc_ops = {
	.proc_open	= ctskip_proc_open,
	.proc_read	= seq_read,
	.proc_lseek	= seq_lseek,
	.proc_release	= single_release,
};

struct ctskip_proc *ctskip_proc_create(const char *name, umode_t mode,
				       struct net *net,
				       int (*show)(struct seq_file *, void *),
				       void *data)
{
	struct ctskip_proc *e = kzalloc(sizeof(*e), GFP_KERNEL);

	if (!e)
		return NULL;
	e->net = net;
	e->show = show;
	e->data = data;
	e->pde = proc_create_data(name, mode, net->proc_net, &ctskip_proc_ops, e);
	if (!e->pde) {
		kfree(e);
		return NULL;
	}
	return e;
}

void ctskip_proc_remove(struct ctskip_proc *e)
{
	proc_remove(e->pde);
	kfree(e);
}

struct net *ctskip_seq_net(struct seq_file *seq)
{
	return ((struct ctskip_proc *)seq->private)->net;
}

void *ctskip_seq_data(struct seq_file *seq)
{
	return ((struct ctskip_proc *)seq->private)->data;
}

/*
 * Two budgets: lines only an administrator's action can cause, and lines
 * anyone can cause (refusals, new netns), so that the second cannot
 * silence the first.
 */
static DEFINE_RATELIMIT_STATE(ctskip_log_admin, CTSKIP_LOG_INTERVAL_S * HZ,
			      CTSKIP_LOG_BURST);
static DEFINE_RATELIMIT_STATE(ctskip_log_anyone, CTSKIP_LOG_INTERVAL_S * HZ,
			      CTSKIP_LOG_BURST);

bool ctskip_log_allowed(bool anyone)
{
	return __ratelimit(anyone ? &ctskip_log_anyone : &ctskip_log_admin);
}

bool ctskip_fatal_signal_pending(void)
{
	return fatal_signal_pending(current);
}

void ctskip_cond_resched(void)
{
	cond_resched();
}

static struct lock_class_key ctskip_mutex_keys[2];
static const char *const ctskip_mutex_names[2] = { "ctskip_writers", "ctskip_readers" };

void ctskip_mutex_init(struct mutex *m, unsigned int class)
{
	class = min(class, 1U);
	__mutex_init(m, ctskip_mutex_names[class], &ctskip_mutex_keys[class]);
}

int ctskip_mutex_lock_killable(struct mutex *m)
{
	return mutex_lock_killable(m);
}

void ctskip_mutex_lock(struct mutex *m)
{
	mutex_lock(m);
}

void ctskip_mutex_unlock(struct mutex *m)
{
	mutex_unlock(m);
}

u64 __percpu *ctskip_pcpu_alloc(unsigned int n)
{
	return __alloc_percpu(sizeof(u64) * n, __alignof__(u64));
}

void ctskip_pcpu_free(u64 __percpu *p)
{
	free_percpu(p);
}

void ctskip_pcpu_add(u64 __percpu *p, unsigned int i, u64 a)
{
	this_cpu_add(p[i], a);
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
void ctskip_dev_name(const struct net_device *dev, char name[IFNAMSIZ])
{
	memcpy(name, dev->name, IFNAMSIZ);
}
