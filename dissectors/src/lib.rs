//! Zero-copy parsers for the layers OT Witness reads: link, network and transport headers
//! ([`link`]) and the industrial application protocols ([`modbus`], …).
//!
//! Every parser here works on a borrowed byte slice and returns views or small owned values; none
//! performs I/O, keeps state across calls, or knows about flows, files or evidence. Session state
//! (request/response matching, credentials) lives in the `analytics` crate.
//!
//! Parsers never panic on any input: a short input is reported as incomplete (so a stream
//! reassembler can wait for more bytes) and bytes that can never form a valid unit are reported
//! as malformed, with the field and offset that was wrong.

#![forbid(unsafe_code)]

pub mod cip;
pub mod enip;
pub mod link;
pub mod modbus;
pub mod opcua;
pub mod s7comm;
pub mod s7plus;
pub mod tls;
pub mod tpkt;
