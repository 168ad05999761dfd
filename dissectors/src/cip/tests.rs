use super::cm::*;
use super::logix::*;
use super::path::*;
use super::services::*;
use super::*;

/// Write Tag `Line1_SP` REAL 1 element 72.5.
const WRITE_TAG_REAL: &[u8] = &[
    0x4d, 0x05, // Write Tag, path 5 words
    0x91, 0x08, b'L', b'i', b'n', b'e', b'1', b'_', b'S', b'P', // ANSI symbol, 8 bytes
    0xca, 0x00, 0x01, 0x00, // REAL, 1 element
    0x00, 0x00, 0x91, 0x42, // 72.5
];

#[test]
fn write_tag_request() {
    let req = parse_request(WRITE_TAG_REAL).unwrap();
    assert_eq!(req.service, code::WRITE_TAG);
    let segs: Vec<_> = segments(req.path).collect();
    assert_eq!(segs, vec![Segment::Symbol(b"Line1_SP")]);
    let s = summarize(req.path);
    assert!(s.symbolic && !s.malformed);
    let svc = resolve(req.service, s.class, s.symbolic);
    assert_eq!(svc.name, Some("Write Tag"));
    assert_eq!(svc.effect, Effect::Write);
    let w = parse_write_tag(req.data, false).unwrap();
    assert_eq!((w.data_type, w.elements, w.offset), (0xca, 1, None));
    let v = DataType::from_code(w.data_type)
        .unwrap()
        .decode(w.value)
        .unwrap();
    assert_eq!(v.to_string(), "72.5");
}

#[test]
fn logical_segments_in_every_width_and_odd_symbols() {
    let path = [
        0x21, 0x00, 0x34, 0x12, // class 0x1234 (16-bit, pad)
        0x26, 0x00, 0x78, 0x56, 0x34, 0x12, // instance 0x12345678 (32-bit)
        0x30, 0x05, // attribute 5 (8-bit)
        0x2c, 0x66, // connection point 0x66
        0x91, 0x05, b'L', b'i', b'n', b'e', b'1', 0x00, // "Line1" + pad
        0x28, 0x03, // element 3
        0x29, 0x00, 0x00, 0x01, // member 0x100 (16-bit)
        0x01, 0x01, // port 1, link 1
        0x12, 0x03, b'1', b'.', b'2', 0x00, // port 2, extended link "1.2" + pad
        0x80, 0x01, 0xaa, 0xbb, // simple data segment, 1 word
    ];
    let segs: Vec<_> = segments(&path).collect();
    assert_eq!(
        segs,
        vec![
            Segment::Class(0x1234),
            Segment::Instance(0x1234_5678),
            Segment::Attribute(5),
            Segment::ConnectionPoint(0x66),
            Segment::Symbol(b"Line1"),
            Segment::Member(3),
            Segment::Member(0x100),
            Segment::Port {
                port: 1,
                link: &[1]
            },
            Segment::Port {
                port: 2,
                link: b"1.2"
            },
            Segment::Data(&[0xaa, 0xbb]),
        ]
    );
    let s = summarize(&path);
    assert_eq!(s.class, Some(0x1234));
    assert!(!s.malformed);
    // A 32-bit logical segment cut short stops the walk and says so.
    let mut it = segments(&path[..8]);
    assert_eq!(it.next(), Some(Segment::Class(0x1234)));
    assert_eq!(it.next(), None);
    assert!(it.malformed);
}

