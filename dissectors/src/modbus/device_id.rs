//! Read Device Identification (FC 43 / MEI 0x0E) objects: vendor, product code, revision and
//! the rest of what a device says about itself, for the `assets` table.
//!
//! Object values are borrowed bytes. The specification calls them ASCII strings but devices
//! send other encodings and private objects (0x80..=0xFF) hold anything, so decoding text is
//! left to the caller. A response may carry only part of the objects (`more_follows`); joining
//! the parts of a stream read is session state and is not done here.

use core::iter::FusedIterator;

use nom::bytes::streaming::take;
use nom::number::streaming::be_u8;

use super::error::ModbusError;
use super::parser::Cx;
use super::types::fc;

/// Object ids of the basic and regular categories.
pub mod object {
    pub const VENDOR_NAME: u8 = 0x00;
    pub const PRODUCT_CODE: u8 = 0x01;
    pub const MAJOR_MINOR_REVISION: u8 = 0x02;
    pub const VENDOR_URL: u8 = 0x03;
    pub const PRODUCT_NAME: u8 = 0x04;
    pub const MODEL_NAME: u8 = 0x05;
    pub const USER_APPLICATION_NAME: u8 = 0x06;
}

/// One object of a Read Device Identification response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeviceObject<'a> {
    /// Object id; see [`device_object_name`].
    pub id: u8,
    /// Raw value, usually ASCII.
    pub value: &'a [u8],
}

/// The specification's name of a device identification object.
///
/// "Reserved" for 0x07..=0x7F, "Private" for the vendor-specific 0x80..=0xFF.
pub fn device_object_name(id: u8) -> &'static str {
    match id {
        object::VENDOR_NAME => "VendorName",
        object::PRODUCT_CODE => "ProductCode",
        object::MAJOR_MINOR_REVISION => "MajorMinorRevision",
        object::VENDOR_URL => "VendorUrl",
        object::PRODUCT_NAME => "ProductName",
        object::MODEL_NAME => "ModelName",
        object::USER_APPLICATION_NAME => "UserApplicationName",
        0x07..=0x7F => "Reserved",
        0x80..=0xFF => "Private",
    }
}

/// Reads one object (id, length, value) bounded by the end of the PDU.
#[inline]
pub(super) fn device_object(cx: Cx, i: &[u8]) -> Result<(&[u8], DeviceObject<'_>), ModbusError> {
    let (i, id) = cx.field("object id", be_u8(i))?;

    let (i, len) = cx.field("object length", be_u8(i))?;

    let (i, value) = cx.field("object value", take(len)(i))?;

    Ok((i, DeviceObject { id, value }))
}

/// Errors raised while iterating are dropped, so the context only needs to be well-formed.
const ITER_CX: Cx = Cx {
    function: fc::ENCAPSULATED_INTERFACE,
    len: 0,
};

/// Iterator over the objects of a Read Device Identification response
/// ([`super::Response::objects`]).
#[derive(Clone, Debug)]
pub struct DeviceObjects<'a> {
    rest: &'a [u8],
}

impl<'a> DeviceObjects<'a> {
    /// Iterates over the objects in `objects` (the bytes after the number of objects).
    #[inline]
    pub fn new(objects: &'a [u8]) -> DeviceObjects<'a> {
        DeviceObjects { rest: objects }
    }
}

impl<'a> Iterator for DeviceObjects<'a> {
    type Item = DeviceObject<'a>;

    #[inline]
    fn next(&mut self) -> Option<DeviceObject<'a>> {
        if self.rest.is_empty() {
            return None;
        }
        match device_object(ITER_CX, self.rest) {
            Ok((rest, object)) => {
                self.rest = rest;
                Some(object)
            }
            Err(_) => {
                self.rest = &[];
                None
            }
        }
    }
}

impl FusedIterator for DeviceObjects<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[rustfmt::skip]
    const OBJECTS: &[u8] = &[
        0x00,                   // object id: VendorName
        0x03,                   // object length
        b'A', b'C', b'M',       // object value
        0x02,                   // object id: MajorMinorRevision
        0x00,                   // object length, an empty value
        0x81,                   // object id: private
        0x02,                   // object length
        0xDE, 0xAD,             // object value
    ];

    #[test]
    fn objects_iterates_in_order() {
        let objects: Vec<_> = DeviceObjects::new(OBJECTS).collect();

        assert_eq!(
            objects,
            [
                DeviceObject {
                    id: 0x00,
                    value: b"ACM"
                },
                DeviceObject {
                    id: 0x02,
                    value: b""
                },
                DeviceObject {
                    id: 0x81,
                    value: &[0xDE, 0xAD]
                },
            ]
        );
    }

    #[test]
    fn objects_stop_at_a_cut_object() {
        let counts: Vec<usize> = (0..=OBJECTS.len())
            .map(|cut| DeviceObjects::new(&OBJECTS[..cut]).count())
            .collect();

        assert_eq!(counts, [0, 0, 0, 0, 0, 1, 1, 2, 2, 2, 2, 3]);
    }

    #[test]
    fn names_cover_every_category() {
        assert_eq!(device_object_name(0x00), "VendorName");
        assert_eq!(device_object_name(0x01), "ProductCode");
        assert_eq!(device_object_name(0x02), "MajorMinorRevision");
        assert_eq!(device_object_name(0x03), "VendorUrl");
        assert_eq!(device_object_name(0x04), "ProductName");
        assert_eq!(device_object_name(0x05), "ModelName");
        assert_eq!(device_object_name(0x06), "UserApplicationName");
        assert_eq!(device_object_name(0x07), "Reserved");
        assert_eq!(device_object_name(0x7F), "Reserved");
        assert_eq!(device_object_name(0x80), "Private");
        assert_eq!(device_object_name(0xFF), "Private");
    }
}
