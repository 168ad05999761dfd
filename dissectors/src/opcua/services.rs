//! OPC UA services (Part 4) as encoded in a message body: the type id, the request and
//! response headers, and the services OT Witness audits (sessions, writes, calls, node
//! management, history updates, endpoints). Other services are recognised by id only.

use super::binary::{
    DataValue, DecodeError, DiagnosticInfo, ExpandedNodeId, ExtensionObject, LocalizedText, NodeId,
    Reader, Variant,
};

/// Binary encoding ids (namespace 0) of the services read here.
pub mod id {
    pub const SERVICE_FAULT: u32 = 397;
    pub const FIND_SERVERS_REQUEST: u32 = 422;
    pub const GET_ENDPOINTS_REQUEST: u32 = 428;
    pub const GET_ENDPOINTS_RESPONSE: u32 = 431;
    pub const OPEN_SECURE_CHANNEL_REQUEST: u32 = 446;
    pub const OPEN_SECURE_CHANNEL_RESPONSE: u32 = 449;
    pub const CLOSE_SECURE_CHANNEL_REQUEST: u32 = 452;
    pub const CREATE_SESSION_REQUEST: u32 = 461;
    pub const CREATE_SESSION_RESPONSE: u32 = 464;
    pub const ACTIVATE_SESSION_REQUEST: u32 = 467;
    pub const ACTIVATE_SESSION_RESPONSE: u32 = 470;
    pub const CLOSE_SESSION_REQUEST: u32 = 473;
    pub const CLOSE_SESSION_RESPONSE: u32 = 476;
    pub const ADD_NODES_REQUEST: u32 = 488;
    pub const ADD_NODES_RESPONSE: u32 = 491;
    pub const ADD_REFERENCES_REQUEST: u32 = 494;
    pub const ADD_REFERENCES_RESPONSE: u32 = 497;
    pub const DELETE_NODES_REQUEST: u32 = 500;
    pub const DELETE_NODES_RESPONSE: u32 = 503;
    pub const DELETE_REFERENCES_REQUEST: u32 = 506;
    pub const DELETE_REFERENCES_RESPONSE: u32 = 509;
    pub const READ_REQUEST: u32 = 631;
    pub const HISTORY_READ_REQUEST: u32 = 664;
    pub const WRITE_REQUEST: u32 = 673;
    pub const WRITE_RESPONSE: u32 = 676;
    pub const HISTORY_UPDATE_REQUEST: u32 = 700;
    pub const HISTORY_UPDATE_RESPONSE: u32 = 703;
    pub const CALL_REQUEST: u32 = 712;
    pub const CALL_RESPONSE: u32 = 715;

    pub const ANONYMOUS_IDENTITY_TOKEN: u32 = 321;
    pub const USER_NAME_IDENTITY_TOKEN: u32 = 324;
    pub const X509_IDENTITY_TOKEN: u32 = 327;
    pub const ISSUED_IDENTITY_TOKEN: u32 = 940;
}

/// Request encoding ids of Part 4 services, with their names; the response of each is the
/// request id + 3.
const REQUESTS: &[(u32, &str)] = &[
    (422, "FindServers"),
    (12208, "FindServersOnNetwork"),
    (428, "GetEndpoints"),
    (437, "RegisterServer"),
    (12211, "RegisterServer2"),
    (446, "OpenSecureChannel"),
    (452, "CloseSecureChannel"),
    (461, "CreateSession"),
    (467, "ActivateSession"),
    (473, "CloseSession"),
    (479, "Cancel"),
    (488, "AddNodes"),
    (494, "AddReferences"),
    (500, "DeleteNodes"),
    (506, "DeleteReferences"),
    (527, "Browse"),
    (533, "BrowseNext"),
    (554, "TranslateBrowsePathsToNodeIds"),
    (560, "RegisterNodes"),
    (566, "UnregisterNodes"),
    (615, "QueryFirst"),
    (621, "QueryNext"),
    (631, "Read"),
    (664, "HistoryRead"),
    (673, "Write"),
    (700, "HistoryUpdate"),
    (712, "Call"),
    (751, "CreateMonitoredItems"),
    (763, "ModifyMonitoredItems"),
    (769, "SetMonitoringMode"),
    (775, "SetTriggering"),
    (781, "DeleteMonitoredItems"),
    (787, "CreateSubscription"),
    (793, "ModifySubscription"),
    (799, "SetPublishingMode"),
    (826, "Publish"),
    (832, "Republish"),
    (841, "TransferSubscriptions"),
    (847, "DeleteSubscriptions"),
];

