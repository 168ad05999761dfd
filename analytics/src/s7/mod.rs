//! S7 sessions over ISO-on-TCP: TPKT framing, COTP segment reassembly, S7comm jobs matched to
//! their acknowledgements, userdata, and the S7comm-plus PDUs of the same transport.
//!
//! Rows (DESIGN.md "What counts as a write", fixtures-pcap/README.md "Rendering rules"):
//! - Write Var: one `write` row per item, outcome from that item's return code in the
//!   Ack_Data (a header error fails every item);
//! - PLC Stop and PI services: `control` rows (`_INSE`, `_DELE`, `_MODU` are `program`);
//! - download (0x1A–0x1C) and upload (0x1D–0x1F): `program` rows naming the block. During a
//!   download the PLC sends the Download Block / Download Ended jobs itself; the row keeps the
//!   session's endpoints, so it is attributed to the engineering station that asked for it;
//! - userdata: set clock (`config`), modify variable and force (`write`), memory reset
//!   (`control`), NC program transfer (`program`);
//! - the security group's PLC password (group 5, subfunction 1) binds an `s7_password`
//!   credential to the connection from the request on; a refusal in the answer withdraws it,
//!   and "clear password" (subfunction 2) or the end of the connection ends it. The password
//!   is only obfuscated on the wire: the session keeps a keyed fingerprint (nothing when the
//!   run has no site key) and raises a plaintext-password alert; it never stores the bytes.
//! - Read SZL answers (module identification 0x0011, component identification 0x001C) become
//!   `assets` rows.
//!
//! COTP connection request/confirm TSAPs (connection type, rack, slot) and the negotiated PDU
//! size and parallel jobs of Setup Communication are kept on the session ([`S7Session::info`]).
//! S7comm-plus PDUs are handed to [`plus`].

pub mod plus;
pub mod recognize;
pub mod render;
#[cfg(test)]
mod tests;

use std::collections::VecDeque;

use dissectors::s7comm::{
    self, block_of_filename, data_items, decode_password, func, group, parse_block_transfer,
    parse_clock, parse_pdu, parse_pi_service, parse_plc_stop, parse_setup, parse_szl,
    parse_userdata, pi_operation, return_codes, rosctr, userdata_item, var_specs, S7Pdu, Userdata,
    VarSpec,
};
use dissectors::tpkt::{frame_tpkt, parse_cotp, plausible_tpkt, Cotp, S7Tsap, TpktFraming};

use crate::evidence::{
    AlertKind, AssetRow, Category, Credential, CredentialKind, CredentialRow, Outcome, Protocol,
    SessionEnd, Severity, WriteRow,
};
use crate::flow::Direction;
use crate::reassembly::Chunk;
use crate::session::{ProtocolSession, SessionCx};

/// Requests awaiting an answer before the oldest is given up.
pub const MAX_PENDING: usize = 256;

/// Largest S7 PDU rebuilt from COTP segments; a longer run is dropped as malformed.
pub const MAX_TSDU: usize = 64 * 1024;

/// Upload ids remembered per session, to name the block of Upload / End Upload.
const MAX_UPLOADS: usize = 64;

/// The credential id used when the run has no site key to fingerprint with.
pub const NO_SITE_KEY_ID: &str = "s7-password (no site key)";

/// What a connection told about itself.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConnectionInfo {
    /// Destination TSAP of the connection request (the PLC side): type, rack and slot.
    pub tsap: Option<S7Tsap>,
    /// Text TSAP (S7-1200/1500 S7comm-plus), when not a 2-byte one.
    pub tsap_text: Option<String>,
    pub pdu_size: Option<u16>,
    pub max_amq_calling: Option<u16>,
    pub max_amq_called: Option<u16>,
}

