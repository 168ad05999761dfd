//! Addresses and ids rendered straight into a text column, without a `String` per value.
//!
//! A `writes` row carries two IP addresses, two MACs and a session id; rendering each through
//! `to_string()` allocated five strings per row and was the largest cost of building the
//! columns. The spellings are exactly those of the standard formatting they replace
//! (`Ipv4Addr`'s dotted decimal, `mac_text`'s lower-case colon form, `SessionId::text`'s 16 hex
//! digits), which the tests below check value by value. IPv6 addresses, rare in OT traffic, still
//! go through `Display`, written into the column's buffer rather than a fresh string.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};

use analytics::evidence::{Outcome, SessionId};
use arrow_array::builder::StringBuilder;

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Appends `ip` as `IpAddr`'s `Display` spells it.
pub fn push_ip(column: &mut StringBuilder, ip: IpAddr) {
    match ip {
        IpAddr::V4(v4) => {
            let mut buffer = [0u8; 15];
            let len = ipv4(&mut buffer, v4);
            column.append_value(ascii(&buffer[..len]));
        }
        IpAddr::V6(v6) => {
            // Writing into the builder cannot fail; the value is closed by the empty append.
            let _ = write!(column, "{v6}");
            column.append_value("");
        }
    }
}

/// Appends `ip`, or a null.
pub fn push_ip_option(column: &mut StringBuilder, ip: Option<IpAddr>) {
    match ip {
        Some(ip) => push_ip(column, ip),
        None => column.append_null(),
    }
}

/// Appends `mac` as `aa:bb:cc:dd:ee:ff`, or a null.
pub fn push_mac(column: &mut StringBuilder, mac: Option<[u8; 6]>) {
    let Some(mac) = mac else {
        column.append_null();
        return;
    };

    let mut buffer = [b':'; 17];
    for (i, byte) in mac.iter().enumerate() {
        buffer[i * 3] = HEX[usize::from(byte >> 4)];
        buffer[i * 3 + 1] = HEX[usize::from(byte & 0x0f)];
    }
    column.append_value(ascii(&buffer));
}

/// Appends a session id as its 16 lower-case hex digits.
pub fn push_session(column: &mut StringBuilder, id: SessionId) {
    let mut buffer = [0u8; 16];
    let mut value = id.0;
    for digit in buffer.iter_mut().rev() {
        *digit = HEX[(value & 0x0f) as usize];
        value >>= 4;
    }
    column.append_value(ascii(&buffer));
}

/// Appends a session id, or a null.
pub fn push_session_option(column: &mut StringBuilder, id: Option<SessionId>) {
    match id {
        Some(id) => push_session(column, id),
        None => column.append_null(),
    }
}

/// Appends a write's outcome as `Outcome::text` spells it.
pub fn push_outcome(column: &mut StringBuilder, outcome: &Outcome) {
    match outcome {
        Outcome::Ok => column.append_value("ok"),
        Outcome::Exception(code) => {
            let _ = column.write_str("exception:");
            column.append_value(code);
        }
        Outcome::NoResponse => column.append_value("no_response"),
        Outcome::Unknown => column.append_value("unknown"),
    }
}

/// Writes `ip` in dotted decimal into `buffer`; returns the length used (7 to 15).
fn ipv4(buffer: &mut [u8; 15], ip: Ipv4Addr) -> usize {
    let mut len = 0;
    for (i, octet) in ip.octets().into_iter().enumerate() {
        if i > 0 {
            buffer[len] = b'.';
            len += 1;
        }
        if octet >= 100 {
            buffer[len] = b'0' + octet / 100;
            len += 1;
        }
        if octet >= 10 {
            buffer[len] = b'0' + octet / 10 % 10;
            len += 1;
        }
        buffer[len] = b'0' + octet % 10;
        len += 1;
    }
    len
}

/// The buffers above hold only ASCII digits, hex letters, dots and colons.
fn ascii(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use analytics::evidence::mac_text;
    use arrow_array::Array;

    fn column(fill: impl FnOnce(&mut StringBuilder)) -> Vec<Option<String>> {
        let mut builder = StringBuilder::new();
        fill(&mut builder);
        let array = builder.finish();
        (0..array.len())
            .map(|i| (!array.is_null(i)).then(|| array.value(i).to_owned()))
            .collect()
    }

    #[test]
    fn ipv4_matches_display_for_every_octet_value() {
        let ips: Vec<IpAddr> = (0..=255u8)
            .map(|o| IpAddr::V4(Ipv4Addr::new(o, 255 - o, o / 3, o.wrapping_mul(7))))
            .chain([
                IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                IpAddr::V4(Ipv4Addr::BROADCAST),
            ])
            .collect();

        let rendered = column(|c| ips.iter().for_each(|&ip| push_ip(c, ip)));

        let expected: Vec<Option<String>> = ips.iter().map(|ip| Some(ip.to_string())).collect();
        assert_eq!(rendered, expected);
    }

    #[test]
    fn ipv6_and_nulls_match_display() {
        let v6: IpAddr = "fe80::1:2ff:fe00:4".parse().unwrap();
        let mapped: IpAddr = "::ffff:10.1.2.3".parse().unwrap();

        let rendered = column(|c| {
            push_ip(c, v6);
            push_ip_option(c, None);
            push_ip_option(c, Some(mapped));
        });

        assert_eq!(
            rendered,
            vec![Some(v6.to_string()), None, Some(mapped.to_string())]
        );
    }

    #[test]
    fn macs_and_session_ids_match_their_text_functions() {
        let macs = [[0u8; 6], [0xff; 6], [0x02, 0x00, 0x0a, 0xc8, 0x04, 0x66]];
        let ids = [0u64, 1, 0xdead_beef, u64::MAX, 0x0123_4567_89ab_cdef];

        let rendered = column(|c| {
            macs.iter().for_each(|&m| push_mac(c, Some(m)));
            push_mac(c, None);
            ids.iter().for_each(|&id| push_session(c, SessionId(id)));
            push_session_option(c, None);
        });

        let mut expected: Vec<Option<String>> = macs.iter().map(|m| Some(mac_text(m))).collect();
        expected.push(None);
        expected.extend(ids.iter().map(|&id| Some(SessionId(id).text())));
        expected.push(None);
        assert_eq!(rendered, expected);
    }

    #[test]
    fn outcomes_match_their_text() {
        let outcomes = [
            Outcome::Ok,
            Outcome::Exception("0x02".to_owned()),
            Outcome::NoResponse,
            Outcome::Unknown,
            Outcome::Exception("BadNodeIdUnknown".to_owned()),
        ];

        let rendered = column(|c| outcomes.iter().for_each(|o| push_outcome(c, o)));

        let expected: Vec<Option<String>> = outcomes.iter().map(|o| Some(o.text())).collect();
        assert_eq!(rendered, expected);
    }
}
