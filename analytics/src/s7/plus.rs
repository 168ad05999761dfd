//! S7comm-plus inside an S7 session: requests matched to responses by sequence number, write
//! rows for the variable-setting functions, the session id, and TLS-protected connections.
//!
//! Which requests are writes (DESIGN.md): SetVariable, SetMultiVariables and SetVarSubStreamed.
//! HMIs also use SetVariable for bookkeeping of their own subscriptions. Process variables,
//! data blocks and the CPU are objects of the PLC's own address space, so the rules are: a set
//! on an object this connection created (its id came back in a CreateObject response: the
//! session object, subscriptions) is bookkeeping; so is a SetVariable on an id of the
//! per-connection dynamic range 0x7000_0000..=0x7FFF_FFFF ([`DYNAMIC_OBJECTS`]), which the PLC
//! allocates for sessions, subscriptions and alarm objects, so that a capture joined after
//! the CreateObject still tells them apart. In the shared captures these are the sets of
//! attribute 1053 with a growing sequence counter and of attribute 2711 that HMIs send per
//! subscription cycle. Bookkeeping is counted, not a row. Every other set is a row
//! (over-reporting rather than missing a write): SetMultiVariables with object 0 and an
//! address list (HMI process writes), SetVariable on the CPU (0x34, attribute 2167, the
//! requested operating state: CPU STOP / START, category `control`) or on the program object
//! 0x03. Object and attribute ids are given in the target; other values use S7comm-plus's
//! typed encoding and are not rendered.
//!
//! Program changes: a CreateObject under the PLC program object (0x03: the blocks a download
//! writes, or an upload reads out, named `DB1`, `OB1` from their relation ids) and a
//! DeleteObject of a block are `program` rows.
//!
//! A connection whose COTP payloads are TLS records is marked opaque once, with an alert: its
//! writes cannot be read.

use std::collections::VecDeque;

use dissectors::s7plus::{self, function, opcode, parse_frame, set_address, vlq_u32, Body};

use crate::evidence::{AlertKind, Category, Outcome, Protocol, Severity, WriteRow};
use crate::flow::Direction;
use crate::session::SessionCx;

/// Object ids the PLC hands out per connection (sessions, subscriptions, alarm objects); the
/// PLC's own objects (the CPU 0x34, the program 0x03, data blocks 0x8A0E_xxxx) lie outside.
pub const DYNAMIC_OBJECTS: std::ops::RangeInclusive<u32> = 0x7000_0000..=0x7fff_ffff;

/// The CPU's execution unit and its requested operating state attribute.
pub const CPU_OBJECT: u32 = 0x34;
pub const OPERATING_STATE_REQ: u32 = 2167;

/// Requests awaiting a response before the oldest is given up.
const MAX_PENDING: usize = 256;

/// Objects created by one connection that are remembered.
const MAX_CREATED: usize = 4096;

#[derive(Debug)]
struct Pending {
    sequence: u16,
    function: u16,
    row: Option<WriteRow>,
}

/// S7comm-plus state of one connection.
#[derive(Debug, Default)]
pub struct PlusState {
    pending: VecDeque<Pending>,
    /// Object ids returned by CreateObject responses on this connection.
    created: Vec<u32>,
    /// The session id: the first object id the PLC created for this connection.
    pub session_id: Option<u32>,
    /// Whether the connection runs TLS inside COTP.
    pub tls: bool,
    /// Sets on this connection's own objects (subscription bookkeeping), not rows.
    pub bookkeeping_sets: u64,
}

impl PlusState {
    pub(crate) fn gap(&mut self, _dir: Direction) {}

    pub(crate) fn end(&mut self, followed: bool, cx: &mut SessionCx<'_>) {
        for p in std::mem::take(&mut self.pending) {
            if let Some(mut row) = p.row {
                row.outcome = if followed {
                    Outcome::NoResponse
                } else {
                    Outcome::Unknown
                };
                cx.emit_write(row);
            }
        }
    }

    pub(crate) fn on_tsdu(&mut self, dir: Direction, tsdu: &[u8], cx: &mut SessionCx<'_>) {
        if s7plus::is_tls_record(tsdu) {
            if !self.tls {
                self.tls = true;
                cx.stats.opaque = true;
                cx.stats.set_security_mode("tls".to_owned());
                let detail = "S7comm-plus protected by TLS: its requests and any writes in them \
                              cannot be read or verified"
                    .to_owned();
                cx.alert(AlertKind::OpaqueSession, Severity::Medium, detail);
            }
            return;
        }
        let frame = match parse_frame(tsdu) {
            Ok(frame) => frame,
            Err(error) => {
                cx.stats.malformed += 1;
                cx.alert(AlertKind::MalformedPdu, Severity::Low, error.to_string());
                return;
            }
        };
        let Body::Head(head) = frame.body else {
            return;
        };
        match (dir, head.opcode) {
            (Direction::ToServer, opcode::REQUEST) => self.request(&head, cx),
            (Direction::ToClient, opcode::RESPONSE | opcode::RESPONSE2) => {
                cx.stats.responses += 1;
                self.response(&head, cx);
            }
            _ => {}
        }
    }

