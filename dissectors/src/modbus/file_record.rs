//! File record access: the sub-structures of FC 20 (Read File Record) and FC 21 (Write File
//! Record), and iterators over them.
//!
//! Each sub-structure is parsed by one function used twice: by the PDU parser, which walks all
//! of them to validate the byte count and reference types, and by the iterators, which walk
//! them again on demand. An iterator over bytes the PDU parser has accepted yields every item;
//! over arbitrary bytes it stops at the first malformed item and never panics.
//!
//! Record numbers (0..=9999) and file numbers are addresses, as register addresses are: a
//! server refuses out-of-range ones with an exception, so they are not checked here.

use core::iter::FusedIterator;

use nom::bytes::streaming::take;
use nom::number::streaming::{be_u16, be_u8};

use super::error::ModbusError;
use super::parser::Cx;
use super::types::fc;

/// The only reference type the specification defines for file records.
pub const FILE_REFERENCE_TYPE: u8 = 6;

/// Length of one FC 20 sub-request: reference type, file, record, record length.
pub(super) const SUB_REQUEST_LEN: usize = 7;

/// One FC 21 record: where it goes and the register values written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileRecord<'a> {
    /// File number.
    pub file: u16,
    /// Starting record (register) number within the file.
    pub record: u16,
    /// Number of registers written.
    pub length: u16,
    /// `2 * length` bytes of big-endian register values.
    pub data: &'a [u8],
}

/// One FC 20 sub-request: which registers of which file to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileSubRequest {
    /// File number.
    pub file: u16,
    /// Starting record (register) number within the file.
    pub record: u16,
    /// Number of registers to read.
    pub length: u16,
}

/// Reads one FC 21 record from a section of `byte_count` bytes.
#[inline]
pub(super) fn file_record(
    cx: Cx,
    byte_count: usize,
    i: &[u8],
) -> Result<(&[u8], FileRecord<'_>), ModbusError> {
    let (i, reference_type) = cx.within("reference type", byte_count, be_u8(i))?;
    if reference_type != FILE_REFERENCE_TYPE {
        return Err(cx.invalid("reference type", reference_type, "6"));
    }

    let (i, file) = cx.within("file number", byte_count, be_u16(i))?;

    let (i, record) = cx.within("record number", byte_count, be_u16(i))?;

    let (i, length) = cx.within("record length", byte_count, be_u16(i))?;

    let data_len = 2 * usize::from(length);
    let (i, data) = cx.within("record data", byte_count, take(data_len)(i))?;

    let record = FileRecord {
        file,
        record,
        length,
        data,
    };
    Ok((i, record))
}

/// Reads one FC 20 sub-request from a section of `byte_count` bytes.
#[inline]
pub(super) fn file_sub_request(
    cx: Cx,
    byte_count: usize,
    i: &[u8],
) -> Result<(&[u8], FileSubRequest), ModbusError> {
    let (i, reference_type) = cx.within("reference type", byte_count, be_u8(i))?;
    if reference_type != FILE_REFERENCE_TYPE {
        return Err(cx.invalid("reference type", reference_type, "6"));
    }

    let (i, file) = cx.within("file number", byte_count, be_u16(i))?;

    let (i, record) = cx.within("record number", byte_count, be_u16(i))?;

    let (i, length) = cx.within("record length", byte_count, be_u16(i))?;

    let sub_request = FileSubRequest {
        file,
        record,
        length,
    };
    Ok((i, sub_request))
}

/// Reads one FC 20 sub-response from a section of `byte_count` bytes; returns its record data.
#[inline]
pub(super) fn file_sub_response(
    cx: Cx,
    byte_count: usize,
    i: &[u8],
) -> Result<(&[u8], &[u8]), ModbusError> {
    // The file response length counts the reference type and the registers after it.
    let (i, length) = cx.within("file response length", byte_count, be_u8(i))?;
    if length % 2 == 0 {
        return Err(cx.invalid("file response length", length, "an odd number"));
    }

    let (i, reference_type) = cx.within("reference type", byte_count, be_u8(i))?;
    if reference_type != FILE_REFERENCE_TYPE {
        return Err(cx.invalid("reference type", reference_type, "6"));
    }

    let (i, data) = cx.within("record data", byte_count, take(length - 1)(i))?;

    Ok((i, data))
}

/// Errors raised while iterating are dropped, so the context only needs to be well-formed.
const ITER_CX: Cx = Cx {
    function: fc::WRITE_FILE_RECORD,
    len: 0,
};

/// Iterator over the records of an FC 21 request ([`super::Request::records`]).
#[derive(Clone, Debug)]
pub struct FileRecords<'a> {
    rest: &'a [u8],
}

impl<'a> FileRecords<'a> {
    /// Iterates over the records in `records` (the bytes after the request data length).
    #[inline]
    pub fn new(records: &'a [u8]) -> FileRecords<'a> {
        FileRecords { rest: records }
    }
}

impl<'a> Iterator for FileRecords<'a> {
    type Item = FileRecord<'a>;

