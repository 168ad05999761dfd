//! Modbus/TCP sessions: requests matched to responses, write rows, device identification.
//!
//! The client direction is framed into ADUs; each write-class request (FC 5, 6, 15, 16, 21, 22,
//! 23, and FC 8 restart or listen-only as `control`) becomes a pending write that the response
//! with the same transaction id and unit completes (`ok` or `exception:<code>`). Reads and
//! other requests are only counted. Responses to FC 43/14 describe the server and become asset
//! rows.
//!
//! Bytes that cannot start an ADU are malformed: they are counted and alerted, and the parser
//! scans forward to the next plausible MBAP header, as it does after a reassembly gap. A write
//! request whose PDU is malformed is still a write attempt and is kept as a row (target marked
//! malformed). Pending requests are bounded per session; when a client sends more without
//! reading answers, the oldest are closed as `unknown` and a flood alert is raised. Modbus/TCP
//! over TLS (port 802) is not read here: that is the TLS layer's job.

pub mod recognize;
pub mod render;

use std::collections::VecDeque;

use dissectors::modbus::{
    device_object_name, diag, fc, frame_adu, parse_request, parse_response, plausible_mbap, Adu,
    Framing, FunctionClass, Registers, Request, Response, MBAP_LEN,
};

use crate::evidence::{AlertKind, AssetRow, Category, Outcome, Protocol, SessionEnd, Severity};
use crate::evidence::{FrameRef, WriteRow};
use crate::flow::Direction;
use crate::reassembly::Chunk;
use crate::session::{ProtocolSession, SessionCx};

/// Requests awaiting a response before the oldest is given up.
pub const MAX_PENDING: usize = 1024;

/// One request awaiting its response.
#[derive(Debug)]
struct Pending {
    transaction_id: u16,
    unit_id: u8,
    /// Present for write-class requests: the row completed by the response. Boxed so a read
    /// awaiting its answer costs a few bytes, not a whole row (idle flows hold one each).
    write: Option<Box<WriteRow>>,
    /// The server direction lost bytes after this request was sent.
    gap_after: bool,
}

/// The state of one Modbus/TCP connection.
#[derive(Debug, Default)]
pub struct ModbusSession {
    pending: VecDeque<Pending>,
    /// Per direction: scanning for the next ADU after a gap or malformed bytes.
    resync: [bool; 2],
    flood_reported: bool,
}

impl ProtocolSession for ModbusSession {
    fn on_chunk(&mut self, dir: Direction, chunk: Chunk<'_>, cx: &mut SessionCx<'_>) -> usize {
        match chunk {
            Chunk::Data(data) => self.on_data(dir, data, cx),
            Chunk::Gap { lost } => {
                self.resync[dir.index()] = true;
                if dir == Direction::ToClient {
                    for p in &mut self.pending {
                        p.gap_after = true;
                    }
                }
                if lost > 0 {
                    let side = match dir {
                        Direction::ToServer => "client",
                        Direction::ToClient => "server",
                    };
                    let detail = format!(
                        "{lost} byte(s) of the {side} stream were not captured; \
                         requests or answers in them are missing from the evidence"
                    );
                    cx.alert(AlertKind::ReassemblyGap, Severity::Medium, detail);
                }
                0
            }
        }
    }

    /// The connection ended: pending writes get `no_response` when the server direction was
    /// followed to its end, `unknown` when the capture stopped first or lost the answer.
    fn on_end(&mut self, end: SessionEnd, cx: &mut SessionCx<'_>) {
        for pending in std::mem::take(&mut self.pending) {
            let followed = matches!(end, SessionEnd::Fin | SessionEnd::Reset | SessionEnd::Idle);
            let outcome = if followed && !pending.gap_after {
                Outcome::NoResponse
            } else {
                Outcome::Unknown
            };
            finish(pending, outcome, None, cx);
        }
    }

    fn resync(&mut self, dir: Direction) {
        self.resync[dir.index()] = true;
    }
}

