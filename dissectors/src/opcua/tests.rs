//! Byte fixtures for the OPC UA dissector, each commented field by field.

use super::binary::{Identifier, Reader, Scalar, Variant};
use super::services::{self, id, IdentityToken};
use super::transport::{self, Framing, MessageType};

#[test]
fn node_ids_in_every_encoding() {
    let cases: &[(&[u8], &str)] = &[
        (&[0x00, 0x55], "i=85"),                   // two-byte
        (&[0x01, 0x02, 0xa1, 0x02], "ns=2;i=673"), // four-byte
        (
            &[0x02, 0x03, 0x00, 0x40, 0x42, 0x0f, 0x00],
            "ns=3;i=1000000",
        ), // numeric
        // string: ns 2, length 7, "Oven.SP"
        (
            &[
                0x03, 0x02, 0x00, 0x07, 0, 0, 0, b'O', b'v', b'e', b'n', b'.', b'S', b'P',
            ],
            "ns=2;s=Oven.SP",
        ),
        // guid: ns 1, 72962b91-fa75-4ae6-8d28-b404dc7daf63
        (
            &[
                0x04, 0x01, 0x00, 0x91, 0x2b, 0x96, 0x72, 0x75, 0xfa, 0xe6, 0x4a, 0x8d, 0x28, 0xb4,
                0x04, 0xdc, 0x7d, 0xaf, 0x63,
            ],
            "ns=1;g=72962b91-fa75-4ae6-8d28-b404dc7daf63",
        ),
        // opaque: ns 4, 3 bytes "abc"
        (
            &[0x05, 0x04, 0x00, 3, 0, 0, 0, b'a', b'b', b'c'],
            "ns=4;b=YWJj",
        ),
    ];
    for (bytes, text) in cases {
        let node = Reader::new(bytes).node_id().expect("decodes");
        assert_eq!(node.to_string(), *text);
        for cut in 0..bytes.len() {
            assert!(Reader::new(&bytes[..cut]).node_id().is_err());
        }
    }
    // expanded: namespace URI flag 0x80 and server index flag 0x40 on a two-byte id
    let bytes = [0xc0, 0x05, 3, 0, 0, 0, b'u', b'r', b'n', 7, 0, 0, 0];
    let e = Reader::new(&bytes).expanded_node_id().unwrap();
    assert_eq!(e.to_string(), "svr=7;nsu=urn;i=5");
    assert_eq!(e.node.identifier, Identifier::Numeric(5));
}

#[test]
fn variants_scalars_arrays_and_matrices() {
    // Double 185.5
    let v = Reader::new(&[0x0b, 0, 0, 0, 0, 0, 0x30, 0x67, 0x40])
        .variant()
        .unwrap();
    assert_eq!(v, Variant::Scalar(Scalar::Double(185.5)));
    // Int32 array of 2: 10, 20
    let v = Reader::new(&[0x86, 2, 0, 0, 0, 10, 0, 0, 0, 20, 0, 0, 0])
        .variant()
        .unwrap();
    assert_eq!(v.values(), &[Scalar::Int32(10), Scalar::Int32(20)]);
    // Byte matrix 2x1: array flag + dimensions flag, values 1, 2, dims [2, 1]
    let bytes = [0xc3, 2, 0, 0, 0, 1, 2, 2, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0];
    match Reader::new(&bytes).variant().unwrap() {
        Variant::Array { dimensions, .. } => assert_eq!(dimensions, Some(vec![2, 1])),
        other => panic!("{other:?}"),
    }
    // A huge array length with few bytes behind it is refused, not allocated.
    assert!(Reader::new(&[0x86, 0xff, 0xff, 0xff, 0x7f, 0])
        .variant()
        .is_err());
    // Variant nested in Variant beyond the depth bound is refused.
    let deep = vec![0x18u8; 100];
    assert!(Reader::new(&deep).variant().is_err());
    // DataValue: mask value+status, Boolean true, status 0x80340000
    let dv = Reader::new(&[0x03, 0x01, 0x01, 0, 0, 0x34, 0x80])
        .data_value()
        .unwrap();
    assert_eq!(dv.status, Some(0x8034_0000));
    assert_eq!(dv.value, Some(Variant::Scalar(Scalar::Boolean(true))));
    // DiagnosticInfo chain: inner flag on each level, bounded
    let chain = vec![0x40u8; 64];
    assert!(Reader::new(&chain).diagnostic_info().is_err());
    let ok = [0x41, 1, 0, 0, 0, 0x20, 5, 0, 0, 0];
    let info = Reader::new(&ok).diagnostic_info().unwrap();
    assert_eq!((info.symbolic_id, info.inner_depth), (Some(1), 1));
}