/// What an answer completes.
#[derive(Debug)]
enum Waiting {
    /// Write Var items, in order.
    Items(Vec<WriteRow>),
    /// One row (control, program, userdata writes).
    Row(WriteRow),
    /// Start upload: the block, to learn its upload id from the answer.
    StartUpload(WriteRow, Option<String>),
    /// A password request; `previous` is the credential to restore on refusal.
    Password { previous: Option<Credential> },
    /// A Read SZL request.
    Szl,
    /// Reads and anything else: only the answer is counted.
    Nothing,
}

#[derive(Debug)]
struct Pending {
    /// Direction the request travelled in.
    dir: Direction,
    pdu_ref: u16,
    /// Userdata requests are answered by userdata.
    userdata: bool,
    waiting: Waiting,
    gap_after: bool,
}

/// The state of one ISO-on-TCP connection carrying S7comm or S7comm-plus.
#[derive(Debug, Default)]
pub struct S7Session {
    /// COTP segments (DT without EOT) waiting for their last one, per direction.
    segments: [Vec<u8>; 2],
    /// Dropping the rest of an oversized TSDU, per direction.
    dropping: [bool; 2],
    resync: [bool; 2],
    pending: VecDeque<Pending>,
    /// The PLC password credential in force.
    password: Option<Credential>,
    uploads: VecDeque<(u32, String)>,
    flood_reported: bool,
    info: ConnectionInfo,
    plus: plus::PlusState,
}

impl S7Session {
    /// TSAPs and negotiated parameters seen so far.
    pub fn info(&self) -> &ConnectionInfo {
        &self.info
    }
}

impl ProtocolSession for S7Session {
    fn on_chunk(&mut self, dir: Direction, chunk: Chunk<'_>, cx: &mut SessionCx<'_>) -> usize {
        match chunk {
            Chunk::Data(data) => self.on_data(dir, data, cx),
            Chunk::Gap { lost } => {
                self.resync[dir.index()] = true;
                self.segments[dir.index()].clear();
                for p in &mut self.pending {
                    if p.dir != dir {
                        p.gap_after = true;
                    }
                }
                self.plus.gap(dir);
                if lost > 0 {
                    let side = match dir {
                        Direction::ToServer => "client",
                        Direction::ToClient => "server",
                    };
                    let detail = format!(
                        "{lost} byte(s) of the {side} stream were not captured; \
                         S7 requests or answers in them are missing from the evidence"
                    );
                    cx.alert(AlertKind::ReassemblyGap, Severity::Medium, detail);
                }
                0
            }
        }
    }

    fn on_end(&mut self, end: SessionEnd, cx: &mut SessionCx<'_>) {
        let followed = matches!(end, SessionEnd::Fin | SessionEnd::Reset | SessionEnd::Idle);
        for pending in std::mem::take(&mut self.pending) {
            let outcome = if followed && !pending.gap_after {
                Outcome::NoResponse
            } else {
                Outcome::Unknown
            };
            finish(pending.waiting, |_| outcome.clone(), None, cx);
        }
        self.plus.end(followed, cx);
        self.password = None;
    }

    fn resync(&mut self, dir: Direction) {
        self.resync[dir.index()] = true;
    }
}

impl S7Session {
    fn on_data(&mut self, dir: Direction, data: &[u8], cx: &mut SessionCx<'_>) -> usize {
        let mut used = 0;
        while used < data.len() {
            let rest = &data[used..];
            if self.resync[dir.index()] {
                match (0..rest.len()).find(|&i| plausible_tpkt(&rest[i..])) {
                    Some(skip) => {
                        used += skip;
                        self.resync[dir.index()] = false;
                    }
                    None => return used + rest.len().saturating_sub(6),
                }
                continue;
            }
            match frame_tpkt(rest) {
                TpktFraming::Packet { tpdu, consumed } => {
                    self.on_tpdu(dir, tpdu, cx);
                    used += consumed;
                }
                TpktFraming::Incomplete { .. } => return used,
                TpktFraming::Invalid(error) => {
                    cx.stats.malformed += 1;
                    let detail = format!("{error}; skipping to the next plausible TPKT header");
                    cx.alert(AlertKind::MalformedPdu, Severity::Low, detail);
                    self.resync[dir.index()] = true;
                    used += 1;
                }
            }
        }
        used
    }