impl ModbusSession {
    fn on_data(&mut self, dir: Direction, data: &[u8], cx: &mut SessionCx<'_>) -> usize {
        let mut used = 0;
        while used < data.len() {
            let rest = &data[used..];
            if self.resync[dir.index()] {
                match resync_offset(rest) {
                    Some(skip) => {
                        used += skip;
                        self.resync[dir.index()] = false;
                    }
                    None => return used + rest.len().saturating_sub(MBAP_LEN - 1),
                }
                continue;
            }
            match frame_adu(rest) {
                Framing::Adu { adu, consumed } => {
                    match dir {
                        Direction::ToServer => self.request(&adu, cx),
                        Direction::ToClient => self.response(&adu, cx),
                    }
                    used += consumed;
                }
                Framing::Incomplete { .. } => return used,
                Framing::Invalid(error) => {
                    cx.stats.malformed += 1;
                    let detail = format!("{error}; skipping to the next plausible MBAP header");
                    cx.alert(AlertKind::MalformedPdu, Severity::Low, detail);
                    self.resync[dir.index()] = true;
                    used += 1;
                }
            }
        }
        used
    }

    fn request(&mut self, adu: &Adu<'_>, cx: &mut SessionCx<'_>) {
        let unit = adu.mbap.unit_id;
        let function = adu.pdu.first().copied().unwrap_or(0);
        let write = match parse_request(adu.pdu) {
            Ok(request) => match request.class() {
                FunctionClass::Write | FunctionClass::Control => {
                    Some(Box::new(write_row(&request, unit, cx)))
                }
                FunctionClass::Read => {
                    cx.stats.reads += 1;
                    None
                }
                FunctionClass::Diagnostic | FunctionClass::Other => {
                    cx.stats.other_requests += 1;
                    None
                }
            },
            Err(error) => {
                cx.stats.malformed += 1;
                cx.alert(
                    AlertKind::MalformedPdu,
                    Severity::Low,
                    format!("{error} (request)"),
                );
                malformed_write(function, unit, adu.pdu, cx).map(Box::new)
            }
        };

        if self.pending.len() >= MAX_PENDING {
            if !self.flood_reported {
                self.flood_reported = true;
                let detail = format!(
                    "client sent more than {MAX_PENDING} requests without answers; the oldest \
                     are closed with outcome unknown"
                );
                cx.alert(AlertKind::RequestFlood, Severity::Medium, detail);
            }
            if let Some(oldest) = self.pending.pop_front() {
                finish(oldest, Outcome::Unknown, None, cx);
            }
        }
        if self.pending.capacity() == 0 {
            // A polling client waits for each answer: room for one request is what most
            // sessions ever need (the default first allocation is four).
            self.pending.reserve_exact(1);
        }
        self.pending.push_back(Pending {
            transaction_id: adu.mbap.transaction_id,
            unit_id: unit,
            write,
            gap_after: false,
        });
    }

    fn response(&mut self, adu: &Adu<'_>, cx: &mut SessionCx<'_>) {
        cx.stats.responses += 1;
        let tid = adu.mbap.transaction_id;
        let unit = adu.mbap.unit_id;
        let index = self
            .pending
            .iter()
            .position(|p| p.transaction_id == tid && p.unit_id == unit)
            .or_else(|| self.pending.iter().position(|p| p.transaction_id == tid));
        let pending = index.and_then(|i| self.pending.remove(i));

        let parsed = parse_response(adu.pdu);
        let outcome = match &parsed {
            Ok(Response::Exception { code, .. }) => Outcome::Exception(code.to_string()),
            Ok(_) => Outcome::Ok,
            Err(error) => {
                cx.stats.malformed += 1;
                cx.alert(
                    AlertKind::MalformedPdu,
                    Severity::Low,
                    format!("{error} (response)"),
                );
                // The function byte alone says whether the device refused; a body that does not
                // follow the specification does not change that.
                match adu.pdu {
                    [f, code, ..] if f & 0x80 != 0 => Outcome::Exception(code.to_string()),
                    [f, ..] if f & 0x80 == 0 => Outcome::Ok,
                    _ => Outcome::Unknown,
                }
            }
        };
        if let Ok(response @ Response::ReadDeviceIdentification { .. }) = &parsed {
            device_identification(response, cx);
        }
        if let Some(pending) = pending {
            finish(pending, outcome, Some(cx.at), cx);
        }
    }
}