/// A HEL chunk: header, version 0, buffers 65536, max message 0, max chunks 0, endpoint URL.
const HELLO: &[u8] = &[
    b'H', b'E', b'L', b'F', 50, 0, 0, 0, // type, chunk, size 50
    0, 0, 0, 0, // protocol version
    0, 0, 1, 0, 0, 0, 1, 0, // receive, send buffer 65536
    0, 0, 0, 0, 0, 0, 0, 0, // max message size, max chunk count
    18, 0, 0, 0, b'o', b'p', b'c', b'.', b't', b'c', b'p', b':', b'/', b'/', b'h', b'o', b's',
    b't', b':', b'4', b'8', b'4', // "opc.tcp://host:484" (18 bytes)
];

#[test]
fn transport_framing() {
    match transport::frame_message(HELLO) {
        Framing::Chunk {
            header,
            consumed,
            body,
        } => {
            assert_eq!(header.message_type, MessageType::Hello);
            assert_eq!(consumed, 50);
            let hello = transport::parse_hello(body).unwrap();
            assert_eq!(hello.endpoint_url, Some(&b"opc.tcp://host:484"[..]));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        transport::frame_message(&HELLO[..20]),
        Framing::Incomplete { needed: Some(50) }
    ));
    assert!(matches!(
        transport::frame_message(b"GET / HT"),
        Framing::Invalid(_)
    ));
    assert!(matches!(
        transport::frame_message(b"HELC\x20\0\0\0"),
        Framing::Invalid(_)
    ));
    for cut in 0..HELLO.len() {
        let _ = transport::frame_message(&HELLO[..cut]);
    }
}

/// A MSG chunk with a WriteRequest: one WriteValue ns=2;s=Oven.SP, Value, Double 170.0.
pub const WRITE_MSG: &[u8] = &[
    b'M', b'S', b'G', b'F', 88, 0, 0, 0, // header, size 88
    1, 0, 0, 0, // secure channel id 1
    1, 0, 0, 0, // token id 1
    5, 0, 0, 0, 7, 0, 0, 0, // sequence number 5, request id 7
    0x01, 0x00, 0xa1, 0x02, // type id i=673 WriteRequest (four-byte)
    0x02, 0x00, 0x00, 0x01, 0, 0, 0, // authentication token ns=0;i=1 (numeric)
    0, 0, 0, 0, 0, 0, 0, 0, // timestamp
    9, 0, 0, 0, // request handle
    0, 0, 0, 0, // return diagnostics
    0xff, 0xff, 0xff, 0xff, // auditEntryId null
    0, 0, 0, 0, // timeout hint
    0x00, 0x00, 0x00, // additional header: null ExtensionObject
    1, 0, 0, 0, // one WriteValue
    0x01, 0x02, 0x10, 0x00, // node ns=2;i=16
    13, 0, 0, 0, // attribute Value
    0xff, 0xff, 0xff, 0xff, // index range null
    0x01, 0x0b, 0, 0, 0, 0, 0, 0x40, 0x65, 0x40, // DataValue: Double 170.0
];

#[test]
fn write_request_decodes() {
    let Framing::Chunk { header, body, .. } = transport::frame_message(WRITE_MSG) else {
        panic!("frames");
    };
    let chunk = transport::secure_chunk(header.message_type, body).unwrap();
    assert_eq!((chunk.channel_id, chunk.token_id), (1, Some(1)));
    let (_, request_id, body) = transport::sequence_header(chunk.payload).unwrap();
    assert_eq!(request_id, 7);
    let (type_id, mut r) = services::type_id(body).unwrap();
    assert_eq!(type_id, id::WRITE_REQUEST);
    let header = services::request_header(&mut r).unwrap();
    assert_eq!(header.authentication_token.to_string(), "i=1");
    let values = services::write_request(&mut r).unwrap();
    assert_eq!(values.len(), 1);
    assert_eq!(values[0].node_id.to_string(), "ns=2;i=16");
    assert_eq!(
        values[0].value.value,
        Some(Variant::Scalar(Scalar::Double(170.0)))
    );
    // No truncation panics, and none decodes as a whole request.
    for cut in 0..body.len() {
        let Ok((_, mut r)) = services::type_id(&body[..cut]) else {
            continue;
        };
        if services::request_header(&mut r).is_ok() {
            assert!(services::write_request(&mut r).is_err() || cut == body.len());
        }
    }
}