    fn on_tpdu(&mut self, dir: Direction, tpdu: &[u8], cx: &mut SessionCx<'_>) {
        let cotp = match parse_cotp(tpdu) {
            Ok(cotp) => cotp,
            Err(error) => {
                cx.stats.malformed += 1;
                cx.alert(AlertKind::MalformedPdu, Severity::Low, error.to_string());
                return;
            }
        };
        match cotp {
            Cotp::Data(dt) => {
                let i = dir.index();
                if !dt.eot {
                    if self.segments[i].len() + dt.payload.len() > MAX_TSDU {
                        if !self.dropping[i] {
                            cx.stats.malformed += 1;
                            let detail = format!(
                                "COTP segments exceed {MAX_TSDU} bytes without an end of TSDU; \
                                 the unit is dropped"
                            );
                            cx.alert(AlertKind::MalformedPdu, Severity::Low, detail);
                        }
                        self.dropping[i] = true;
                        self.segments[i].clear();
                    } else if !self.dropping[i] {
                        self.segments[i].extend_from_slice(dt.payload);
                    }
                    return;
                }
                if std::mem::take(&mut self.dropping[i]) {
                    return;
                }
                if self.segments[i].is_empty() {
                    self.on_tsdu(dir, dt.payload, cx);
                } else {
                    let mut whole = std::mem::take(&mut self.segments[i]);
                    whole.extend_from_slice(dt.payload);
                    self.on_tsdu(dir, &whole, cx);
                }
            }
            Cotp::ConnectRequest(cr) => {
                if let Some(tsap) = cr.dst_tsap {
                    self.info.tsap = S7Tsap::from_bytes(tsap);
                    if self.info.tsap.is_none() {
                        self.info.tsap_text = Some(render::text_or_hex(tsap));
                    }
                }
            }
            Cotp::ConnectConfirm(_) | Cotp::DisconnectRequest { .. } | Cotp::Other { .. } => {}
        }
    }

    fn on_tsdu(&mut self, dir: Direction, tsdu: &[u8], cx: &mut SessionCx<'_>) {
        match tsdu.first() {
            Some(&s7comm::PROTOCOL_ID) => match parse_pdu(tsdu) {
                Ok(pdu) => self.on_pdu(dir, &pdu, cx),
                Err(error) => {
                    cx.stats.malformed += 1;
                    cx.alert(AlertKind::MalformedPdu, Severity::Low, error.to_string());
                }
            },
            Some(_) => self.plus.on_tsdu(dir, tsdu, cx),
            None => {}
        }
    }

    fn on_pdu(&mut self, dir: Direction, pdu: &S7Pdu<'_>, cx: &mut SessionCx<'_>) {
        match pdu.rosctr {
            rosctr::JOB => self.job(dir, pdu, cx),
            rosctr::ACK | rosctr::ACK_DATA => {
                cx.stats.responses += 1;
                self.ack(dir, pdu, cx);
            }
            rosctr::USERDATA => self.userdata(dir, pdu, cx),
            _ => {}
        }
    }

    fn push(
        &mut self,
        dir: Direction,
        pdu_ref: u16,
        userdata: bool,
        waiting: Waiting,
        cx: &mut SessionCx<'_>,
    ) {
        // Each write takes the credential in force when it was sent.
        let mut waiting = waiting;
        match &mut waiting {
            Waiting::Items(rows) => rows
                .iter_mut()
                .for_each(|r| r.credential = self.password.clone()),
            Waiting::Row(row) | Waiting::StartUpload(row, _) => {
                row.credential = self.password.clone()
            }
            _ => {}
        }
        if self.pending.len() >= MAX_PENDING {
            if let Some(oldest) = self.pending.pop_front() {
                finish(oldest.waiting, |_| Outcome::Unknown, None, cx);
            }
            if !self.flood_reported {
                self.flood_reported = true;
                let detail = format!(
                    "more than {MAX_PENDING} S7 requests without an answer; the oldest are \
                     closed with outcome unknown"
                );
                cx.alert(AlertKind::RequestFlood, Severity::Medium, detail);
            }
        }
        self.pending.push_back(Pending {
            dir,
            pdu_ref,
            userdata,
            waiting,
            gap_after: false,
        });
    }