#[test]
fn class_specific_codes_resolve_by_class_or_stay_raw() {
    assert_eq!(resolve(0x4e, Some(6), false).name, Some("Forward_Close"));
    assert_eq!(
        resolve(0x4e, None, true).name,
        Some("Read-Modify-Write Tag")
    );
    assert_eq!(resolve(0x52, Some(6), false).effect, Effect::Container);
    assert_eq!(
        resolve(0x52, Some(0x6b), false).name,
        Some("Read Tag Fragmented")
    );
    assert_eq!(resolve(0x4d, Some(0xa1), false).effect, Effect::Program);
    assert_eq!(resolve(0x4b, Some(0x67), false).effect, Effect::Pccc);
    let unknown = resolve(0x4d, Some(0x8e), false);
    assert_eq!((unknown.name, unknown.effect), (None, Effect::Other));
    assert_eq!(resolve(0x10, Some(1), false).effect, Effect::Write);
    assert_eq!(resolve(0x07, Some(0x8e), false).effect, Effect::Control);
}

#[test]
fn replies_with_additional_status() {
    let reply = [0xcd, 0x00, 0x05, 0x01, 0x00, 0x00];
    let r = parse_response(&reply).unwrap();
    assert_eq!((r.service, r.general_status), (0x4d, 5));
    assert_eq!(r.additional_status, &[0, 0]);
    assert!(parse_request(&reply).is_err());
    assert!(parse_response(WRITE_TAG_REAL).is_err());
}

/// Large Forward Open with originator 0x1009:0xacf71b98.
const LARGE_FORWARD_OPEN: &[u8] = &[
    0x5b, 0x02, 0x20, 0x06, 0x24, 0x01, // Large Forward Open to class 6 inst 1
    0x0a, 0x0e, // priority/tick, timeout ticks
    0x00, 0x00, 0x00, 0x00, // O->T connection id (target chooses)
    0x11, 0x22, 0x33, 0x44, // T->O connection id
    0x27, 0x04, // connection serial 0x0427
    0x09, 0x10, // vendor 0x1009
    0x98, 0x1b, 0xf7, 0xac, // originator serial
    0x03, 0x00, 0x00, 0x00, // timeout multiplier, reserved
    0x40, 0x42, 0x0f, 0x00, 0xf8, 0x0f, 0x00, 0x42, // O->T RPI 1 s, params (32-bit)
    0x40, 0x42, 0x0f, 0x00, 0xf8, 0x0f, 0x00, 0x42, // T->O RPI, params
    0xa3, // transport class 3
    0x03, 0x01, 0x00, 0x20, 0x02, 0x24, 0x01, // path 3 words: port 1 slot 0, MR
];

#[test]
fn large_forward_open_request() {
    let req = parse_request(LARGE_FORWARD_OPEN).unwrap();
    let s = summarize(req.path);
    assert_eq!(
        resolve(req.service, s.class, false).name,
        Some("Large_Forward_Open")
    );
    let fo = parse_forward_open(req.data, true).unwrap();
    assert_eq!(fo.vendor, 0x1009);
    assert_eq!(fo.originator_serial, 0xacf7_1b98);
    assert_eq!(fo.connection_serial, 0x0427);
    assert_eq!(fo.o_t_rpi, 1_000_000);
    assert_eq!(fo.transport, 0xa3);
    assert_eq!(segments(fo.path).count(), 3);
    // The same bytes read as a small Forward Open end elsewhere; never a panic.
    let _ = parse_forward_open(req.data, false);
    for n in 0..req.data.len() {
        assert!(parse_forward_open(&req.data[..n], true).is_none());
    }
}

#[test]
fn forward_open_reply_and_close() {
    let reply = [
        0x01, 0x00, 0x00, 0x80, 0x11, 0x22, 0x33, 0x44, // O->T, T->O ids
        0x27, 0x04, 0x09, 0x10, 0x98, 0x1b, 0xf7, 0xac, // triad
        0x40, 0x42, 0x0f, 0x00, 0x40, 0x42, 0x0f, 0x00, 0x00, 0x00, // APIs, no app reply
    ];
    let r = parse_forward_open_reply(&reply).unwrap();
    assert_eq!(r.o_t_connection_id, 0x8000_0001);
    assert_eq!(r.originator_serial, 0xacf7_1b98);
    let close = [
        0x0a, 0x0e, 0x27, 0x04, 0x09, 0x10, 0x98, 0x1b, 0xf7, 0xac, 0x01, 0x00, 0x20, 0x02,
    ];
    let c = parse_forward_close(&close).unwrap();
    assert_eq!((c.connection_serial, c.vendor), (0x0427, 0x1009));
    assert_eq!(c.path, &[0x20, 0x02]);
}

