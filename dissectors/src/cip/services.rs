//! CIP service codes: names, and what each does to the device.
//!
//! Codes 0x01..=0x1C are common services, the same on every class. Codes
//! 0x4B..=0x63 are class-specific: their meaning is resolved by the target class, and a code
//! whose class is not known here keeps no name (it is shown raw, never guessed).

/// Common service codes.
pub mod code {
    pub const GET_ATTRIBUTES_ALL: u8 = 0x01;
    pub const SET_ATTRIBUTES_ALL: u8 = 0x02;
    pub const GET_ATTRIBUTE_LIST: u8 = 0x03;
    pub const SET_ATTRIBUTE_LIST: u8 = 0x04;
    pub const RESET: u8 = 0x05;
    pub const START: u8 = 0x06;
    pub const STOP: u8 = 0x07;
    pub const CREATE: u8 = 0x08;
    pub const DELETE: u8 = 0x09;
    pub const MULTIPLE_SERVICE_PACKET: u8 = 0x0A;
    pub const APPLY_ATTRIBUTES: u8 = 0x0D;
    pub const GET_ATTRIBUTE_SINGLE: u8 = 0x0E;
    pub const SET_ATTRIBUTE_SINGLE: u8 = 0x10;
    pub const FIND_NEXT_OBJECT_INSTANCE: u8 = 0x11;
    pub const RESTORE: u8 = 0x15;
    pub const SAVE: u8 = 0x16;
    pub const NOP: u8 = 0x17;
    pub const GET_MEMBER: u8 = 0x18;
    pub const SET_MEMBER: u8 = 0x19;
    pub const INSERT_MEMBER: u8 = 0x1A;
    pub const REMOVE_MEMBER: u8 = 0x1B;
    pub const GROUP_SYNC: u8 = 0x1C;

    /// Connection Manager (class 0x06).
    pub const FORWARD_CLOSE: u8 = 0x4E;
    pub const UNCONNECTED_SEND: u8 = 0x52;
    pub const FORWARD_OPEN: u8 = 0x54;
    pub const LARGE_FORWARD_OPEN: u8 = 0x5B;

    /// Logix symbol (0x6B) and template (0x6C) objects, and symbolic paths.
    pub const READ_TAG: u8 = 0x4C;
    pub const WRITE_TAG: u8 = 0x4D;
    pub const READ_MODIFY_WRITE_TAG: u8 = 0x4E;
    pub const READ_TAG_FRAGMENTED: u8 = 0x52;
    pub const WRITE_TAG_FRAGMENTED: u8 = 0x53;
    pub const GET_INSTANCE_ATTRIBUTE_LIST: u8 = 0x55;

    /// PCCC object (class 0x67).
    pub const EXECUTE_PCCC: u8 = 0x4B;
}

/// Classes whose class-specific services are known here.
pub mod class {
    pub const IDENTITY: u32 = 0x01;
    pub const MESSAGE_ROUTER: u32 = 0x02;
    pub const CONNECTION_MANAGER: u32 = 0x06;
    pub const FILE: u32 = 0x37;
    pub const PCCC: u32 = 0x67;
    pub const LOGIX_SYMBOL: u32 = 0x6B;
    pub const LOGIX_TEMPLATE: u32 = 0x6C;
    pub const LOGIX_NVS: u32 = 0xA1;
}

/// What a request does, for the evidence: DESIGN.md's categories plus the rest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Reads data or attributes.
    Read,
    /// Changes a value (Set_Attribute_*, Write Tag, Read-Modify-Write Tag).
    Write,
    /// Reset, Start, Stop, Create, Delete.
    Control,
    /// Firmware or file transfer.
    Program,
    /// Forward Open / Large Forward Open / Forward Close.
    Connection,
    /// A container of other requests (Multiple Service Packet, Unconnected Send).
    Container,
    /// Execute PCCC: its own PCCC command decides.
    Pccc,
    /// Anything else, including class-specific codes of unknown classes.
    Other,
}

/// A resolved service: its name and effect.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Service {
    pub code: u8,
    /// `None` when the code could not be resolved (a class-specific code of an unknown class).
    pub name: Option<&'static str>,
    pub effect: Effect,
}