/// Emits the pending request's write row, if it has one, with its outcome.
fn finish(pending: Pending, outcome: Outcome, answered: Option<FrameRef>, cx: &mut SessionCx<'_>) {
    if let Some(mut write) = pending.write {
        write.outcome = if pending.gap_after && outcome == Outcome::NoResponse {
            Outcome::Unknown
        } else {
            outcome
        };
        write.response_ts_us = answered.map(|at| at.ts_us);
        cx.emit_write(*write);
    }
}

/// How far to skip to reach the next plausible MBAP header; `None` when none starts in `data`
/// early enough to be checked yet.
fn resync_offset(data: &[u8]) -> Option<usize> {
    (0..data.len().saturating_sub(MBAP_LEN - 1)).find(|&i| plausible_mbap(&data[i..]))
}

/// The write row of a write-class or control request.
fn write_row(request: &Request<'_>, unit: u8, cx: &mut SessionCx<'_>) -> WriteRow {
    use render::{bits, coil, file_records, range_target, registers};

    let registers_of = |bytes: &[u8]| Registers::new(bytes).map(f64::from).collect::<Vec<_>>();
    let mut category = Category::Write;
    let mut operation = request.name();
    let (target, value, numbers) = match *request {
        Request::WriteSingleCoil { address, value } => {
            let numbers = match value {
                0xff00 => vec![1.0],
                0x0000 => vec![0.0],
                _ => Vec::new(),
            };
            (range_target(unit, "coil", address, 1), coil(value), numbers)
        }
        Request::WriteSingleRegister { address, value } => {
            let target = range_target(unit, "holding", address, 1);
            (target, value.to_string(), vec![f64::from(value)])
        }
        Request::WriteMultipleCoils {
            address,
            quantity,
            values,
        } => {
            let numbers = (0..usize::from(quantity))
                .map_while(|i| dissectors::modbus::bit(values, i).map(|b| f64::from(u8::from(b))))
                .collect();
            let target = range_target(unit, "coil", address, quantity);
            (target, bits(values, quantity), numbers)
        }
        Request::WriteMultipleRegisters {
            address,
            quantity,
            values,
        } => {
            let target = range_target(unit, "holding", address, quantity);
            (target, registers(values), registers_of(values))
        }
        Request::ReadWriteMultipleRegisters {
            write_address,
            write_quantity,
            values,
            ..
        } => {
            let target = range_target(unit, "holding", write_address, write_quantity);
            (target, registers(values), registers_of(values))
        }
        Request::MaskWriteRegister {
            address,
            and_mask,
            or_mask,
        } => {
            let value = format!("and=0x{and_mask:04x} or=0x{or_mask:04x}");
            (range_target(unit, "holding", address, 1), value, Vec::new())
        }
        Request::WriteFileRecord { .. } => {
            let (target, value) = file_records(unit, request.records());
            let numbers = request
                .records()
                .flat_map(|r| registers_of(r.data))
                .collect();
            (target, value, numbers)
        }
        Request::Diagnostics { sub_function, data } => {
            category = Category::Control;
            operation = match sub_function {
                diag::RESTART_COMMUNICATIONS_OPTION => "Restart Communications Option",
                diag::FORCE_LISTEN_ONLY_MODE => "Force Listen Only Mode",
                _ => "Diagnostics",
            };
            let value = match data {
                [hi, lo] => format!("0x{:04x}", u16::from_be_bytes([*hi, *lo])),
                other => hex(other),
            };
            (format!("unit {unit} diagnostics"), value, Vec::new())
        }
        _ => (format!("unit {unit}"), String::new(), Vec::new()),
    };
    let function = u32::from(request.function_code());
    let mut row = cx.new_write(category, operation, function, target);
    row.value = Some(value);
    row.numeric_values = numbers;
    row
}