/// What a service type id is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServiceKind {
    Request(&'static str),
    Response(&'static str),
    Fault,
}

/// Classifies a service encoding id; `None` for ids that are not Part 4 services.
pub fn service_kind(type_id: u32) -> Option<ServiceKind> {
    if type_id == id::SERVICE_FAULT {
        return Some(ServiceKind::Fault);
    }
    if let Some((_, name)) = REQUESTS.iter().find(|(i, _)| *i == type_id) {
        return Some(ServiceKind::Request(name));
    }
    // CloseSecureChannel has a response id too (455), like every other service.
    REQUESTS
        .iter()
        .find(|(i, _)| i + 3 == type_id)
        .map(|(_, name)| ServiceKind::Response(name))
}

/// Reads the type id at the start of a message body.
pub fn type_id(body: &[u8]) -> Result<(u32, Reader<'_>), DecodeError> {
    let mut r = Reader::new(body);
    let node = r.node_id()?;
    let id = node.ns0_numeric().ok_or(DecodeError {
        what: "service type id",
        offset: 0,
    })?;
    Ok((id, r))
}

/// The RequestHeader.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestHeader<'a> {
    pub authentication_token: NodeId<'a>,
    pub timestamp: i64,
    pub request_handle: u32,
    pub return_diagnostics: u32,
    pub audit_entry_id: Option<&'a [u8]>,
    pub timeout_hint: u32,
}

pub fn request_header<'a>(r: &mut Reader<'a>) -> Result<RequestHeader<'a>, DecodeError> {
    let h = RequestHeader {
        authentication_token: r.node_id()?,
        timestamp: r.i64("RequestHeader timestamp")?,
        request_handle: r.u32("RequestHeader handle")?,
        return_diagnostics: r.u32("RequestHeader return diagnostics")?,
        audit_entry_id: r.bytes("RequestHeader auditEntryId")?,
        timeout_hint: r.u32("RequestHeader timeout hint")?,
    };
    r.extension_object()?;
    Ok(h)
}

/// The ResponseHeader.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResponseHeader<'a> {
    pub timestamp: i64,
    pub request_handle: u32,
    pub service_result: u32,
    pub diagnostics: DiagnosticInfo<'a>,
}

pub fn response_header<'a>(r: &mut Reader<'a>) -> Result<ResponseHeader<'a>, DecodeError> {
    let h = ResponseHeader {
        timestamp: r.i64("ResponseHeader timestamp")?,
        request_handle: r.u32("ResponseHeader handle")?,
        service_result: r.u32("ResponseHeader service result")?,
        diagnostics: r.diagnostic_info()?,
    };
    r.skip_list(4, "ResponseHeader string table", |r| {
        r.bytes("string table").map(drop)
    })?;
    r.extension_object()?;
    Ok(h)
}

/// Reads an array of StatusCodes and skips the DiagnosticInfo array after it.
fn status_results(r: &mut Reader<'_>) -> Result<Vec<u32>, DecodeError> {
    let results = r.list(4, "results", |r| r.u32("StatusCode"))?;
    // The diagnostics array may be missing in truncated bodies; the results are what count.
    let _ = r.skip_list(1, "diagnostic infos", |r| r.diagnostic_info().map(drop));
    Ok(results)
}

/// OpenSecureChannelRequest after its header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpenSecureChannelRequest {
    pub client_protocol_version: u32,
    /// 0 issue, 1 renew.
    pub request_type: u32,
    /// 1 None, 2 Sign, 3 SignAndEncrypt.
    pub security_mode: u32,
    pub requested_lifetime: u32,
}

pub fn open_secure_channel_request(
    r: &mut Reader<'_>,
) -> Result<OpenSecureChannelRequest, DecodeError> {
    let client_protocol_version = r.u32("client protocol version")?;
    let request_type = r.u32("request type")?;
    let security_mode = r.u32("security mode")?;
    r.bytes("client nonce")?;
    Ok(OpenSecureChannelRequest {
        client_protocol_version,
        request_type,
        security_mode,
        requested_lifetime: r.u32("requested lifetime")?,
    })
}