/// Resolves `service` sent to `class` (`None` when the path names no class); `symbolic` says
/// whether the path names a tag, which makes the target a Logix symbol.
pub fn resolve(service: u8, class: Option<u32>, symbolic: bool) -> Service {
    use code::*;
    use Effect::*;
    let (name, effect) = match service {
        GET_ATTRIBUTES_ALL => (Some("Get_Attributes_All"), Read),
        SET_ATTRIBUTES_ALL => (Some("Set_Attributes_All"), Write),
        GET_ATTRIBUTE_LIST => (Some("Get_Attribute_List"), Read),
        SET_ATTRIBUTE_LIST => (Some("Set_Attribute_List"), Write),
        RESET => (Some("Reset"), Control),
        START => (Some("Start"), Control),
        STOP => (Some("Stop"), Control),
        CREATE => (Some("Create"), Control),
        DELETE => (Some("Delete"), Control),
        MULTIPLE_SERVICE_PACKET => (Some("Multiple_Service_Packet"), Container),
        APPLY_ATTRIBUTES => (Some("Apply_Attributes"), Other),
        GET_ATTRIBUTE_SINGLE => (Some("Get_Attribute_Single"), Read),
        SET_ATTRIBUTE_SINGLE => (Some("Set_Attribute_Single"), Write),
        FIND_NEXT_OBJECT_INSTANCE => (Some("Find_Next_Object_Instance"), Read),
        RESTORE => (Some("Restore"), Other),
        SAVE => (Some("Save"), Other),
        NOP => (Some("No_Operation"), Other),
        GET_MEMBER => (Some("Get_Member"), Read),
        SET_MEMBER => (Some("Set_Member"), Write),
        INSERT_MEMBER => (Some("Insert_Member"), Write),
        REMOVE_MEMBER => (Some("Remove_Member"), Write),
        GROUP_SYNC => (Some("Group_Sync"), Other),
        0x4B..=0x63 => class_specific(service, class, symbolic),
        _ => (None, Other),
    };
    Service {
        code: service,
        name,
        effect,
    }
}

fn class_specific(
    service: u8,
    class: Option<u32>,
    symbolic: bool,
) -> (Option<&'static str>, Effect) {
    use code::*;
    use Effect::*;
    let logix = symbolic || matches!(class, Some(class::LOGIX_SYMBOL | class::LOGIX_TEMPLATE));
    match (class, service) {
        (Some(class::CONNECTION_MANAGER), FORWARD_CLOSE) => (Some("Forward_Close"), Connection),
        (Some(class::CONNECTION_MANAGER), UNCONNECTED_SEND) => {
            (Some("Unconnected_Send"), Container)
        }
        (Some(class::CONNECTION_MANAGER), FORWARD_OPEN) => (Some("Forward_Open"), Connection),
        (Some(class::CONNECTION_MANAGER), LARGE_FORWARD_OPEN) => {
            (Some("Large_Forward_Open"), Connection)
        }
        (Some(class::CONNECTION_MANAGER), 0x56) => (Some("Get_Connection_Data"), Read),
        (Some(class::CONNECTION_MANAGER), 0x57) => (Some("Search_Connection_Data"), Read),
        (Some(class::CONNECTION_MANAGER), 0x5A) => (Some("Get_Connection_Owner"), Read),
        (Some(class::PCCC), EXECUTE_PCCC) => (Some("Execute_PCCC"), Pccc),
        (Some(class::FILE), 0x4B) => (Some("Initiate_Upload"), Program),
        (Some(class::FILE), 0x4C) => (Some("Initiate_Download"), Program),
        (Some(class::FILE), 0x4D) => (Some("Initiate_Partial_Read"), Program),
        (Some(class::FILE), 0x4E) => (Some("Initiate_Partial_Write"), Program),
        (Some(class::FILE), 0x4F) => (Some("Upload_Transfer"), Program),
        (Some(class::FILE), 0x50) => (Some("Download_Transfer"), Program),
        (Some(class::FILE), 0x51) => (Some("Clear_File"), Program),
        // Rockwell's non-volatile storage object takes firmware images; its services are
        // transfers of the image, named by the class.
        (Some(class::LOGIX_NVS), _) => (Some("Non-Volatile Storage transfer"), Program),
        _ if logix => match service {
            READ_TAG => (Some("Read Tag"), Read),
            WRITE_TAG => (Some("Write Tag"), Write),
            READ_MODIFY_WRITE_TAG => (Some("Read-Modify-Write Tag"), Write),
            READ_TAG_FRAGMENTED => (Some("Read Tag Fragmented"), Read),
            WRITE_TAG_FRAGMENTED => (Some("Write Tag Fragmented"), Write),
            GET_INSTANCE_ATTRIBUTE_LIST => (Some("Get_Instance_Attribute_List"), Read),
            _ => (None, Other),
        },
        _ => (None, Other),
    }
}