    fn take(&mut self, answer_dir: Direction, pdu_ref: u16, userdata: bool) -> Option<Pending> {
        let at = self
            .pending
            .iter()
            .position(|p| p.dir != answer_dir && p.pdu_ref == pdu_ref && p.userdata == userdata)?;
        self.pending.remove(at)
    }

    fn job(&mut self, dir: Direction, pdu: &S7Pdu<'_>, cx: &mut SessionCx<'_>) {
        let Some(function) = pdu.function() else {
            cx.stats.other_requests += 1;
            return;
        };
        let code = u32::from(function);
        let waiting = match function {
            func::WRITE_VAR => Waiting::Items(self.write_var(pdu, cx)),
            func::READ_VAR => {
                cx.stats.reads += 1;
                Waiting::Nothing
            }
            func::SETUP_COMMUNICATION => {
                cx.stats.other_requests += 1;
                self.setup(pdu);
                Waiting::Nothing
            }
            func::PLC_STOP => {
                let value = match parse_plc_stop(pdu.param) {
                    Ok(name) => render::text_or_hex(name),
                    Err(_) => {
                        cx.stats.malformed += 1;
                        "(malformed)".to_owned()
                    }
                };
                let mut row = cx.new_write(Category::Control, "PLC Stop", code, "cpu".into());
                row.value = Some(value);
                Waiting::Row(row)
            }
            func::PI_SERVICE => Waiting::Row(pi_row(pdu, cx)),
            func::REQUEST_DOWNLOAD..=func::END_UPLOAD => {
                let transfer = parse_block_transfer(pdu.param).ok();
                let block = transfer.and_then(|t| t.block());
                let target = match (&block, transfer) {
                    (Some(b), _) => b.clone(),
                    (None, Some(t)) if matches!(function, func::UPLOAD | func::END_UPLOAD) => self
                        .uploads
                        .iter()
                        .find(|(id, _)| *id == t.id)
                        .map_or_else(|| format!("upload id {}", t.id), |(_, b)| b.clone()),
                    (None, Some(t)) => t
                        .filename
                        .map_or_else(|| "block".to_owned(), render::text_or_hex),
                    (None, None) => "block (malformed)".to_owned(),
                };
                let operation = match function {
                    func::REQUEST_DOWNLOAD => "Request Download",
                    func::DOWNLOAD_BLOCK => "Download Block",
                    func::DOWNLOAD_ENDED => "Download Ended",
                    func::START_UPLOAD => "Start Upload",
                    func::UPLOAD => "Upload",
                    _ => "End Upload",
                };
                let mut row = cx.new_write(Category::Program, operation, code, target);
                row.value = transfer.and_then(|t| t.filename).map(render::text_or_hex);
                if function == func::START_UPLOAD {
                    Waiting::StartUpload(row, block)
                } else {
                    Waiting::Row(row)
                }
            }
            _ => {
                cx.stats.other_requests += 1;
                Waiting::Nothing
            }
        };
        if let Waiting::Items(rows) = &waiting {
            if rows.is_empty() {
                return;
            }
        }
        self.push(dir, pdu.pdu_ref, false, waiting, cx);
    }

    fn setup(&mut self, pdu: &S7Pdu<'_>) {
        if let Some(setup) = parse_setup(pdu.param) {
            self.info.pdu_size = Some(setup.pdu_size);
            self.info.max_amq_calling = Some(setup.max_amq_calling);
            self.info.max_amq_called = Some(setup.max_amq_called);
        }
    }

