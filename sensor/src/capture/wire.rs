//! Byte-order-aware integer reads shared by the pcap and pcapng readers.
//!
//! Fixed-size reads take arrays, so they cannot fail; reads at an offset of a slice return
//! `None` when the slice is too short. Nothing here knows about capture formats.

/// The byte order of a pcap file or of a pcapng section.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Endian {
    Little,
    Big,
}

impl Endian {
    #[inline]
    pub(super) fn u16(self, b: [u8; 2]) -> u16 {
        match self {
            Endian::Little => u16::from_le_bytes(b),
            Endian::Big => u16::from_be_bytes(b),
        }
    }

    #[inline]
    pub(super) fn u32(self, b: [u8; 4]) -> u32 {
        match self {
            Endian::Little => u32::from_le_bytes(b),
            Endian::Big => u32::from_be_bytes(b),
        }
    }

    #[inline]
    pub(super) fn i64(self, b: [u8; 8]) -> i64 {
        match self {
            Endian::Little => i64::from_le_bytes(b),
            Endian::Big => i64::from_be_bytes(b),
        }
    }

    /// The `u16` at `at`, if the slice holds it.
    #[inline]
    pub(super) fn u16_at(self, s: &[u8], at: usize) -> Option<u16> {
        Some(self.u16(array_at(s, at)?))
    }

    /// The `u32` at `at`, if the slice holds it.
    #[inline]
    pub(super) fn u32_at(self, s: &[u8], at: usize) -> Option<u32> {
        Some(self.u32(array_at(s, at)?))
    }

    /// The `i64` at `at`, if the slice holds it.
    #[inline]
    pub(super) fn i64_at(self, s: &[u8], at: usize) -> Option<i64> {
        Some(self.i64(array_at(s, at)?))
    }
}

/// `N` bytes at `at`, if the slice holds them.
#[inline]
pub(super) fn array_at<const N: usize>(s: &[u8], at: usize) -> Option<[u8; N]> {
    s.get(at..)?.first_chunk::<N>().copied()
}

/// `len` rounded up to a multiple of 4 (pcapng padding), or `None` on overflow.
#[inline]
pub(super) fn pad4(len: usize) -> Option<usize> {
    len.checked_add(3).map(|n| n & !3)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_orders() {
        let b = [0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08];
        assert_eq!(Endian::Little.u32_at(&b, 0), Some(0x0403_0201));
        assert_eq!(Endian::Big.u32_at(&b, 4), Some(0x0506_0708));
        assert_eq!(Endian::Big.u16_at(&b, 6), Some(0x0708));
        assert_eq!(Endian::Little.i64_at(&b, 0), Some(0x0807_0605_0403_0201));
    }

    #[test]
    fn short_reads_are_none() {
        let b = [0u8; 5];
        assert_eq!(Endian::Little.u32_at(&b, 2), None);
        assert_eq!(Endian::Little.u32_at(&b, usize::MAX), None);
        assert_eq!(Endian::Little.i64_at(&b, 0), None);
        assert_eq!(Endian::Little.u16_at(&b, 4), None);
    }

    #[test]
    fn padding() {
        assert_eq!(pad4(0), Some(0));
        assert_eq!(pad4(1), Some(4));
        assert_eq!(pad4(4), Some(4));
        assert_eq!(pad4(usize::MAX), None);
    }
}