#[test]
fn identity_tokens() {
    // UserNameIdentityToken body: policy "u", user "bob", password "pw", algorithm null
    let body = [
        1, 0, 0, 0, b'u', 3, 0, 0, 0, b'b', b'o', b'b', 2, 0, 0, 0, b'p', b'w', 0xff, 0xff, 0xff,
        0xff,
    ];
    let object = super::binary::ExtensionObject {
        type_id: super::binary::NodeId {
            namespace: 0,
            identifier: Identifier::Numeric(id::USER_NAME_IDENTITY_TOKEN),
        },
        encoding: 1,
        body: &body,
    };
    let token = services::identity_token(&object).unwrap();
    match token {
        IdentityToken::UserName {
            user_name,
            encryption_algorithm,
            ..
        } => {
            assert_eq!(user_name, Some(&b"bob"[..]));
            assert_eq!(encryption_algorithm, None);
        }
        other => panic!("{other:?}"),
    }
    let shown = format!("{token:?}");
    assert!(
        !shown.contains("pw") && !shown.contains("[112, 119]"),
        "{shown}"
    );
}

#[test]
fn service_kinds() {
    use services::ServiceKind;
    assert_eq!(
        services::service_kind(673),
        Some(ServiceKind::Request("Write"))
    );
    assert_eq!(
        services::service_kind(676),
        Some(ServiceKind::Response("Write"))
    );
    assert_eq!(services::service_kind(397), Some(ServiceKind::Fault));
    assert_eq!(
        services::service_kind(455),
        Some(ServiceKind::Response("CloseSecureChannel"))
    );
    assert_eq!(services::service_kind(1), None);
}

#[test]
fn first_der_of_a_chain() {
    let chain = [0x30, 0x03, 1, 2, 3, 0x30, 0x01, 9];
    assert_eq!(transport::first_der(&chain), Some(&chain[..5]));
    assert_eq!(transport::first_der(&[0x30, 0x82, 0x01]), None);
    assert_eq!(transport::first_der(&[0x31, 0x00]), None);
}

/// Little builders for the service fixtures below; each call appends one encoded field.
#[derive(Default)]
struct Bytes(Vec<u8>);

impl Bytes {
    fn raw(mut self, b: &[u8]) -> Self {
        self.0.extend_from_slice(b);
        self
    }
    fn u32(self, v: u32) -> Self {
        self.raw(&v.to_le_bytes())
    }
    fn i64(self, v: i64) -> Self {
        self.raw(&v.to_le_bytes())
    }
    fn string(self, s: &str) -> Self {
        self.u32(s.len() as u32).raw(s.as_bytes())
    }
    fn null(self) -> Self {
        self.raw(&[0xff; 4])
    }
    /// Two-byte NodeId i=`id` (id < 256).
    fn small_node(self, id: u8) -> Self {
        self.raw(&[0x00, id])
    }
    /// String NodeId ns=`ns`;s=`s`.
    fn string_node(self, ns: u16, s: &str) -> Self {
        self.raw(&[0x03]).raw(&ns.to_le_bytes()).string(s)
    }
    /// A ResponseHeader with `result`, no diagnostics, no string table, no extension.
    fn response_header(self, result: u32) -> Self {
        self.i64(0)
            .u32(1)
            .u32(result)
            .raw(&[0])
            .null()
            .raw(&[0, 0, 0])
    }
    /// An ApplicationDescription.
    fn application(self, uri: &str, product: &str, name: &str, kind: u32) -> Self {
        self.string(uri)
            .string(product)
            .raw(&[0x02])
            .string(name)
            .u32(kind)
            .null()
            .null()
            .null()
    }
}

