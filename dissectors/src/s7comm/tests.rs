//! Byte fixtures per function, annotated field by field.

use super::*;

// Job, Write Var, one item DB1.DBW4 = 1234 (python-snap7 client, fixtures-pcap s7comm-basic).
const WRITE_VAR_JOB: &[u8] = &[
    0x32, 0x01, 0x00, 0x00, 0x00, 0x01, // id, Job, reserved, PDU ref 1
    0x00, 0x0e, 0x00, 0x06, // param 14, data 6
    0x05, 0x01, // Write Var, 1 item
    0x12, 0x0a, 0x10, // var spec, length 10, S7ANY
    0x02, 0x00, 0x02, 0x00, 0x01, 0x84, 0x00, 0x00, 0x20, // BYTE x2, DB1, area DB, bit 32
    0x00, 0x04, 0x00, 0x10, 0x04, 0xd2, // rc 0, size BYTE/WORD, 16 bits, 0x04d2
];

// Ack_Data of a two-item Write Var: first ok, second 0x0a (object does not exist).
const WRITE_VAR_ACK: &[u8] = &[
    0x32, 0x03, 0x00, 0x00, 0x00, 0x01, 0x00, 0x02, 0x00, 0x02, 0x00, 0x00, // header
    0x05, 0x02, // Write Var, 2 items
    0xff, 0x0a, // return codes
];

#[test]
fn write_var_job_items_and_values() {
    let pdu = parse_pdu(WRITE_VAR_JOB).unwrap();
    assert_eq!((pdu.rosctr, pdu.pdu_ref), (rosctr::JOB, 1));
    assert_eq!(pdu.function(), Some(func::WRITE_VAR));
    let specs: Vec<_> = var_specs(pdu.param).collect();
    assert_eq!(
        specs,
        vec![VarSpec::Any(AnyAddress {
            transport_size: 2,
            count: 2,
            db: 1,
            area: 0x84,
            address: 32,
        })]
    );
    let items: Vec<_> = data_items(pdu.data, 1).collect();
    assert_eq!(items[0].data, &[0x04, 0xd2]);
}

#[test]
fn write_var_ack_return_codes() {
    let pdu = parse_pdu(WRITE_VAR_ACK).unwrap();
    assert_eq!(pdu.error_code(), None);
    assert_eq!(return_codes(pdu.param, pdu.data), &[0xff, 0x0a]);
}

#[test]
fn odd_values_are_padded_between_items() {
    // Two items: a BIT (1 byte + fill) and a byte.
    let data = [
        0x00, 0x03, 0x00, 0x01, 0x01, 0x00, 0x00, 0x04, 0x00, 0x08, 0x0f,
    ];
    let items: Vec<_> = data_items(&data, 2).collect();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0].data, &[1]);
    assert_eq!(items[1].data, &[0x0f]);
}

#[test]
fn pi_service_and_stop() {
    // PI: 7 reserved bytes, parameter block "C " (2), service "P_PROGRAM".
    let mut pi = vec![0x28, 0, 0, 0, 0, 0, 0, 0xfd, 0x00, 0x02, b'C', b' ', 9];
    pi.extend_from_slice(b"P_PROGRAM");
    let s = parse_pi_service(&pi).unwrap();
    assert_eq!((s.service, s.parameter), (&b"P_PROGRAM"[..], &b"C "[..]));
    assert_eq!(pi_operation(s.service, s.parameter).0, "PLC Cold Start");
    let mut stop = vec![0x29, 0, 0, 0, 0, 0, 9];
    stop.extend_from_slice(b"P_PROGRAM");
    assert_eq!(parse_plc_stop(&stop).unwrap(), b"P_PROGRAM");
    for n in 0..pi.len() {
        let _ = parse_pi_service(&pi[..n]);
        let _ = parse_plc_stop(&stop[..n.min(stop.len())]);
    }
}

#[test]
fn block_transfer_names_the_block() {
    // Start upload of OB1: function, status, 2 bytes, id 0, filename length 9.
    let mut p = vec![0x1d, 0x00, 0x00, 0x00, 0, 0, 0, 0, 9];
    p.extend_from_slice(b"_0800001P");
    assert_eq!(
        parse_block_transfer(&p).unwrap().block().as_deref(),
        Some("OB1")
    );
    assert_eq!(block_of_filename(b"_0A00005P").as_deref(), Some("DB5"));
    assert_eq!(block_of_filename(b"_0Z00005P"), None);
}

#[test]
fn password_obfuscation_round_trip() {
    // "s3cret" padded with spaces, obfuscated as the S7 client does.
    let plain = b"s3cret  ";
    let mut enc = [0u8; 8];
    for i in 0..8 {
        enc[i] = plain[i] ^ 0x55 ^ if i >= 2 { enc[i - 2] } else { 0 };
    }
    assert_eq!(decode_password(&enc), b"s3cret");
}

