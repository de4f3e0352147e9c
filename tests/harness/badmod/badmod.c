// SPDX-License-Identifier: GPL-2.0
/*
 * badmod: a module that makes the kernel report a real bug, for the VM
 * harness's self-tests (tests/harness/run). Loading it with
 *
 *   what=kasan    reads past the end of a kmalloc'd object (KASAN
 *                 slab-out-of-bounds)
 *   what=lockdep  takes two mutexes in both orders (lockdep: possible
 *                 circular locking dependency)
 *   what=leak     kmallocs buffers and drops the only pointers (kmemleak)
 *   what=warn     WARN_ON(1)
 *   what=hung     starts a kthread that sleeps in TASK_UNINTERRUPTIBLE for
 *                 hung_secs seconds (set kernel.hung_task_timeout_secs below
 *                 that first); it then waits, interruptibly, to be stopped,
 *                 so the module can stay loaded or be unloaded
 *   what=none     does nothing (a clean load)
 *
 * Every case but a bad what= loads successfully and can be left loaded.
 * Never load it outside a throwaway test VM.
 */
#include <linux/delay.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/string.h>

static char *what = "none";
module_param(what, charp, 0444);
MODULE_PARM_DESC(what, "kasan|lockdep|leak|warn|hung|none");

static uint hung_secs = 60;
module_param(hung_secs, uint, 0444);
MODULE_PARM_DESC(hung_secs, "what=hung: seconds in TASK_UNINTERRUPTIBLE");

static DEFINE_MUTEX(badmod_a);
static DEFINE_MUTEX(badmod_b);
static struct task_struct *badmod_hung_task;

static noinline void badmod_kasan(void)
{
	size_t size = 120;	/* kmalloc-128: bytes 120..127 are poisoned */
	char *p = kmalloc(size, GFP_KERNEL);

	if (!p)
		return;
	OPTIMIZER_HIDE_VAR(p);
	pr_info("badmod: read byte %zu of a %zu-byte object\n", size, size);
	(void)((volatile char *)p)[size];
	kfree(p);
}

static noinline void badmod_lockdep(void)
{
	/* A -> B, then B -> A: an AB-BA inversion, in one thread, so nothing
	 * deadlocks but lockdep sees the cycle. */
	mutex_lock(&badmod_a);
	mutex_lock(&badmod_b);
	mutex_unlock(&badmod_b);
	mutex_unlock(&badmod_a);

	mutex_lock(&badmod_b);
	mutex_lock(&badmod_a);
	mutex_unlock(&badmod_a);
	mutex_unlock(&badmod_b);
}

static noinline void badmod_leak(void)
{
	void *volatile p;
	int i;

	/* Several, so a stale copy of one pointer somewhere cannot hide all. */
	for (i = 0; i < 8; i++) {
		p = kmalloc(1000 + i, GFP_KERNEL);
		if (p)
			memset(p, 0x5a, 1000 + i);
	}
	p = NULL;
}

static int badmod_hung_fn(void *unused)
{
	pr_info("badmod: sleeping %u s in TASK_UNINTERRUPTIBLE\n", hung_secs);
	schedule_timeout_uninterruptible((long)hung_secs * HZ);
	pr_info("badmod: woke up\n");
	while (!kthread_should_stop())
		schedule_timeout_interruptible(HZ);
	return 0;
}

static int __init badmod_init(void)
{
	pr_info("badmod: what=%s\n", what);
	if (!strcmp(what, "kasan")) {
		badmod_kasan();
	} else if (!strcmp(what, "lockdep")) {
		badmod_lockdep();
	} else if (!strcmp(what, "leak")) {
		badmod_leak();
	} else if (!strcmp(what, "warn")) {
		WARN_ON(1);
	} else if (!strcmp(what, "hung")) {
		badmod_hung_task = kthread_run(badmod_hung_fn, NULL, "badmod-hung");
		if (IS_ERR(badmod_hung_task)) {
			int err = PTR_ERR(badmod_hung_task);

			badmod_hung_task = NULL;
			return err;
		}
	} else if (strcmp(what, "none")) {
		pr_err("badmod: unknown what=%s\n", what);
		return -EINVAL;
	}
	return 0;
}

static void __exit badmod_exit(void)
{
	/* kthread_stop() wakes the uninterruptible sleep early too. */
	if (badmod_hung_task)
		kthread_stop(badmod_hung_task);
}

module_init(badmod_init);
module_exit(badmod_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Triggers real kernel reports for ctskip's harness self-tests");