/// The security token of an OpenSecureChannelResponse.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChannelSecurityToken {
    pub channel_id: u32,
    pub token_id: u32,
    pub created_at: i64,
    pub revised_lifetime: u32,
}

pub fn open_secure_channel_response(
    r: &mut Reader<'_>,
) -> Result<ChannelSecurityToken, DecodeError> {
    r.u32("server protocol version")?;
    Ok(ChannelSecurityToken {
        channel_id: r.u32("channel id")?,
        token_id: r.u32("token id")?,
        created_at: r.i64("created at")?,
        revised_lifetime: r.u32("revised lifetime")?,
    })
}

/// Security mode name (MessageSecurityMode enumeration).
pub fn security_mode_name(mode: u32) -> &'static str {
    match mode {
        1 => "None",
        2 => "Sign",
        3 => "SignAndEncrypt",
        _ => "Invalid",
    }
}

/// An ApplicationDescription.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ApplicationDescription<'a> {
    pub application_uri: Option<&'a [u8]>,
    pub product_uri: Option<&'a [u8]>,
    pub application_name: LocalizedText<'a>,
    /// 0 server, 1 client, 2 client and server, 3 discovery server.
    pub application_type: u32,
}

pub fn application_description<'a>(
    r: &mut Reader<'a>,
) -> Result<ApplicationDescription<'a>, DecodeError> {
    let d = ApplicationDescription {
        application_uri: r.bytes("application URI")?,
        product_uri: r.bytes("product URI")?,
        application_name: r.localized_text()?,
        application_type: r.u32("application type")?,
    };
    r.bytes("gateway server URI")?;
    r.bytes("discovery profile URI")?;
    r.skip_list(4, "discovery URLs", |r| r.bytes("discovery URL").map(drop))?;
    Ok(d)
}

/// An EndpointDescription (the parts used for assets).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndpointDescription<'a> {
    pub endpoint_url: Option<&'a [u8]>,
    pub server: ApplicationDescription<'a>,
    pub server_certificate: Option<&'a [u8]>,
    pub security_mode: u32,
    pub security_policy_uri: Option<&'a [u8]>,
    /// The user token policies the endpoint accepts.
    pub user_token_policies: Vec<UserTokenPolicy<'a>>,
}

/// A UserTokenPolicy of an endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UserTokenPolicy<'a> {
    pub policy_id: Option<&'a [u8]>,
    /// 0 anonymous, 1 user name, 2 certificate, 3 issued token.
    pub token_type: u32,
    /// For issued tokens: the token's type URI (JWT, SAML, Kerberos, …).
    pub issued_token_type: Option<&'a [u8]>,
}

pub fn endpoint_description<'a>(
    r: &mut Reader<'a>,
) -> Result<EndpointDescription<'a>, DecodeError> {
    let endpoint_url = r.bytes("endpoint URL")?;
    let server = application_description(r)?;
    let server_certificate = r.bytes("server certificate")?;
    let security_mode = r.u32("security mode")?;
    let security_policy_uri = r.bytes("security policy URI")?;
    let user_token_policies = r.list(20, "user identity tokens", |r| {
        let policy = UserTokenPolicy {
            policy_id: r.bytes("policy id")?,
            token_type: r.u32("token type")?,
            issued_token_type: r.bytes("issued token type")?,
        };
        r.bytes("issuer endpoint URL")?;
        r.bytes("security policy URI")?;
        Ok(policy)
    })?;
    r.bytes("transport profile URI")?;
    r.u8("security level")?;
    Ok(EndpointDescription {
        endpoint_url,
        server,
        server_certificate,
        security_mode,
        security_policy_uri,
        user_token_policies,
    })
}

pub fn get_endpoints_response<'a>(
    r: &mut Reader<'a>,
) -> Result<Vec<EndpointDescription<'a>>, DecodeError> {
    r.list(30, "endpoints", endpoint_description)
}