#[test]
fn unconnected_send_with_route() {
    let data = [
        0x0a, 0x0e, 0x06, 0x00, // priority, ticks, message size 6
        0x0e, 0x02, 0x20, 0x01, 0x24, 0x01, // Get_Attribute_Single Identity 1
        0x01, 0x00, 0x01, 0x00, // route 1 word: port 1 slot 0
    ];
    let us = parse_unconnected_send(&data).unwrap();
    assert_eq!(us.message.len(), 6);
    assert_eq!(us.route, &[0x01, 0x00]);
    assert_eq!(parse_request(us.message).unwrap().service, 0x0e);
}

#[test]
fn multiple_service_packet_offsets() {
    let data = [
        0x02, 0x00, 0x06, 0x00, 0x0a, 0x00, // 2 services at offsets 6 and 10
        0x0e, 0x01, 0x20, 0x01, // Get_Attribute_Single class 1
        0x10, 0x01, 0x20, 0x01, 0x07, // Set_Attribute_Single class 1, data 07
    ];
    let m = parse_multiple(&data).unwrap();
    assert_eq!(m.get(0), Some(&[0x0e, 0x01, 0x20, 0x01][..]));
    assert_eq!(m.get(1), Some(&[0x10, 0x01, 0x20, 0x01, 0x07][..]));
    assert_eq!(m.get(2), None);
    let bad = [0x02, 0x00, 0x40, 0x00, 0x01, 0x00];
    let m = parse_multiple(&bad).unwrap();
    assert_eq!(m.get(0), None, "offset past the end");
    assert_eq!(m.get(1), None, "offset inside the table");
}

#[test]
fn values_by_data_type() {
    let v = |t: u16, b: &[u8]| {
        DataType::from_code(t)
            .unwrap()
            .decode(b)
            .unwrap()
            .to_string()
    };
    assert_eq!(v(0xca, &95.0f32.to_le_bytes()), "95.0");
    assert_eq!(v(0xca, &70.25f32.to_le_bytes()), "70.25");
    assert_eq!(v(0xc4, &(-5i32).to_le_bytes()), "-5");
    assert_eq!(v(0xc3, &[0xff, 0xff]), "-1");
    assert_eq!(v(0xc7, &[0xff, 0xff]), "65535");
    assert_eq!(v(0xc1, &[1]), "1");
    assert_eq!(v(0xcb, &0.1f64.to_le_bytes()), "0.1");
    let rmw = [0x02, 0x00, 0x01, 0x00, 0xfe, 0xff];
    let m = parse_read_modify_write(&rmw).unwrap();
    assert_eq!((m.or_mask, m.and_mask), (&[1, 0][..], &[0xfe, 0xff][..]));
    let frag = [
        0xc3, 0x00, 0xe8, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x00,
    ];
    let w = parse_write_tag(&frag, true).unwrap();
    assert_eq!((w.elements, w.offset, w.value.len()), (1000, Some(0), 4));
}

#[test]
fn no_panic_on_truncations_or_garbage() {
    let all = [WRITE_TAG_REAL, LARGE_FORWARD_OPEN];
    for bytes in all {
        for n in 0..=bytes.len() {
            let b = &bytes[..n];
            let _ = parse_request(b);
            let _ = parse_response(b);
            let _ = summarize(b);
            let _ = parse_write_tag(b, true);
            let _ = parse_unconnected_send(b);
            let _ = parse_multiple(b).map(|m| m.get(0));
            let _ = parse_forward_open_reply(b);
        }
    }
    for first in 0..=255u8 {
        let b = [first, 0xff, 0xff, 0xff, 0xff, 0xff];
        let _ = summarize(&b);
        let _ = summarize(&b[..1]);
    }
}