#[test]
fn clock_is_bcd() {
    // libsnap7's set clock (fixtures-pcap s7comm-basic frame 67): 0x19 in the second byte.
    let data = [0x00, 0x19, 0x26, 0x12, 0x03, 0x19, 0x30, 0x00, 0x25, 0x05];
    let clock = parse_clock(&data).unwrap();
    assert_eq!(clock.to_string(), "2026-12-03T19:30:00.250");
    assert_eq!(parse_clock(&[0x00, 0x19, 0xaa, 0, 0, 0, 0, 0, 0, 0]), None);
}

#[test]
fn userdata_head() {
    let param = [0x00, 0x01, 0x12, 0x04, 0x11, 0x45, 0x01, 0x00];
    let ud = parse_userdata(&param).unwrap();
    assert_eq!(
        (ud.kind, ud.group, ud.subfunction),
        (Userdata::REQUEST, 5, 1)
    );
    assert!(parse_userdata(&param[..5]).is_err());
}

#[test]
fn every_prefix_parses_or_fails_cleanly() {
    for fixture in [WRITE_VAR_JOB, WRITE_VAR_ACK] {
        for n in 0..fixture.len() {
            if let Ok(pdu) = parse_pdu(&fixture[..n]) {
                let _ = var_specs(pdu.param).count();
                let _ = data_items(pdu.data, 255).count();
            }
            let _ = var_specs(&fixture[n..]).count();
            let _ = data_items(&fixture[n..], 255).count();
            let _ = parse_userdata(&fixture[n..]);
            let _ = parse_szl(&fixture[n..]);
            let _ = parse_block_transfer(&fixture[n..]);
            let _ = decode_password(&fixture[n..]);
        }
    }
    assert!(matches!(
        parse_pdu(&[0x72, 1]),
        Err(S7Error::ProtocolId { .. })
    ));
}

#[test]
fn vartab_modify_items() {
    // STEP 7 variable table, modify MD0, MW4, I8.1 (shared capture
    // s7-step7-vartab-modify-variable.pcapng): TIS sizes 20 / 40, 20 parameter bytes, 3 items.
    let mut data = vec![0x00, 0x14, 0x00, 0x28];
    data.extend_from_slice(&[0, 0, 0, 1, 0, 1, 0, 6, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 2, 0]);
    data.extend_from_slice(&[0x00, 0x03]);
    data.extend_from_slice(&[0x03, 0x01, 0x00, 0x00, 0x00, 0x00]); // MD0
    data.extend_from_slice(&[0x02, 0x01, 0x00, 0x00, 0x00, 0x04]); // MW4
    data.extend_from_slice(&[0x10, 0x01, 0x00, 0x00, 0x00, 0x08]); // I8.1
    data.extend_from_slice(&[0x00, 0x09, 0x00, 0x04, 0x41, 0x33, 0x85, 0x1f]);
    data.extend_from_slice(&[0x00, 0x09, 0x00, 0x02, 0xde, 0xad]);
    data.extend_from_slice(&[0x00, 0x09, 0x00, 0x01, 0x01, 0x00]);
    let items = parse_vartab_write(&data).unwrap();
    assert_eq!(items.len(), 3);
    assert_eq!(items[2].0.area, 0x10);
    assert_eq!((items[2].0.bit_or_count, items[2].0.start), (1, 8));
    assert_eq!(items[1].1.data, &[0xde, 0xad]);
    for n in 0..data.len() {
        let _ = parse_vartab_write(&data[..n]);
    }
}

#[test]
fn random_bytes_never_panic() {
    let mut seed: u64 = 0x5eed;
    let mut next = || {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (seed >> 33) as u8
    };
    for round in 0..5000 {
        let len = usize::from(next()) % 96;
        let mut bytes: Vec<u8> = (0..len).map(|_| next()).collect();
        // Often start like a real PDU so the deeper parsers run.
        if round % 2 == 0 && !bytes.is_empty() {
            bytes[0] = PROTOCOL_ID;
        }
        if let Ok(pdu) = parse_pdu(&bytes) {
            let _ = var_specs(pdu.param).count();
            let _ = data_items(pdu.data, 300).count();
            let _ = return_codes(pdu.param, pdu.data);
            let _ = parse_pi_service(pdu.param);
            let _ = parse_plc_stop(pdu.param);
            let _ = parse_block_transfer(pdu.param).map(|t| t.block());
            let _ = parse_userdata(pdu.param);
            let _ = userdata_item(pdu.data).map(|i| (parse_szl(i.data), parse_clock(i.data)));
            let _ = parse_vartab_write(pdu.data);
        }
        let _ = parse_szl(&bytes).map(|s| s.records().count());
        let _ = crate::tpkt::frame_tpkt(&bytes);
        let _ = crate::tpkt::parse_cotp(&bytes);
        let _ = crate::s7plus::parse_frame(&bytes);
        let _ = crate::s7plus::set_address(crate::s7plus::function::SET_VARIABLE, &bytes);
        let _ = crate::s7plus::create_object_ids(&bytes);
    }
}