/// CreateSessionRequest after its header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreateSessionRequest<'a> {
    pub client: ApplicationDescription<'a>,
    pub server_uri: Option<&'a [u8]>,
    pub endpoint_url: Option<&'a [u8]>,
    pub session_name: Option<&'a [u8]>,
    pub client_certificate: Option<&'a [u8]>,
}

pub fn create_session_request<'a>(
    r: &mut Reader<'a>,
) -> Result<CreateSessionRequest<'a>, DecodeError> {
    let client = application_description(r)?;
    let server_uri = r.bytes("server URI")?;
    let endpoint_url = r.bytes("endpoint URL")?;
    let session_name = r.bytes("session name")?;
    r.bytes("client nonce")?;
    let client_certificate = r.bytes("client certificate")?;
    Ok(CreateSessionRequest {
        client,
        server_uri,
        endpoint_url,
        session_name,
        client_certificate,
    })
}

/// CreateSessionResponse after its header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreateSessionResponse<'a> {
    pub session_id: NodeId<'a>,
    pub authentication_token: NodeId<'a>,
    pub server_certificate: Option<&'a [u8]>,
    /// Endpoints, when they could be read (they follow the fields above).
    pub endpoints: Vec<EndpointDescription<'a>>,
}

pub fn create_session_response<'a>(
    r: &mut Reader<'a>,
) -> Result<CreateSessionResponse<'a>, DecodeError> {
    let session_id = r.node_id()?;
    let authentication_token = r.node_id()?;
    r.f64("revised session timeout")?;
    r.bytes("server nonce")?;
    let server_certificate = r.bytes("server certificate")?;
    let endpoints = r
        .list(30, "endpoints", endpoint_description)
        .unwrap_or_default();
    Ok(CreateSessionResponse {
        session_id,
        authentication_token,
        server_certificate,
        endpoints,
    })
}

/// A user identity token of ActivateSession.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum IdentityToken<'a> {
    Anonymous,
    UserName {
        user_name: Option<&'a [u8]>,
        /// The (possibly encrypted) password. Never render or log it; see the `Debug` impl.
        password: Option<&'a [u8]>,
        encryption_algorithm: Option<&'a [u8]>,
    },
    X509 {
        certificate: Option<&'a [u8]>,
    },
    Issued {
        policy_id: Option<&'a [u8]>,
        token_data_len: usize,
        encryption_algorithm: Option<&'a [u8]>,
    },
    /// An ExtensionObject of another type.
    Unknown(u32),
    /// No token (null ExtensionObject).
    Missing,
}

/// Leaves the password out: a `Debug` print may end up in a log line or an error message.
impl std::fmt::Debug for IdentityToken<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IdentityToken::Anonymous => f.write_str("Anonymous"),
            IdentityToken::UserName {
                user_name,
                password,
                encryption_algorithm,
            } => f
                .debug_struct("UserName")
                .field("user_name", &user_name.map(String::from_utf8_lossy))
                .field(
                    "password",
                    &password.map(|p| format!("<{} bytes>", p.len())),
                )
                .field(
                    "encryption_algorithm",
                    &encryption_algorithm.map(String::from_utf8_lossy),
                )
                .finish(),
            IdentityToken::X509 { certificate } => f
                .debug_struct("X509")
                .field("certificate_len", &certificate.map(<[u8]>::len))
                .finish(),
            IdentityToken::Issued {
                policy_id,
                token_data_len,
                encryption_algorithm,
            } => f
                .debug_struct("Issued")
                .field("policy_id", &policy_id.map(String::from_utf8_lossy))
                .field("token_data_len", token_data_len)
                .field(
                    "encryption_algorithm",
                    &encryption_algorithm.map(String::from_utf8_lossy),
                )
                .finish(),
            IdentityToken::Unknown(id) => write!(f, "Unknown({id})"),
            IdentityToken::Missing => f.write_str("Missing"),
        }
    }
}

impl IdentityToken<'_> {
    /// The token's type name as Part 4 spells it.
    pub fn type_name(&self) -> &'static str {
        match self {
            IdentityToken::Anonymous => "AnonymousIdentityToken",
            IdentityToken::UserName { .. } => "UserNameIdentityToken",
            IdentityToken::X509 { .. } => "X509IdentityToken",
            IdentityToken::Issued { .. } => "IssuedIdentityToken",
            IdentityToken::Unknown(_) => "UnknownIdentityToken",
            IdentityToken::Missing => "NoIdentityToken",
        }
    }
}