    #[inline]
    fn next(&mut self) -> Option<FileRecord<'a>> {
        if self.rest.is_empty() {
            return None;
        }
        match file_record(ITER_CX, self.rest.len(), self.rest) {
            Ok((rest, record)) => {
                self.rest = rest;
                Some(record)
            }
            Err(_) => {
                self.rest = &[];
                None
            }
        }
    }
}

impl FusedIterator for FileRecords<'_> {}

/// Iterator over the sub-requests of an FC 20 request ([`super::Request::subrequests`]).
#[derive(Clone, Debug)]
pub struct FileSubRequests<'a> {
    rest: &'a [u8],
}

impl<'a> FileSubRequests<'a> {
    /// Iterates over the sub-requests in `subrequests` (the bytes after the byte count).
    #[inline]
    pub fn new(subrequests: &'a [u8]) -> FileSubRequests<'a> {
        FileSubRequests { rest: subrequests }
    }
}

impl Iterator for FileSubRequests<'_> {
    type Item = FileSubRequest;

    #[inline]
    fn next(&mut self) -> Option<FileSubRequest> {
        if self.rest.is_empty() {
            return None;
        }
        match file_sub_request(ITER_CX, self.rest.len(), self.rest) {
            Ok((rest, sub_request)) => {
                self.rest = rest;
                Some(sub_request)
            }
            Err(_) => {
                self.rest = &[];
                None
            }
        }
    }
}

impl FusedIterator for FileSubRequests<'_> {}

/// Iterator over the record data of each sub-response of an FC 20 response
/// ([`super::Response::file_sub_responses`]), in the order of the sub-requests.
#[derive(Clone, Debug)]
pub struct FileSubResponses<'a> {
    rest: &'a [u8],
}

impl<'a> FileSubResponses<'a> {
    /// Iterates over the sub-responses in `bytes` (the bytes after the response data length).
    #[inline]
    pub fn new(bytes: &'a [u8]) -> FileSubResponses<'a> {
        FileSubResponses { rest: bytes }
    }
}

impl<'a> Iterator for FileSubResponses<'a> {
    type Item = &'a [u8];

    #[inline]
    fn next(&mut self) -> Option<&'a [u8]> {
        if self.rest.is_empty() {
            return None;
        }
        match file_sub_response(ITER_CX, self.rest.len(), self.rest) {
            Ok((rest, data)) => {
                self.rest = rest;
                Some(data)
            }
            Err(_) => {
                self.rest = &[];
                None
            }
        }
    }
}

impl FusedIterator for FileSubResponses<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[rustfmt::skip]
    const RECORDS: &[u8] = &[
        0x06,       // reference type
        0x00, 0x04, // file number 4
        0x00, 0x07, // record number 7
        0x00, 0x01, // record length 1
        0x12, 0x34, // record data
        0x06,       // reference type
        0x00, 0x05, // file number 5
        0x00, 0x00, // record number 0
        0x00, 0x00, // record length 0
    ];

    #[test]
    fn records_iterates_in_order() {
        let records: Vec<_> = FileRecords::new(RECORDS).collect();

        assert_eq!(
            records,
            [
                FileRecord {
                    file: 4,
                    record: 7,
                    length: 1,
                    data: &[0x12, 0x34]
                },
                FileRecord {
                    file: 5,
                    record: 0,
                    length: 0,
                    data: &[]
                },
            ]
        );
    }

    #[test]
    fn records_stop_at_a_malformed_record() {
        for cut in 1..RECORDS.len() {
            let records: Vec<_> = FileRecords::new(&RECORDS[..cut]).collect();

            let expected = if cut < 9 { 0 } else { 1 };
            assert_eq!(records.len(), expected, "cut at {cut}");
        }

        let mut bad = RECORDS.to_vec();
        bad[0] = 0x05;
        assert_eq!(FileRecords::new(&bad).next(), None);
    }

    #[test]
    fn sub_requests_stop_at_a_short_one() {
        #[rustfmt::skip]
        let bytes = [
            0x06,       // reference type
            0x00, 0x01, // file number 1
            0x00, 0x02, // record number 2
            0x00, 0x03, // record length 3
            0x06,       // reference type of a cut sub-request
        ];

        let subs: Vec<_> = FileSubRequests::new(&bytes).collect();

        assert_eq!(
            subs,
            [FileSubRequest {
                file: 1,
                record: 2,
                length: 3
            }]
        );
    }

    #[test]
    fn sub_responses_reject_an_even_length() {
        #[rustfmt::skip]
        let bytes = [
            0x03,       // file response length 3
            0x06,       // reference type
            0xAB, 0xCD, // record data
            0x02,       // file response length 2, not reference type + whole registers
            0x06,       // reference type
            0x00,       // half a register
        ];

        let subs: Vec<&[u8]> = FileSubResponses::new(&bytes).collect();

        assert_eq!(subs, [&[0xAB, 0xCD][..]]);
    }
}