fn reader(b: &Bytes) -> Reader<'_> {
    Reader::new(&b.0)
}

#[test]
fn response_header_and_service_fault() {
    // ResponseHeader: timestamp, handle 1, BadNodeIdUnknown, diagnostic info with symbolic
    // id 3 and an inner status, string table of one string, null additional header.
    let b = Bytes::default()
        .i64(0)
        .u32(1)
        .u32(0x8034_0000)
        .raw(&[0x21])
        .u32(3)
        .u32(0x8001_0000)
        .u32(1)
        .string("why")
        .raw(&[0, 0, 0]);
    let h = services::response_header(&mut reader(&b)).unwrap();
    assert_eq!(h.service_result, 0x8034_0000);
    // A whole ServiceFault body: type id i=397 (four-byte) and a bare ResponseHeader.
    let fault = Bytes::default()
        .raw(&[0x01, 0x00, 0x8d, 0x01])
        .response_header(0x800e_0000);
    let (type_id, mut r) = services::type_id(&fault.0).unwrap();
    assert_eq!(
        services::service_kind(type_id),
        Some(services::ServiceKind::Fault)
    );
    assert_eq!(
        services::response_header(&mut r).unwrap().service_result,
        0x800e_0000
    );
    assert_eq!(h.diagnostics.symbolic_id, Some(3));
    assert_eq!(h.diagnostics.inner_status, Some(0x8001_0000));
}

#[test]
fn open_secure_channel_request_and_response() {
    // OPN request after its RequestHeader: version 0, issue (0), mode Sign (2), nonce, 3600000.
    let b = Bytes::default()
        .u32(0)
        .u32(0)
        .u32(2)
        .string("nonce")
        .u32(3_600_000);
    let req = services::open_secure_channel_request(&mut reader(&b)).unwrap();
    assert_eq!((req.request_type, req.security_mode), (0, 2));
    assert_eq!(services::security_mode_name(req.security_mode), "Sign");
    // OPN response after its ResponseHeader: version, channel 7, token 3, created, lifetime.
    let b = Bytes::default()
        .u32(0)
        .u32(7)
        .u32(3)
        .i64(1)
        .u32(600_000)
        .null();
    let token = services::open_secure_channel_response(&mut reader(&b)).unwrap();
    assert_eq!((token.channel_id, token.token_id), (7, 3));
}

#[test]
fn create_session_and_endpoints() {
    // CreateSessionRequest: client description, server URI, endpoint, session name, nonce,
    // certificate (3 bytes), timeout, max response size.
    let b = Bytes::default()
        .application("urn:hmi", "urn:vendor:hmi", "HMI 7", 1)
        .null()
        .string("opc.tcp://plc:4840")
        .string("s1")
        .null()
        .u32(3)
        .raw(&[0x30, 0x01, 0x00])
        .raw(&60_000f64.to_le_bytes())
        .u32(0);
    let req = services::create_session_request(&mut reader(&b)).unwrap();
    assert_eq!(req.client.application_uri, Some(&b"urn:hmi"[..]));
    assert_eq!(req.client.application_name.text, Some(&b"HMI 7"[..]));
    assert_eq!(req.client_certificate, Some(&[0x30, 0x01, 0x00][..]));

    // One EndpointDescription: URL, server description, no certificate, mode None,
    // policy None, one anonymous UserTokenPolicy, transport profile, level 0.
    let endpoint = Bytes::default()
        .string("opc.tcp://plc:4840")
        .application("urn:plc", "urn:vendor:plc", "PLC 1", 0)
        .null()
        .u32(1)
        .string("http://opcfoundation.org/UA/SecurityPolicy#None")
        .u32(1)
        .string("anon")
        .u32(0)
        .null()
        .null()
        .null()
        .null()
        .raw(&[0]);
    let b = Bytes::default().u32(1).raw(&endpoint.0);
    let endpoints = services::get_endpoints_response(&mut reader(&b)).unwrap();
    assert_eq!(endpoints.len(), 1);
    assert_eq!(
        endpoints[0].server.application_name.text,
        Some(&b"PLC 1"[..])
    );
    let policy = endpoints[0].user_token_policies[0];
    assert_eq!(
        (policy.policy_id, policy.token_type),
        (Some(&b"anon"[..]), 0)
    );

    // CreateSessionResponse: session id, authentication token (numeric ns=1), timeout,
    // nonce, certificate, the endpoint above.
    let b = Bytes::default()
        .raw(&[0x01, 0x01, 0x10, 0x00])
        .raw(&[0x02, 0x01, 0x00, 0x2a, 0, 0, 0])
        .raw(&60_000f64.to_le_bytes())
        .null()
        .null()
        .u32(1)
        .raw(&endpoint.0);
    let resp = services::create_session_response(&mut reader(&b)).unwrap();
    assert_eq!(resp.authentication_token.to_string(), "ns=1;i=42");
    assert_eq!(resp.endpoints.len(), 1);
}

