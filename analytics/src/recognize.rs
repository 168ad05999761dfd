//! Protocol recognition: which protocol session reads a conversation.
//!
//! A conversation is recognised from the first bytes of either direction, reassembled, by
//! content with the server port as a hint. Each protocol has its recogniser; they are asked in
//! turn and the first to claim the bytes wins. Until one does, the engine holds the bytes back
//! (up to [`WINDOW`] per direction) so the chosen session reads them from the start; after
//! [`WINDOW`] bytes without a claim the conversation is unknown and only counted.

use crate::evidence::Protocol;
use crate::modbus::ModbusSession;
use crate::session::ProtocolSession;

/// Bytes of one direction examined before a conversation is declared unknown.
pub const WINDOW: usize = 1024;

/// A recogniser's claim on the bytes of a conversation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hit {
    pub protocol: Protocol,
    /// Where the first whole PDU starts (0 unless the stream was joined mid-way).
    pub offset: usize,
    /// Whether the bytes' sender is the client, when the content says so (used when the
    /// roles were guessed from ports alone).
    pub sender_is_client: Option<bool>,
    /// The protocol is carried inside TLS (Modbus/TCP Security, CIP Security): its session
    /// reads TLS records and hands what is readable to the protocol's session.
    pub tls: bool,
}

/// What the first bytes of a conversation say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recognized {
    Protocol(Hit),
    /// Not recognised yet; wait for more bytes.
    NotYet,
    /// [`WINDOW`] bytes and no known protocol.
    Never,
}

/// A protocol's recogniser: `(server_port, data, start_known)`; `start_known` says whether
/// `data` begins at the stream's first byte (else a PDU boundary is searched for).
type Recogniser = fn(u16, &[u8], bool) -> Option<Hit>;

/// The recognisers, asked in this order. TLS comes first: it claims only TLS records on the
/// TLS ports, which no other recogniser would read correctly.
const RECOGNISERS: &[Recogniser] = &[
    crate::tls::recognize::recognize,
    crate::modbus::recognize::recognize,
    crate::enip::recognize::recognize,
    crate::s7::recognize::recognize,
    crate::opcua::recognize::recognize,
];

/// Examines the first bytes of one direction of a conversation whose server listens on
/// `server_port`.
pub fn recognize(server_port: u16, data: &[u8], start_known: bool) -> Recognized {
    for recogniser in RECOGNISERS {
        if let Some(hit) = recogniser(server_port, data, start_known) {
            return Recognized::Protocol(hit);
        }
    }
    if data.len() >= WINDOW {
        Recognized::Never
    } else {
        Recognized::NotYet
    }
}

/// A new session for what `hit` recognised: the protocol's own, or inside a TLS session.
pub fn session_for(hit: &Hit) -> Box<dyn ProtocolSession> {
    if hit.tls {
        Box::new(crate::tls::TlsSession::new(hit.protocol))
    } else {
        new_session(hit.protocol)
    }
}

/// A new session of `protocol`.
pub fn new_session(protocol: Protocol) -> Box<dyn ProtocolSession> {
    match protocol {
        Protocol::Modbus => Box::<ModbusSession>::default(),
        Protocol::Enip => Box::<crate::enip::EnipSession>::default(),
        Protocol::S7comm | Protocol::S7commPlus => Box::<crate::s7::S7Session>::default(),
        Protocol::Opcua => Box::<crate::opcua::OpcuaSession>::default(),
    }
}