#[test]
fn pccc_typed_logical_write() {
    use super::pccc::*;
    let data = [
        0x07, 0x4d, 0x00, 0xe0, 0x31, 0x2b, 0x3d, // requester id: vendor 0x4d, serial
        0x0f, 0x00, 0x34, 0x12, 0xaa, // CMD 0x0F, STS, TNS 0x1234, FNC 0xAA
        0x04, 0x07, 0x89, 0x00, 0x00, // 4 bytes, file 7, type N, element 0, sub 0
        0x05, 0x00, 0xfe, 0xff, // 5, -2
    ];
    let c = parse_execute_pccc(&data).unwrap();
    assert_eq!(
        (c.requester_vendor, c.requester_serial),
        (0x4d, 0x3d2b_31e0)
    );
    assert_eq!((c.cmd, c.fnc, c.tns), (0x0f, Some(0xaa), 0x1234));
    assert!(command_name(c.cmd, c.fnc).is_some());
    let Some(Action::LogicalWrite {
        address,
        size,
        data: value,
        ..
    }) = action(&c)
    else {
        panic!("a logical write");
    };
    assert_eq!(
        (address.file, address.file_type, address.element),
        (7, 0x89, 0)
    );
    assert_eq!((size, value.len()), (4, 4));
    assert_eq!(file_type_letter(address.file_type), Some("N"));
    // A read (FNC 0xA2) is no write; a cut request never panics.
    let read = [
        0x07, 0x4d, 0, 0, 0, 0, 0, 0x0f, 0, 1, 0, 0xa2, 2, 7, 0x89, 0, 0,
    ];
    let c = parse_execute_pccc(&read).unwrap();
    assert_eq!(action(&c), Some(Action::Other));
    assert_eq!(command_name(c.cmd, c.fnc), None);
    for n in 0..data.len() {
        if let Some(c) = parse_execute_pccc(&data[..n]) {
            let _ = action(&c);
        }
    }
}

/// Pseudo-random inputs through every parser of this module and of `enip`: no panic.
#[test]
fn random_bytes_never_panic() {
    let mut seed = 0x9e37_79b9u32;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        seed
    };
    for round in 0..4000 {
        let len = (next() % 96) as usize;
        let mut bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        // Bias some inputs towards valid shapes so deeper parsers are reached.
        if round % 3 == 0 && bytes.len() > 2 {
            bytes[1] = (bytes.len() as u8 / 4).min(bytes[1]);
        }
        let _ = parse_request(&bytes);
        let _ = parse_response(&bytes);
        let _ = summarize(&bytes);
        for _ in segments(&bytes) {}
        let _ = parse_forward_open(&bytes, round % 2 == 0);
        let _ = parse_forward_open_reply(&bytes);
        let _ = parse_forward_close(&bytes);
        let _ = parse_unconnected_send(&bytes);
        if let Some(m) = parse_multiple(&bytes) {
            for i in 0..m.count.min(8) {
                let _ = m.get(i);
            }
        }
        let _ = parse_write_tag(&bytes, round % 2 == 0);
        let _ = parse_read_modify_write(&bytes);
        if let Some(c) = super::pccc::parse_execute_pccc(&bytes) {
            let _ = super::pccc::action(&c);
        }
        let _ = crate::enip::frame(&bytes);
        let _ = crate::enip::plausible_header(&bytes);
        let _ = crate::enip::parse_identity(&bytes);
        if let Some(cpf) = crate::enip::Cpf::parse(&bytes) {
            let _ = cpf.message();
            for _ in cpf.items() {}
        }
        for code in [0xc1u16, 0xc3, 0xc4, 0xca, 0xcb, 0xd3] {
            if let Some(t) = DataType::from_code(code) {
                for c in bytes.chunks(t.size()) {
                    let _ = t.decode(c).map(|v| v.to_string());
                }
            }
        }
    }
}