#[test]
fn activate_session_token_kinds() {
    let activate = |token: Bytes| {
        Bytes::default()
            .null()
            .null()
            .null()
            .null()
            .raw(&token.0)
            .null()
            .null()
    };
    let anonymous = Bytes::default()
        .raw(&[0x01, 0x00, 0x41, 0x01, 0x01])
        .u32(8)
        .string("anon");
    let b = activate(anonymous);
    let t = services::activate_session_request(&mut reader(&b)).unwrap();
    assert_eq!(t, IdentityToken::Anonymous);

    let x509_body = Bytes::default().string("cert").u32(2).raw(&[0x30, 0x00]);
    let x509 = Bytes::default()
        .raw(&[0x01, 0x00, 0x47, 0x01, 0x01])
        .u32(x509_body.0.len() as u32)
        .raw(&x509_body.0);
    let b = activate(x509);
    let t = services::activate_session_request(&mut reader(&b)).unwrap();
    assert_eq!(t.type_name(), "X509IdentityToken");

    let issued_body = Bytes::default().string("jwt").string("eyJ").null();
    let issued = Bytes::default()
        .raw(&[0x01, 0x00, 0xac, 0x03, 0x01])
        .u32(issued_body.0.len() as u32)
        .raw(&issued_body.0);
    let b = activate(issued);
    match services::activate_session_request(&mut reader(&b)).unwrap() {
        IdentityToken::Issued {
            policy_id,
            token_data_len,
            ..
        } => assert_eq!((policy_id, token_data_len), (Some(&b"jwt"[..]), 3)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn call_and_node_management() {
    // CallRequest: one method on ns=2;s=Oven, method ns=2;s=Oven.Reset, one Int32 argument.
    let b = Bytes::default()
        .u32(1)
        .string_node(2, "Oven")
        .string_node(2, "Oven.Reset")
        .u32(1)
        .raw(&[0x06, 3, 0, 0, 0]);
    let calls = services::call_request(&mut reader(&b)).unwrap();
    assert_eq!(calls[0].method_id.to_string(), "ns=2;s=Oven.Reset");
    assert_eq!(calls[0].object_id.to_string(), "ns=2;s=Oven");
    assert_eq!(
        calls[0].input_arguments[0],
        Variant::Scalar(Scalar::Int32(3))
    );
    // CallResponse: one result, status Good, no argument results, one output Boolean.
    let b = Bytes::default()
        .u32(1)
        .u32(0)
        .null()
        .null()
        .u32(1)
        .raw(&[0x01, 0x01]);
    assert_eq!(services::call_response(&mut reader(&b)).unwrap(), vec![0]);

    // AddNodesItem: parent i=85, reference i=35, requested ns=1;s=New, browse name 1:New,
    // class Object (1), null attributes, type definition i=58.
    let b = Bytes::default()
        .u32(1)
        .small_node(85)
        .small_node(35)
        .string_node(1, "New")
        .raw(&[1, 0])
        .string("New")
        .u32(1)
        .raw(&[0, 0, 0])
        .small_node(58);
    let items = services::add_nodes_request(&mut reader(&b)).unwrap();
    assert_eq!(items[0].requested_new_node_id.to_string(), "ns=1;s=New");
    assert_eq!(items[0].parent.to_string(), "i=85");
    // DeleteNodes: ns=1;s=New, delete references.
    let b = Bytes::default().u32(1).string_node(1, "New").raw(&[1]);
    let items = services::delete_nodes_request(&mut reader(&b)).unwrap();
    assert_eq!(items[0].0.to_string(), "ns=1;s=New");
    // AddReferences: source i=85, type i=35, forward, no server, target ns=1;s=New, class 1.
    let b = Bytes::default()
        .u32(1)
        .small_node(85)
        .small_node(35)
        .raw(&[1])
        .null()
        .string_node(1, "New")
        .u32(1);
    let items = services::add_references_request(&mut reader(&b)).unwrap();
    assert_eq!(items[0].target.to_string(), "ns=1;s=New");
    // DeleteReferences: the same reference, bidirectional.
    let b = Bytes::default()
        .u32(1)
        .small_node(85)
        .small_node(35)
        .raw(&[1])
        .string_node(1, "New")
        .raw(&[1]);
    assert!(services::delete_references_request(&mut reader(&b)).unwrap()[0].is_forward);
    // HistoryUpdate: one UpdateDataDetails (i=11295) whose body starts with ns=2;s=T1.
    let details = Bytes::default().string_node(2, "T1").u32(1);
    let b = Bytes::default()
        .u32(1)
        .raw(&[0x01, 0x00, 0x1f, 0x2c, 0x01])
        .u32(details.0.len() as u32)
        .raw(&details.0);
    let items = services::history_update_request(&mut reader(&b)).unwrap();
    assert_eq!(items[0].0, 11295);
    assert_eq!(
        items[0].1.map(|n| n.to_string()).as_deref(),
        Some("ns=2;s=T1")
    );
}

#[test]
fn localized_text_qualified_name_and_extension_object() {
    // LocalizedText with locale "en" and text "Oven".
    let b = Bytes::default().raw(&[0x03]).string("en").string("Oven");
    let t = reader(&b).localized_text().unwrap();
    assert_eq!((t.locale, t.text), (Some(&b"en"[..]), Some(&b"Oven"[..])));
    // QualifiedName 2:SP.
    let b = Bytes::default().raw(&[2, 0]).string("SP");
    assert_eq!(reader(&b).qualified_name().unwrap(), (2, Some(&b"SP"[..])));
    // ExtensionObject i=324 with a 2-byte binary body; bad encoding byte 3 is refused.
    let b = Bytes::default()
        .raw(&[0x01, 0x00, 0x44, 0x01, 0x01])
        .u32(2)
        .raw(&[9, 9]);
    let e = reader(&b).extension_object().unwrap();
    assert_eq!(
        (e.type_id.ns0_numeric(), e.body),
        (Some(324), &[9u8, 9][..])
    );
    let b = Bytes::default().raw(&[0x00, 0x01, 0x03]);
    assert!(reader(&b).extension_object().is_err());
}

#[test]
fn no_parser_panics_on_noise() {
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for round in 0..2000 {
        let len = round % 300;
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                (seed >> 24) as u8
            })
            .collect();
        let _ = transport::frame_message(&bytes);
        let _ = transport::secure_chunk(MessageType::OpenSecureChannel, &bytes);
        let _ = transport::first_der(&bytes);
        let _ = Reader::new(&bytes).variant();
        let _ = Reader::new(&bytes).data_value();
        let _ = Reader::new(&bytes).diagnostic_info();
        let _ = services::request_header(&mut Reader::new(&bytes));
        let _ = services::response_header(&mut Reader::new(&bytes));
        let _ = services::write_request(&mut Reader::new(&bytes));
        let _ = services::call_request(&mut Reader::new(&bytes));
        let _ = services::call_response(&mut Reader::new(&bytes));
        let _ = services::activate_session_request(&mut Reader::new(&bytes));
        let _ = services::create_session_request(&mut Reader::new(&bytes));
        let _ = services::create_session_response(&mut Reader::new(&bytes));
        let _ = services::get_endpoints_response(&mut Reader::new(&bytes));
        let _ = services::add_nodes_request(&mut Reader::new(&bytes));
        let _ = services::add_references_request(&mut Reader::new(&bytes));
        let _ = services::delete_references_request(&mut Reader::new(&bytes));
        let _ = services::history_update_request(&mut Reader::new(&bytes));
        let _ = services::history_update_response(&mut Reader::new(&bytes));
    }
}