/// Decodes an identity token from its ExtensionObject.
pub fn identity_token<'a>(object: &ExtensionObject<'a>) -> Result<IdentityToken<'a>, DecodeError> {
    let Some(type_id) = object.type_id.ns0_numeric() else {
        return Ok(IdentityToken::Unknown(0));
    };
    if type_id == 0 && object.encoding == 0 {
        return Ok(IdentityToken::Missing);
    }
    if object.encoding != 1 {
        return Ok(IdentityToken::Unknown(type_id));
    }
    let mut r = Reader::new(object.body);
    Ok(match type_id {
        id::ANONYMOUS_IDENTITY_TOKEN => IdentityToken::Anonymous,
        id::USER_NAME_IDENTITY_TOKEN => {
            r.bytes("policy id")?;
            IdentityToken::UserName {
                user_name: r.bytes("user name")?,
                password: r.bytes("password")?,
                encryption_algorithm: r.bytes("encryption algorithm")?,
            }
        }
        id::X509_IDENTITY_TOKEN => {
            r.bytes("policy id")?;
            IdentityToken::X509 {
                certificate: r.bytes("certificate data")?,
            }
        }
        id::ISSUED_IDENTITY_TOKEN => {
            let policy_id = r.bytes("policy id")?;
            let data = r.bytes("token data")?;
            IdentityToken::Issued {
                policy_id,
                token_data_len: data.map_or(0, <[u8]>::len),
                encryption_algorithm: r.bytes("encryption algorithm")?,
            }
        }
        other => IdentityToken::Unknown(other),
    })
}

/// ActivateSessionRequest after its header: the identity token.
pub fn activate_session_request<'a>(r: &mut Reader<'a>) -> Result<IdentityToken<'a>, DecodeError> {
    r.bytes("client signature algorithm")?;
    r.bytes("client signature")?;
    r.skip_list(8, "client software certificates", |r| {
        r.bytes("certificate")?;
        r.bytes("signature").map(drop)
    })?;
    r.skip_list(4, "locale ids", |r| r.bytes("locale id").map(drop))?;
    let token = r.extension_object()?;
    identity_token(&token)
}

/// One WriteValue.
#[derive(Clone, Debug, PartialEq)]
pub struct WriteValue<'a> {
    pub node_id: NodeId<'a>,
    pub attribute_id: u32,
    pub index_range: Option<&'a [u8]>,
    pub value: DataValue<'a>,
}

pub fn write_request<'a>(r: &mut Reader<'a>) -> Result<Vec<WriteValue<'a>>, DecodeError> {
    r.list(11, "nodes to write", |r| {
        Ok(WriteValue {
            node_id: r.node_id()?,
            attribute_id: r.u32("attribute id")?,
            index_range: r.bytes("index range")?,
            value: r.data_value()?,
        })
    })
}

/// Results of Write, DeleteNodes, AddReferences, DeleteReferences responses.
pub fn status_response(r: &mut Reader<'_>) -> Result<Vec<u32>, DecodeError> {
    status_results(r)
}

/// One CallMethodRequest.
#[derive(Clone, Debug, PartialEq)]
pub struct CallMethod<'a> {
    pub object_id: NodeId<'a>,
    pub method_id: NodeId<'a>,
    pub input_arguments: Vec<Variant<'a>>,
}

pub fn call_request<'a>(r: &mut Reader<'a>) -> Result<Vec<CallMethod<'a>>, DecodeError> {
    r.list(10, "methods to call", |r| {
        Ok(CallMethod {
            object_id: r.node_id()?,
            method_id: r.node_id()?,
            input_arguments: r.list(1, "input arguments", Reader::variant)?,
        })
    })
}

/// The StatusCode of each CallMethodResult.
pub fn call_response(r: &mut Reader<'_>) -> Result<Vec<u32>, DecodeError> {
    r.list(16, "call results", |r| {
        let status = r.u32("call status")?;
        r.skip_list(4, "input argument results", |r| r.u32("status").map(drop))?;
        r.skip_list(1, "input argument diagnostics", |r| {
            r.diagnostic_info().map(drop)
        })?;
        r.skip_list(1, "output arguments", |r| r.variant().map(drop))?;
        Ok(status)
    })
}

