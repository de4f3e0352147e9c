// SPDX-License-Identifier: GPL-2.0
/*
 * ctskip's trace events (include/ctskip_trace.h): ctskip:untrack and
 * ctskip:skip. The hook (src/hook.rs) tests each event's static key inline
 * and calls these only while someone listens.
 */
#define CREATE_TRACE_POINTS
#include "ctskip_trace.h"

void ctskip_trace_untrack(const struct nf_hook_state *state,
			  const struct ctskip_trace_pkt *pkt, u32 rule)
{
	trace_untrack(state, pkt, rule);
}

void ctskip_trace_skip(const struct nf_hook_state *state,
		       const struct ctskip_trace_pkt *pkt, u32 reason)
{
	trace_skip(state, pkt, reason);
}

bool ctskip_trace_untrack_enabled(void)
{
	return trace_untrack_enabled();
}

bool ctskip_trace_skip_enabled(void)
{
	return trace_skip_enabled();
}
