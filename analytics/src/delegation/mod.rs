//! Delegations: who said a principal could make a write, and whether this write stayed inside
//! what they allowed.
//!
//! [`Delegations::parse`] loads the operator's `--delegations` file (DESIGN.md, "Inputs an
//! operator writes") and refuses it with file, line and column on any doubt. A
//! [`DelegationChecker`] made from it is fed every write of the run **in time order** and sets
//! the `delegation`, `delegation_status` and `approved_by` columns; [`DelegationChecker::finish`]
//! then returns the alerts. Runs without a delegations file never get here: the caller marks
//! their writes `no_policy`.
//!
//! # When a grant matches a write
//!
//! A grant *matches* a write when the write's `identity` equals the grant's `principal`, and
//! its protocol, server address (`endpoints.server_ip`; any when `servers` is absent) and
//! category are the grant's, and its target is covered by one of the grant's patterns
//! ([`target`]: globs with `*`, address ranges that cover the ranges inside them, literals). A
//! Modbus FC 21 target (`unit 1 file 1 record 0..1; unit 1 file 2 record 10..13`) matches when
//! each of its `; `-separated parts is covered by some pattern of the grant. A write without
//! an identity matches nothing.
//!
//! A matching grant then stands in one of four classes, decided in this order: outside its
//! window `[valid_from, valid_until]` (both ends included, compared on `at.ts_us` in UTC) →
//! *expired*; some value out of bounds → *out of bounds*; its `max_writes` already spent →
//! *over budget*; otherwise it *covers* the write.
//!
//! # Status of a write
//!
//! Over the matching grants: if one covers the write it is `delegated` (and spends one unit of
//! that grant's budget: `max_writes` counts only the writes a grant made `delegated`); else if
//! one is out of bounds, `out_of_bounds`; else if one is over budget, `over_budget`; else if
//! one is expired, `expired`; else (no grant matches) `undelegated`. `delegation` names the
//! chosen grant for every status but `undelegated`; `approved_by` is set only for `delegated`
//! writes, since nobody approved the others.
//!
//! # Bounds
//!
//! `value_min` and `value_max` apply to **every** number of `numeric_values`; either may be
//! absent. A grant with a bound never covers a write that has no numeric value (a mask write,
//! a hex blob, a string, a PLC stop): such a write is `out_of_bounds` under it, because nothing
//! shows that it stayed within what was approved. A grant without bounds allows any value.
//!
//! # Specificity
//!
//! When several grants of the same class match, the most specific wins:
//! 1. the target: a literal or range pattern (no `*`) beats any glob; among those, the one
//!    spanning fewer registers, coils, records, S7 bits or CIP elements wins (a literal spans
//!    one); among globs, the one with more literal characters wins. A grant scores its best
//!    pattern for the target; for an FC 21 target, its worst part;
//! 2. then a grant naming its `servers` beats one for any server;
//! 3. equal on both counts is a **tie**: the grant whose window starts earlier is used, then
//!    the one earlier in the file. A tie between grants that both cover a write is reported by
//!    one `delegation_tie` alert (severity low) per pair of grant ids, not per write, naming
//!    both; ties in the other classes only decide which id the row names.
//!
//! # Alerts
//!
//! One alert per session and status for `undelegated` (kind `undelegated_write`),
//! `out_of_bounds` (`out_of_bounds_write`), `over_budget` (`over_budget_write`), all severity
//! high, and `expired` (`expired_delegation`, medium), at the first such write's frame, with
//! the count in the detail.
//!
//! # Cost
//!
//! Grants are indexed by principal, protocol and server, so a write only looks at the grants
//! of its principal for its protocol and server (plus those for any server). Patterns are
//! compiled once at load; checking a write parses its target once and allocates only the
//! strings it writes into the row (and, on the first non-delegated write of a session, the
//! alert's record).

mod checker;
mod grant;
pub mod target;

pub use checker::DelegationChecker;
pub use grant::{CategorySet, DelegationError, Delegations, Grant};
pub use target::{Specificity, TargetPattern};
