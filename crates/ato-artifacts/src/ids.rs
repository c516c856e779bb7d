//! Name-based identifiers: the same inputs give the same UUID, so that the same scan gives the
//! same checklist bytes.

/// A UUID (RFC 9562 version 8, the variant for implementation-defined contents) computed from
/// `parts`: two 64-bit FNV-1a hashes of the parts with different offsets.
pub fn uuid(parts: &[&str]) -> String {
    let hash = |offset: u64| {
        let mut h = offset;
        for p in parts {
            for b in p.bytes().chain(std::iter::once(0u8)) {
                h ^= u64::from(b);
                h = h.wrapping_mul(0x0000_0100_0000_01b3);
            }
        }
        h
    };
    let hi = hash(0xcbf2_9ce4_8422_2325);
    let lo = hash(0x6c62_272e_07bb_0142);
    let hi = (hi & !0xf000) | 0x8000;
    let lo = (lo & !(0b11 << 62)) | (0b10 << 62);
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        hi >> 32,
        (hi >> 16) & 0xffff,
        hi & 0xffff,
        lo >> 48,
        lo & 0xffff_ffff_ffff
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn same_parts_same_uuid_and_version_8() {
        let a = super::uuid(&["a", "b"]);
        assert_eq!(a, super::uuid(&["a", "b"]));
        assert_ne!(a, super::uuid(&["ab"]));
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "8");
    }
}
