//! Everything between a decoded packet and an evidence row: flows, TCP reassembly, protocol
//! recognition, protocol sessions, attribution against the identity map, and the rows
//! themselves.
//!
//! This crate never touches the outside world: it does not know where packets come from (a file
//! or an interface) nor how evidence is stored. The sensor feeds it [`engine::Engine`] packets
//! and drains [`evidence::Evidence`] rows from it.

#![forbid(unsafe_code)]

pub mod attribution;
pub mod delegation;
pub mod engine;
pub mod enip;
pub mod evidence;
pub mod flow;
pub mod identity;
pub mod latency;
pub mod modbus;
pub mod opcua;
pub mod reassembly;
pub mod recognize;
pub mod s7;
pub mod secrets;
pub mod session;
pub mod sweep;
pub mod tls;