    /// The rows of a Write Var job, one per item.
    fn write_var(&mut self, pdu: &S7Pdu<'_>, cx: &mut SessionCx<'_>) -> Vec<WriteRow> {
        let specs = var_specs(pdu.param);
        let count = usize::from(pdu.param.get(1).copied().unwrap_or(0));
        let mut values = data_items(pdu.data, count);
        let mut rows = Vec::with_capacity(count);
        let mut specs_iter = specs.clone();
        for spec in specs_iter.by_ref() {
            let item = values.next();
            let data = item.map_or(&[][..], |i| i.data);
            let (target, transport) = match spec {
                VarSpec::Any(a) => (render::any_target(&a, data.len()), a.transport_size),
                VarSpec::DbRead { db, start, count } => {
                    let last = u32::from(start) + u32::from(count.max(1)) - 1;
                    (format!("DB{db}.DBB{start}..{last}"), 0x02)
                }
                VarSpec::Other { syntax_id, raw } => (
                    format!("syntax 0x{syntax_id:02x} {}", render::hex_cut(raw)),
                    0x02,
                ),
            };
            let mut row = cx.new_write(
                Category::Write,
                "Write Var",
                u32::from(func::WRITE_VAR),
                target,
            );
            if item.is_some() {
                let (value, numbers) = render::item_value(transport, data);
                row.value = Some(value);
                row.numeric_values = numbers;
            } else {
                row.target.push_str(" (malformed: no value)");
            }
            rows.push(row);
        }
        if specs_iter.truncated() || rows.len() < count {
            cx.stats.malformed += 1;
            let detail = format!(
                "Write Var job (PDU ref {}) announces {count} item(s), {} readable",
                pdu.pdu_ref,
                rows.len()
            );
            cx.alert(AlertKind::MalformedPdu, Severity::Low, detail);
            if rows.is_empty() {
                let mut row = cx.new_write(
                    Category::Write,
                    "Write Var",
                    u32::from(func::WRITE_VAR),
                    "(malformed request)".into(),
                );
                row.value = None;
                rows.push(row);
            }
        }
        rows
    }

    fn ack(&mut self, dir: Direction, pdu: &S7Pdu<'_>, cx: &mut SessionCx<'_>) {
        let Some(pending) = self.take(dir, pdu.pdu_ref, false) else {
            return;
        };
        let header_error = pdu.error_code();
        let ts = cx.at.ts_us;
        match pending.waiting {
            Waiting::Items(rows) => {
                let codes = return_codes(pdu.param, pdu.data);
                for (i, mut row) in rows.into_iter().enumerate() {
                    row.outcome = match (header_error, codes.get(i)) {
                        (Some(e), _) => Outcome::Exception(e.to_string()),
                        (None, Some(&s7comm::RETURN_OK)) => Outcome::Ok,
                        (None, Some(&c)) => Outcome::Exception(c.to_string()),
                        (None, None) => Outcome::Unknown,
                    };
                    row.response_ts_us = Some(ts);
                    cx.emit_write(self.credited(row));
                }
            }
            Waiting::StartUpload(row, block) => {
                if let (None, Some(id), Some(block)) = (header_error, pdu.param.get(4..8), block) {
                    let id = u32::from_be_bytes([id[0], id[1], id[2], id[3]]);
                    if self.uploads.len() >= MAX_UPLOADS {
                        self.uploads.pop_front();
                    }
                    self.uploads.push_back((id, block));
                }
                let outcome = header_outcome(header_error);
                self.emit(row, outcome, ts, cx);
            }
            Waiting::Row(row) => {
                let outcome = header_outcome(header_error);
                self.emit(row, outcome, ts, cx);
            }
            Waiting::Password { .. } | Waiting::Szl | Waiting::Nothing => {}
        }
    }

    fn emit(&self, mut row: WriteRow, outcome: Outcome, ts: i64, cx: &mut SessionCx<'_>) {
        row.outcome = outcome;
        row.response_ts_us = Some(ts);
        cx.emit_write(self.credited(row));
    }

