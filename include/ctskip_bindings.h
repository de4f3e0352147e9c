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
#include <linux/netdevice.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <linux/skbuff.h>
#include <linux/tracepoint.h>
#include <net/net_namespace.h>

#include "ctskip_shim.h"
