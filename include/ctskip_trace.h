/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ctskip's trace events, defined in src/trace.c (tracefs: events/ctskip/):
 *
 *   ctskip:untrack  a packet a rule matched, marked untracked;
 *   ctskip:skip     a packet whose key was read and that no rule matched,
 *                   left to conntrack.
 *
 * Both carry the netns (inum and cookie), the hook, the family, the
 * protocol, the addresses and ports of the packet the rules were asked about
 * (for an ICMP error untracked because of the packet it is about: that
 * packet, with icmp_error=1). untrack carries the rule that took the packet:
 * its line in /sys/kernel/ctskip/rules and hits, from 1. skip carries why:
 * no rule matched (nomatch), or a rule needed ports the packet did not show
 * (noports: a later fragment, a truncated transport header).
 *
 * The hook tests each event with a static branch (src/kapi/trace.rs): while
 * no one listens, a 5-byte no-op.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM ctskip

#if !defined(_CTSKIP_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _CTSKIP_TRACE_H

#include <linux/in.h>
#include <linux/in6.h>
#include <linux/netfilter.h>
#include <linux/string.h>
#include <linux/tracepoint.h>
#include <net/net_namespace.h>

#include "ctskip_shim.h"

TRACE_DEFINE_ENUM(NF_INET_PRE_ROUTING);
TRACE_DEFINE_ENUM(NF_INET_LOCAL_OUT);
TRACE_DEFINE_ENUM(NFPROTO_IPV4);
TRACE_DEFINE_ENUM(NFPROTO_IPV6);

#define ctskip_trace_hooks					\
	{ NF_INET_PRE_ROUTING, "PRE_ROUTING" },			\
	{ NF_INET_LOCAL_OUT, "LOCAL_OUT" }
#define ctskip_trace_families					\
	{ NFPROTO_IPV4, "ipv4" },				\
	{ NFPROTO_IPV6, "ipv6" }
#define ctskip_trace_reasons					\
	{ CTSKIP_SKIP_NOMATCH, "nomatch" },			\
	{ CTSKIP_SKIP_NOPORTS, "noports" }

#ifndef _CTSKIP_TRACE_HELPERS
#define _CTSKIP_TRACE_HELPERS
/* A sockaddr_in or sockaddr_in6 (for %pISpc) of an address and port. */
static inline void ctskip_trace_sockaddr(u8 out[sizeof(struct sockaddr_in6)],
					 bool v6, const u8 addr[16], u16 port)
{
	memset(out, 0, sizeof(struct sockaddr_in6));
	if (v6) {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)out;

		s->sin6_family = AF_INET6;
		s->sin6_port = htons(port);
		memcpy(&s->sin6_addr, addr, 16);
	} else {
		struct sockaddr_in *s = (struct sockaddr_in *)out;

		s->sin_family = AF_INET;
		s->sin_port = htons(port);
		memcpy(&s->sin_addr, addr, 4);
	}
}
#endif

/* The fields both events share, and how they are filled. */
#define CTSKIP_TRACE_FIELDS						\
	__field(u64, netns_cookie)					\
	__field(u32, netns)						\
	__field(u16, sport)						\
	__field(u16, dport)						\
	__field(u8, hook)						\
	__field(u8, family)						\
	__field(u8, proto)						\
	__field(u8, icmp_error)						\
	__array(u8, saddr, sizeof(struct sockaddr_in6))			\
	__array(u8, daddr, sizeof(struct sockaddr_in6))

#define CTSKIP_TRACE_ASSIGN(state, pkt)					\
	__entry->netns_cookie = (state)->net->net_cookie;		\
	__entry->netns = (state)->net->ns.inum;				\
	__entry->sport = (pkt)->sport;					\
	__entry->dport = (pkt)->dport;					\
	__entry->hook = (state)->hook;					\
	__entry->family = (state)->pf;					\
	__entry->proto = (pkt)->proto;					\
	__entry->icmp_error = (pkt)->icmp_error;			\
	ctskip_trace_sockaddr(__entry->saddr, (pkt)->v6, (pkt)->saddr,	\
			      (pkt)->sport);				\
	ctskip_trace_sockaddr(__entry->daddr, (pkt)->v6, (pkt)->daddr,	\
			      (pkt)->dport)

TRACE_EVENT(untrack,
	TP_PROTO(const struct nf_hook_state *state,
		 const struct ctskip_trace_pkt *pkt, u32 rule),
	TP_ARGS(state, pkt, rule),
	TP_STRUCT__entry(
		CTSKIP_TRACE_FIELDS
		__field(u32, rule)
	),
	TP_fast_assign(
		CTSKIP_TRACE_ASSIGN(state, pkt);
		__entry->rule = rule;
	),
	TP_printk("netns=%u netns_cookie=%llu hook=%s family=%s proto=%u src=%pISpc dst=%pISpc icmp_error=%u rule=%u",
		  __entry->netns, __entry->netns_cookie,
		  __print_symbolic(__entry->hook, ctskip_trace_hooks),
		  __print_symbolic(__entry->family, ctskip_trace_families),
		  __entry->proto, __entry->saddr, __entry->daddr,
		  __entry->icmp_error, __entry->rule)
);

TRACE_EVENT(skip,
	TP_PROTO(const struct nf_hook_state *state,
		 const struct ctskip_trace_pkt *pkt, u32 reason),
	TP_ARGS(state, pkt, reason),
	TP_STRUCT__entry(
		CTSKIP_TRACE_FIELDS
		__field(u32, reason)
	),
	TP_fast_assign(
		CTSKIP_TRACE_ASSIGN(state, pkt);
		__entry->reason = reason;
	),
	TP_printk("netns=%u netns_cookie=%llu hook=%s family=%s proto=%u src=%pISpc dst=%pISpc icmp_error=%u reason=%s",
		  __entry->netns, __entry->netns_cookie,
		  __print_symbolic(__entry->hook, ctskip_trace_hooks),
		  __print_symbolic(__entry->family, ctskip_trace_families),
		  __entry->proto, __entry->saddr, __entry->daddr,
		  __entry->icmp_error,
		  __print_symbolic(__entry->reason, ctskip_trace_reasons))
);

#endif /* _CTSKIP_TRACE_H */

/* This part must be outside the header guard. */
#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE ctskip_trace
#include <trace/define_trace.h>