    /// The row as S7comm (a connection recognised from an S7comm-plus unit may still carry
    /// S7comm jobs); its credential was set when the request was sent.
    fn credited(&self, mut row: WriteRow) -> WriteRow {
        row.protocol = Protocol::S7comm;
        row
    }

    fn userdata(&mut self, dir: Direction, pdu: &S7Pdu<'_>, cx: &mut SessionCx<'_>) {
        let ud = match parse_userdata(pdu.param) {
            Ok(ud) => ud,
            Err(error) => {
                cx.stats.malformed += 1;
                cx.alert(AlertKind::MalformedPdu, Severity::Low, error.to_string());
                return;
            }
        };
        match ud.kind {
            Userdata::REQUEST => self.userdata_request(dir, pdu, &ud, cx),
            Userdata::RESPONSE => {
                cx.stats.responses += 1;
                self.userdata_response(dir, pdu, &ud, cx);
            }
            _ => {}
        }
    }

    fn userdata_request(
        &mut self,
        dir: Direction,
        pdu: &S7Pdu<'_>,
        ud: &Userdata,
        cx: &mut SessionCx<'_>,
    ) {
        let code = u32::from(ud.group) << 8 | u32::from(ud.subfunction);
        let item = userdata_item(pdu.data);
        let data = item.map_or(&[][..], |i| i.data);
        let write = |cx: &mut SessionCx<'_>, category, operation, target: &str| {
            let mut row = cx.new_write(category, operation, code, target.to_owned());
            row.value = (!data.is_empty()).then(|| render::hex_cut(data));
            row
        };
        let waiting = match (ud.group, ud.subfunction) {
            (group::TIME, 2 | 4) => {
                let mut row = cx.new_write(Category::Config, "Set Clock", code, "cpu clock".into());
                row.value = Some(match parse_clock(data) {
                    Some(clock) => clock.to_string(),
                    None => render::hex_cut(data),
                });
                Waiting::Row(row)
            }
            (group::PROGRAMMER, sub @ (8 | 9)) => {
                let operation = if sub == 8 { "Modify Variable" } else { "Force" };
                let rows = match s7comm::parse_vartab_write(data) {
                    Some(items) if !items.is_empty() => items
                        .iter()
                        .map(|(address, item)| {
                            let target = render::vartab_target(address);
                            let mut row = cx.new_write(Category::Write, operation, code, target);
                            let transport = if address.area & 0x0f == 0 { 0x01 } else { 0x02 };
                            let (value, numbers) = render::item_value(transport, item.data);
                            row.value = Some(value);
                            row.numeric_values = numbers;
                            row
                        })
                        .collect(),
                    _ => vec![write(cx, Category::Write, operation, "variable table")],
                };
                Waiting::Items(rows)
            }
            (group::PROGRAMMER, 12) => {
                Waiting::Row(write(cx, Category::Control, "Memory Reset", "cpu"))
            }
            (group::NC, 1..=4) => {
                let target = block_of_filename(data).unwrap_or_else(|| "nc program".to_owned());
                let mut row = write(cx, Category::Program, "NC Download", &target);
                row.value = Some(render::text_or_hex(data));
                Waiting::Row(row)
            }
            (group::SECURITY, 1) => {
                cx.stats.other_requests += 1;
                let previous = self.password.take();
                self.password_seen(data, cx);
                Waiting::Password { previous }
            }
            (group::SECURITY, 2) => {
                cx.stats.other_requests += 1;
                self.password = None;
                Waiting::Nothing
            }
            (group::CPU, 1) => {
                cx.stats.reads += 1;
                Waiting::Szl
            }
            _ => {
                cx.stats.other_requests += 1;
                return;
            }
        };
        self.push(dir, pdu.pdu_ref, true, waiting, cx);
    }

    /// A PLC password request: fingerprint, credential row, alert.
    fn password_seen(&mut self, obfuscated: &[u8], cx: &mut SessionCx<'_>) {
        let fingerprint = cx.site_key.map(|key| {
            let plain = decode_password(obfuscated);
            key.fingerprint(&plain)
        });
        let id = fingerprint
            .clone()
            .unwrap_or_else(|| NO_SITE_KEY_ID.to_owned());
        let e = cx.meta.endpoints;
        cx.out.credentials.push(CredentialRow {
            at: cx.at,
            session_id: Some(cx.meta.id),
            protocol: Protocol::S7comm,
            kind: CredentialKind::S7Password,
            id: id.clone(),
            client_ip: Some(e.client_ip),
            subject: None,
            issuer: None,
            not_before_us: None,
            not_after_us: None,
            weak_policy: false,
            plaintext: true,
            secret_fingerprint: fingerprint,
            role: None,
        });
        let listed = format!("{}:{id}", CredentialKind::S7Password);
        cx.stats.add_credential(&listed);
        let detail = format!(
            "S7 PLC password sent by {} to {} with reversible obfuscation, not encryption; \
             the evidence keeps only {}",
            e.client_ip,
            e.server_ip,
            if cx.site_key.is_some() {
                "a keyed fingerprint"
            } else {
                "the fact (no site key, so no fingerprint)"
            }
        );
        cx.alert(AlertKind::PlaintextPassword, Severity::High, detail);
        self.password = Some(Credential {
            kind: CredentialKind::S7Password,
            id,
        });
    }

    fn userdata_response(
        &mut self,
        dir: Direction,
        pdu: &S7Pdu<'_>,
        ud: &Userdata,
        cx: &mut SessionCx<'_>,
    ) {
        let Some(pending) = self.take(dir, pdu.pdu_ref, true) else {
            // Fragments of a long SZL answer and pushes have no pending request.
            if (ud.group, ud.subfunction) == (group::CPU, 1) {
                szl_asset(pdu, cx);
            }
            return;
        };
        let ts = cx.at.ts_us;
        let failed = ud.error != 0 || pdu.error_code().is_some();
        let outcome = if failed {
            Outcome::Exception(ud.error.to_string())
        } else {
            Outcome::Ok
        };
        match pending.waiting {
            Waiting::Row(row) => self.emit(row, outcome, ts, cx),
            Waiting::Password { previous } => {
                // A refused password was never in force.
                if failed {
                    self.password = previous;
                }
            }
            Waiting::Szl => szl_asset(pdu, cx),
            Waiting::Items(rows) => {
                for row in rows {
                    self.emit(row, outcome.clone(), ts, cx);
                }
            }
            Waiting::StartUpload(row, _) => self.emit(row, outcome, ts, cx),
            Waiting::Nothing => {}
        }
    }
}