/// One AddNodesItem (the parts rendered).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddNodesItem<'a> {
    pub parent: ExpandedNodeId<'a>,
    pub requested_new_node_id: ExpandedNodeId<'a>,
    pub browse_name: (u16, Option<&'a [u8]>),
    pub node_class: u32,
}

pub fn add_nodes_request<'a>(r: &mut Reader<'a>) -> Result<Vec<AddNodesItem<'a>>, DecodeError> {
    r.list(12, "nodes to add", |r| {
        let parent = r.expanded_node_id()?;
        r.node_id()?;
        let requested_new_node_id = r.expanded_node_id()?;
        let browse_name = r.qualified_name()?;
        let node_class = r.u32("node class")?;
        r.extension_object()?;
        r.expanded_node_id()?;
        Ok(AddNodesItem {
            parent,
            requested_new_node_id,
            browse_name,
            node_class,
        })
    })
}

/// The StatusCode of each AddNodesResult.
pub fn add_nodes_response(r: &mut Reader<'_>) -> Result<Vec<u32>, DecodeError> {
    let results = r.list(5, "add nodes results", |r| {
        let status = r.u32("status")?;
        r.node_id()?;
        Ok(status)
    })?;
    let _ = r.skip_list(1, "diagnostic infos", |r| r.diagnostic_info().map(drop));
    Ok(results)
}

/// One DeleteNodesItem: the node, and whether references to it go too.
pub fn delete_nodes_request<'a>(
    r: &mut Reader<'a>,
) -> Result<Vec<(NodeId<'a>, bool)>, DecodeError> {
    r.list(3, "nodes to delete", |r| {
        Ok((r.node_id()?, r.bool("delete target references")?))
    })
}

/// A reference added or deleted: source, reference type, direction, target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReferenceItem<'a> {
    pub source: NodeId<'a>,
    pub reference_type: NodeId<'a>,
    pub is_forward: bool,
    pub target: ExpandedNodeId<'a>,
}

pub fn add_references_request<'a>(
    r: &mut Reader<'a>,
) -> Result<Vec<ReferenceItem<'a>>, DecodeError> {
    r.list(12, "references to add", |r| {
        let source = r.node_id()?;
        let reference_type = r.node_id()?;
        let is_forward = r.bool("is forward")?;
        r.bytes("target server URI")?;
        let target = r.expanded_node_id()?;
        r.u32("target node class")?;
        Ok(ReferenceItem {
            source,
            reference_type,
            is_forward,
            target,
        })
    })
}

pub fn delete_references_request<'a>(
    r: &mut Reader<'a>,
) -> Result<Vec<ReferenceItem<'a>>, DecodeError> {
    r.list(8, "references to delete", |r| {
        let source = r.node_id()?;
        let reference_type = r.node_id()?;
        let is_forward = r.bool("is forward")?;
        let target = r.expanded_node_id()?;
        r.bool("delete bidirectional")?;
        Ok(ReferenceItem {
            source,
            reference_type,
            is_forward,
            target,
        })
    })
}

/// HistoryUpdateRequest: each details object's type id and the NodeId that starts its body
/// (every HistoryUpdateDetails subtype begins with the node it updates).
pub fn history_update_request<'a>(
    r: &mut Reader<'a>,
) -> Result<Vec<(u32, Option<NodeId<'a>>)>, DecodeError> {
    r.list(3, "history update details", |r| {
        let object = r.extension_object()?;
        let type_id = object.type_id.ns0_numeric().unwrap_or(0);
        let node = if object.encoding == 1 {
            Reader::new(object.body).node_id().ok()
        } else {
            None
        };
        Ok((type_id, node))
    })
}

/// The StatusCode of each HistoryUpdateResult.
pub fn history_update_response(r: &mut Reader<'_>) -> Result<Vec<u32>, DecodeError> {
    r.list(12, "history update results", |r| {
        let status = r.u32("status")?;
        r.skip_list(4, "operation results", |r| r.u32("status").map(drop))?;
        r.skip_list(1, "diagnostic infos", |r| r.diagnostic_info().map(drop))?;
        Ok(status)
    })
}
