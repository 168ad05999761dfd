//! OPC UA binary (OPC 10000-6 "UA TCP" and "UA Secure Conversation", OPC 10000-4 services).
//!
//! The pipeline calls, in order:
//!
//! 1. [`transport::frame_message`] on a reassembled TCP direction: one chunk, or "wait", or
//!    proof the bytes are not a chunk ([`transport::plausible_header`] finds the next chunk
//!    after a gap and recognises OPC UA off its port);
//! 2. [`transport::secure_chunk`] and [`transport::sequence_header`] on OPN, MSG and CLO
//!    chunks; the caller joins the bodies of `C` chunks with their `F` chunk per request id;
//! 3. [`services::type_id`] on a whole message body, then the service readers of
//!    [`services`] on top of the built-in types of [`binary`].
//!
//! Contract: pure functions of `&[u8]`, no panic on any input, bounded arrays and nesting
//! (see [`binary::MAX_DEPTH`], [`binary::MAX_ARRAY_LEN`], [`transport::MAX_CHUNK_LEN`]). Not
//! done here: joining chunks, deciding whether a chunk is encrypted, matching responses to
//! requests (all in `analytics::opcua`); no cryptography (signatures are not checked, cipher
//! text is not decrypted).

pub mod binary;
pub mod services;
pub mod transport;

#[cfg(test)]
mod tests;