fn header_outcome(error: Option<u16>) -> Outcome {
    match error {
        Some(e) => Outcome::Exception(e.to_string()),
        None => Outcome::Ok,
    }
}

/// Emits what waits on an answer that never came.
fn finish(
    waiting: Waiting,
    outcome: impl Fn(&WriteRow) -> Outcome,
    ts: Option<i64>,
    cx: &mut SessionCx<'_>,
) {
    let mut emit = |mut row: WriteRow| {
        row.protocol = Protocol::S7comm;
        row.outcome = outcome(&row);
        row.response_ts_us = ts;
        cx.emit_write(row);
    };
    match waiting {
        Waiting::Items(rows) => rows.into_iter().for_each(&mut emit),
        Waiting::Row(row) | Waiting::StartUpload(row, _) => emit(row),
        Waiting::Password { .. } | Waiting::Szl | Waiting::Nothing => {}
    }
}

/// The row of a PI service job.
fn pi_row(pdu: &S7Pdu<'_>, cx: &mut SessionCx<'_>) -> WriteRow {
    let code = u32::from(func::PI_SERVICE);
    let Ok(pi) = parse_pi_service(pdu.param) else {
        cx.stats.malformed += 1;
        return cx.new_write(
            Category::Control,
            "PI Service",
            code,
            "cpu (malformed)".into(),
        );
    };
    let (operation, program) = pi_operation(pi.service, pi.parameter);
    let name = render::text_or_hex(pi.service);
    let blocks = pi_blocks(pi.parameter);
    let (target, value) = if !blocks.is_empty() {
        (blocks.join(","), format!("{name} {}", blocks.join(",")))
    } else if pi.parameter.is_empty() {
        ("cpu".to_owned(), name)
    } else {
        let parameter = render::text_or_hex(pi.parameter);
        ("cpu".to_owned(), format!("{name} \"{parameter}\""))
    };
    let category = if program {
        Category::Program
    } else {
        Category::Control
    };
    let mut row = cx.new_write(category, operation, code, target);
    row.value = Some(value);
    row
}