/// A request whose PDU could not be parsed is still counted by its function code, and a
/// write-class one is kept as a write row: the attempt happened even if its body is broken.
/// Its target and value are read leniently from the fixed fields that are present, and the
/// target says `malformed`.
fn malformed_write(function: u8, unit: u8, pdu: &[u8], cx: &mut SessionCx<'_>) -> Option<WriteRow> {
    use render::{coil, range_target};

    match FunctionClass::of(function, None) {
        FunctionClass::Write => {}
        FunctionClass::Read => {
            cx.stats.reads += 1;
            return None;
        }
        _ => {
            cx.stats.other_requests += 1;
            return None;
        }
    }
    let word = |at: usize| Some(u16::from_be_bytes([*pdu.get(at)?, *pdu.get(at + 1)?]));
    let ranged =
        |table: &str, address: Option<u16>, quantity: Option<u16>| match (address, quantity) {
            (Some(a), Some(0)) => format!("unit {unit} {table} {a} (quantity 0, malformed)"),
            (Some(a), Some(q)) => format!("{} (malformed)", range_target(unit, table, a, q)),
            (Some(a), None) => format!("unit {unit} {table} {a} (malformed)"),
            (None, _) => format!("unit {unit} (malformed request)"),
        };
    let (target, value) = match function {
        fc::WRITE_SINGLE_COIL => (ranged("coil", word(1), Some(1)), word(3).map(coil)),
        fc::WRITE_SINGLE_REGISTER => (
            ranged("holding", word(1), Some(1)),
            word(3).map(|v| v.to_string()),
        ),
        fc::WRITE_MULTIPLE_COILS => (ranged("coil", word(1), word(3)), None),
        fc::WRITE_MULTIPLE_REGISTERS => (ranged("holding", word(1), word(3)), None),
        fc::MASK_WRITE_REGISTER => {
            let masks = word(3).zip(word(5));
            let value = masks.map(|(and, or)| format!("and=0x{and:04x} or=0x{or:04x}"));
            (ranged("holding", word(1), Some(1)), value)
        }
        fc::READ_WRITE_MULTIPLE_REGISTERS => (ranged("holding", word(5), word(7)), None),
        _ => (format!("unit {unit} (malformed request)"), None),
    };
    let operation = dissectors::modbus::function_name(function);
    let mut row = cx.new_write(Category::Write, operation, u32::from(function), target);
    row.value = value;
    Some(row)
}

fn hex(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

/// FC 43/14 objects describe the server: vendor, product, revision, names.
fn device_identification(response: &Response<'_>, cx: &mut SessionCx<'_>) {
    let mut asset = AssetRow {
        ip: Some(cx.meta.endpoints.server_ip),
        mac: cx.meta.endpoints.server_mac,
        protocol: Some(Protocol::Modbus),
        role: "server",
        first: cx.at,
        last: cx.at,
        ..AssetRow::default()
    };
    let mut names = Vec::new();
    for object in response.objects() {
        let text = String::from_utf8_lossy(object.value).trim().to_owned();
        if text.is_empty() {
            continue;
        }
        match object.id {
            0x00 => asset.vendor = Some(text),
            0x02 => asset.firmware = Some(text),
            0x04 => asset.product = Some(text),
            id => names.push(format!("{}={text}", device_object_name(id))),
        }
    }
    if !names.is_empty() {
        asset.name = Some(names.join("; "));
    }
    cx.out.assets.push(asset);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every idle Modbus/TCP flow holds one pending read: it must cost a few bytes, not a row.
    #[test]
    fn a_pending_read_is_small() {
        assert!(std::mem::size_of::<Pending>() <= 16);
    }
}