    fn request(&mut self, head: &s7plus::Head<'_>, cx: &mut SessionCx<'_>) {
        let code = head.function;
        let row = match code {
            function::SET_VARIABLE
            | function::SET_MULTI_VARIABLES
            | function::SET_VAR_SUB_STREAMED => {
                let address = set_address(code, head.body);
                if address.is_some_and(|a| self.bookkeeping(code, a.object)) {
                    self.bookkeeping_sets += 1;
                    cx.stats.other_requests += 1;
                    None
                } else {
                    Some(set_row(code, address, cx))
                }
            }
            function::CREATE_OBJECT | function::DELETE_OBJECT => {
                self.program_change(code, head.body, cx)
            }
            function::GET_VARIABLE
            | function::GET_MULTI_VARIABLES
            | function::GET_VAR_SUB_STREAMED
            | function::EXPLORE
            | function::GET_LINK => {
                cx.stats.reads += 1;
                None
            }
            _ => {
                cx.stats.other_requests += 1;
                None
            }
        };
        if self.pending.len() >= MAX_PENDING {
            if let Some(old) = self.pending.pop_front() {
                if let Some(row) = old.row {
                    cx.emit_write(row);
                }
            }
        }
        self.pending.push_back(Pending {
            sequence: head.sequence,
            function: code,
            row,
        });
    }

    fn response(&mut self, head: &s7plus::Head<'_>, cx: &mut SessionCx<'_>) {
        let Some(at) = self
            .pending
            .iter()
            .position(|p| p.sequence == head.sequence && p.function == head.function)
        else {
            return;
        };
        let Some(pending) = self.pending.remove(at) else {
            return;
        };
        // The body starts with the return value (a VLQ); 0 is success.
        let ret = vlq_u64(head.body);
        // Object ids are taken whatever the return value says: PLCs answer a successful
        // session creation with a non-zero value (17) as well.
        if pending.function == function::CREATE_OBJECT {
            self.created_objects(head.body);
        }
        if let Some(mut row) = pending.row {
            row.outcome = match ret {
                Some((0, _)) => Outcome::Ok,
                Some((v, _)) => Outcome::Exception(v.to_string()),
                None => Outcome::Unknown,
            };
            row.response_ts_us = Some(cx.at.ts_us);
            cx.emit_write(row);
        }
    }

    /// A CreateObject under the PLC program (a block a download writes or an upload reads
    /// out) or a DeleteObject of a block is a `program` row; creating and deleting the
    /// connection's own objects (sessions, subscriptions) is not.
    fn program_change(
        &mut self,
        code: u16,
        body: &[u8],
        cx: &mut SessionCx<'_>,
    ) -> Option<WriteRow> {
        let target = if code == function::CREATE_OBJECT {
            match s7plus::create_object_ids(body) {
                Some((s7plus::PLC_PROGRAM_OBJECT, relation)) => Some(match relation {
                    Some(r) => s7plus::block_name(r).unwrap_or_else(|| format!("object 0x{r:08x}")),
                    None => "program".to_owned(),
                }),
                _ => None,
            }
        } else {
            body.get(..4)
                .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
                .and_then(s7plus::block_name)
        };
        let Some(target) = target else {
            cx.stats.other_requests += 1;
            return None;
        };
        let operation = if code == function::CREATE_OBJECT {
            "CreateObject"
        } else {
            "DeleteObject"
        };
        let mut row = cx.new_write(Category::Program, operation, u32::from(code), target);
        row.protocol = Protocol::S7commPlus;
        Some(row)
    }

    /// Whether a set on `object` is the connection's own bookkeeping rather than a change to
    /// the PLC: see the module documentation.
    fn bookkeeping(&self, code: u16, object: u32) -> bool {
        self.created.contains(&object)
            || (code == function::SET_VARIABLE && DYNAMIC_OBJECTS.contains(&object))
    }

    /// A CreateObject response: return value, count of object ids (a byte), the ids (VLQ).
    fn created_objects(&mut self, body: &[u8]) {
        let Some((_, n)) = vlq_u64(body) else {
            return;
        };
        let Some((&count, mut rest)) = body.get(n..).and_then(<[u8]>::split_first) else {
            return;
        };
        for _ in 0..count {
            let Some((id, used)) = vlq_u32(rest) else {
                return;
            };
            if self.session_id.is_none() {
                self.session_id = Some(id);
            }
            if self.created.len() < MAX_CREATED {
                self.created.push(id);
            }
            rest = &rest[used..];
        }
    }
}

/// The row of a set request that changes the PLC.
fn set_row(code: u16, address: Option<s7plus::SetAddress<'_>>, cx: &mut SessionCx<'_>) -> WriteRow {
    let mut category = Category::Write;
    let mut operation = s7plus::function_name(code);
    let mut value = None;
    let target = match address {
        Some(a) if a.object == CPU_OBJECT && a.attribute == Some(OPERATING_STATE_REQ) => {
            category = Category::Control;
            (operation, value) = match a.small_value() {
                Some(1) => ("CPU Stop", Some("stop".to_owned())),
                Some(3) => ("CPU Start", Some("run".to_owned())),
                Some(v) => ("CPU Operating State", Some(v.to_string())),
                None => ("CPU Operating State", None),
            };
            "cpu".to_owned()
        }
        Some(a) => match a.attribute {
            Some(attribute) => format!("object 0x{:08x} attr {attribute}", a.object),
            None => format!("object 0x{:08x}", a.object),
        },
        None => "object (malformed)".to_owned(),
    };
    let mut row = cx.new_write(category, operation, u32::from(code), target);
    row.protocol = Protocol::S7commPlus;
    row.value = value;
    row
}

/// A 64-bit VLQ (up to 10 bytes).
fn vlq_u64(b: &[u8]) -> Option<(u64, usize)> {
    let mut v: u64 = 0;
    for (i, &byte) in b.iter().enumerate().take(10) {
        v = (v << 7) | u64::from(byte & 0x7f);
        if byte & 0x80 == 0 {
            return Some((v, i + 1));
        }
    }
    None
}