/// Block arguments of `_INSE` / `_DELE`: a count, a reserved byte, then 8-character names
/// (`0800001P` = OB1).
fn pi_blocks(parameter: &[u8]) -> Vec<String> {
    let Some((&count, rest)) = parameter.split_first() else {
        return Vec::new();
    };
    let names = rest.get(1..).unwrap_or(&[]);
    names
        .chunks_exact(8)
        .take(usize::from(count))
        .filter_map(block_of_filename)
        .collect()
}

/// Module and component identification from a Read SZL answer.
fn szl_asset(pdu: &S7Pdu<'_>, cx: &mut SessionCx<'_>) {
    let Some(item) = userdata_item(pdu.data) else {
        return;
    };
    if item.return_code != s7comm::RETURN_OK {
        return;
    }
    let Some(szl) = parse_szl(item.data) else {
        return;
    };
    let mut asset = AssetRow {
        ip: Some(cx.meta.endpoints.server_ip),
        mac: cx.meta.endpoints.server_mac,
        protocol: Some(Protocol::S7comm),
        role: "server",
        vendor: Some("Siemens".to_owned()),
        first: cx.at,
        last: cx.at,
        ..AssetRow::default()
    };
    let text = |b: &[u8]| {
        let t: String = b
            .iter()
            .take_while(|&&c| c != 0)
            .map(|&c| {
                if (0x20..0x7f).contains(&c) {
                    c as char
                } else {
                    ' '
                }
            })
            .collect();
        let t = t.trim().to_owned();
        (!t.is_empty()).then_some(t)
    };
    let mut names = Vec::new();
    match szl.id & 0x00ff {
        // Module identification: index, order number (20), type, version words.
        0x11 => {
            for r in szl.records() {
                let index = u16::from_be_bytes([r[0], *r.get(1).unwrap_or(&0)]);
                match (index, r.len()) {
                    (1, 28..) => asset.product = asset.product.take().or(text(&r[2..22])),
                    // Basic firmware: 'V' and the three version numbers.
                    (7, 28..) => asset.firmware = Some(format!("V{}.{}.{}", r[25], r[26], r[27])),
                    _ => {}
                }
            }
        }
        // Component identification: index, 32 characters of text.
        0x1c => {
            for r in szl.records() {
                if r.len() < 34 {
                    continue;
                }
                let index = u16::from_be_bytes([r[0], r[1]]);
                let Some(value) = text(&r[2..34]) else {
                    continue;
                };
                match index {
                    1 => names.push(format!("system={value}")),
                    2 => names.push(format!("module={value}")),
                    3 => names.push(format!("plant={value}")),
                    5 => asset.serial = Some(value),
                    7 => names.push(format!("type={value}")),
                    _ => {}
                }
            }
        }
        _ => return,
    }
    if !names.is_empty() {
        asset.name = Some(names.join("; "));
    }
    if asset.product.is_some()
        || asset.firmware.is_some()
        || asset.serial.is_some()
        || asset.name.is_some()
    {
        cx.out.assets.push(asset);
    }
}
