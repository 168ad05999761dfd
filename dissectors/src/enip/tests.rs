use super::*;

/// A SendRRData request carrying Set_Attribute_Single to class 0x64 inst 1 attr 3.
const SEND_RR_SET: &[u8] = &[
    0x6f, 0x00, 0x1a, 0x00, // command SendRRData, length 26
    0x01, 0x02, 0x03, 0x04, // session handle
    0x00, 0x00, 0x00, 0x00, // status
    1, 2, 3, 4, 5, 6, 7, 8, // sender context
    0x00, 0x00, 0x00, 0x00, // options
    0x00, 0x00, 0x00, 0x00, // interface handle
    0x05, 0x00, // timeout
    0x02, 0x00, // item count
    0x00, 0x00, 0x00, 0x00, // null address item
    0xb2, 0x00, 0x0a, 0x00, // unconnected data item, 10 bytes
    0x10, 0x03, 0x20, 0x64, 0x24, 0x01, 0x30, 0x03, // Set_Attribute_Single, path 3 words
    0x07, 0x00, // attribute value
];

#[test]
fn frames_and_reads_send_rr_data() {
    let Framing::Message { message, consumed } = frame(SEND_RR_SET) else {
        panic!("a whole message");
    };
    assert_eq!(consumed, SEND_RR_SET.len());
    assert_eq!(message.header.command, command::SEND_RR_DATA);
    assert_eq!(message.header.session, 0x0403_0201);
    assert_eq!(message.header.sender_context, [1, 2, 3, 4, 5, 6, 7, 8]);
    assert!(plausible_header(SEND_RR_SET));
    let cpf = Cpf::parse(message.data).unwrap();
    assert_eq!(cpf.items().count(), 2);
    let m = cpf.message().unwrap();
    assert_eq!(m.address, Address::Null);
    assert_eq!(m.sequence, None);
    assert_eq!(m.cip[0], 0x10);
}

#[test]
fn connected_data_has_its_connection_and_sequence() {
    let data = [
        0, 0, 0, 0, 0, 0, 0x02, 0x00, // handle, timeout, 2 items
        0xa1, 0x00, 0x04, 0x00, 0x78, 0x56, 0x34, 0x12, // connected address 0x12345678
        0xb1, 0x00, 0x04, 0x00, 0x07, 0x00, 0x0e, 0x00, // connected data: seq 7, CIP
    ];
    let m = Cpf::parse(&data).unwrap().message().unwrap();
    assert_eq!(
        m.address,
        Address::Connected {
            connection_id: 0x1234_5678
        }
    );
    assert_eq!(m.sequence, Some(7));
    assert_eq!(m.cip, &[0x0e, 0x00]);
}

#[test]
fn incomplete_and_invalid_are_told_apart() {
    assert_eq!(
        frame(&SEND_RR_SET[..10]),
        Framing::Incomplete { needed: 24 }
    );
    assert_eq!(
        frame(&SEND_RR_SET[..30]),
        Framing::Incomplete {
            needed: SEND_RR_SET.len()
        }
    );
    let mut bad = SEND_RR_SET.to_vec();
    bad[20] = 0x01; // options
    assert_eq!(frame(&bad), Framing::Invalid);
    assert!(!plausible_header(&bad));
    let mut legacy = SEND_RR_SET.to_vec();
    legacy[0] = 0x01; // a reserved command is still a message, but no resync point
    assert!(matches!(frame(&legacy), Framing::Message { .. }));
    assert!(!plausible_header(&legacy));
}

#[test]
fn list_identity_item() {
    let mut item = vec![0x01, 0x00]; // encapsulation version
    item.extend_from_slice(&[0, 2, 0xaf, 0x12, 10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]); // sockaddr
    item.extend_from_slice(&[0x01, 0x00, 0x0c, 0x00, 0x36, 0x00, 3, 1, 0x30, 0x00]);
    item.extend_from_slice(&[0x98, 0x1b, 0xf7, 0xac, 4, b'E', b'N', b'B', b'T', 3]);
    let id = parse_identity(&item).unwrap();
    assert_eq!(id.vendor, 1);
    assert_eq!(id.device_type, 12);
    assert_eq!(id.product_code, 0x36);
    assert_eq!(id.revision, (3, 1));
    assert_eq!(id.serial, 0xacf7_1b98);
    assert_eq!(id.product_name, b"ENBT");
}

#[test]
fn no_panic_on_any_truncation() {
    for n in 0..SEND_RR_SET.len() {
        let _ = frame(&SEND_RR_SET[..n]);
        let _ = plausible_header(&SEND_RR_SET[..n]);
        if let Some(cpf) = Cpf::parse(&SEND_RR_SET[24..24 + n.min(26)]) {
            let _ = cpf.message();
        }
        let _ = parse_identity(&SEND_RR_SET[..n]);
    }
}
