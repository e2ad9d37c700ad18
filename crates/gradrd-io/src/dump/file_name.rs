//! File names made from data (tensor names): always one path component
//! inside the folder it is written in, never a way out of it.
//!
//! Every byte of the name outside `[A-Za-z0-9._-]` is percent-encoded as
//! `%XX` (RFC 3986 §2.1, upper-case hex of each UTF-8 byte), `%` included,
//! so distinct names give distinct file names: `blocks.0.attn` stays as it
//! is, `step_000300/a/head.weight` becomes `step_000300%2Fa%2Fhead.weight`,
//! `../escape` becomes `%2E.%2Fescape` and `/tmp/x` becomes `%2Ftmp%2Fx`. A
//! leading `.` is encoded too (no `.`, `..` or hidden file), and the empty
//! name is `%` (which no other name gives). A name whose encoding exceeds [`MAX_COMPONENT`]
//! bytes keeps its first bytes and ends in `~` and the 16 hex digits of the
//! name's 64-bit FNV-1a hash, so it stays distinct and fits the 255-byte
//! limit of common filesystems with room for a suffix.
//!
//! The other way, names made from file names ([`os_text`]): a file or
//! folder name that is valid UTF-8 is taken as it is; one that is not keeps
//! its valid parts and spells each other byte `%XX`, and its `%` as `%25`,
//! so two different non-UTF-8 names never give the same tensor name (the
//! lossy `U+FFFD` spelling made every such name alike). Should a UTF-8 name
//! spell the same text (`a%FF` beside a file named `a` + byte `0xFF`), the
//! two collide like any other same-named tensors and the collision rule
//! reports them.

/// The longest component returned, in bytes.
pub const MAX_COMPONENT: usize = 200;

/// `name` as one safe path component (see the module doc).
pub fn file_component(name: &str) -> String {
    if name.is_empty() {
        return "%".to_string();
    }
    let mut out = String::with_capacity(name.len());
    for (i, byte) in name.bytes().enumerate() {
        let plain =
            byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'-') || (byte == b'.' && i > 0);
        if plain {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    if out.len() <= MAX_COMPONENT {
        return out;
    }
    let suffix = format!("~{:016x}", fnv1a(name.as_bytes()));
    let mut keep = MAX_COMPONENT - suffix.len();
    // never cut inside a %XX escape
    while out.as_bytes()[..keep]
        .iter()
        .rev()
        .take(2)
        .any(|&b| b == b'%')
    {
        keep -= 1;
    }
    out.truncate(keep);
    out + &suffix
}

/// A file or folder name as text, losslessly (see the module doc).
pub fn os_text(name: &std::ffi::OsStr) -> String {
    if let Some(text) = name.to_str() {
        return text.to_string();
    }
    let mut out = String::new();
    for chunk in name.as_encoded_bytes().utf8_chunks() {
        for c in chunk.valid().chars() {
            if c == '%' {
                out.push_str("%25");
            } else {
                out.push(c);
            }
        }
        for byte in chunk.invalid() {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// 64-bit FNV-1a (Fowler, Noll, Vo; offset basis 0xcbf29ce484222325, prime 0x100000001b3).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn non_utf8_file_names_stay_distinct_and_utf8_ones_unchanged() {
        use std::ffi::OsStr;
        use std::os::unix::ffi::OsStrExt;
        assert_eq!(os_text(OsStr::new("fc1.weight%")), "fc1.weight%");
        assert_eq!(os_text(OsStr::from_bytes(b"a\xff")), "a%FF");
        assert_eq!(os_text(OsStr::from_bytes(b"a\xfe")), "a%FE");
        assert_eq!(
            os_text(OsStr::from_bytes(b"50%\xe9t\xc3\xa9")),
            "50%25%E9t\u{e9}"
        );
    }
    use proptest::prelude::*;

    #[test]
    fn names_that_would_leave_the_folder_stay_in_it() {
        for (name, expected) in [
            ("blocks.0.attn.qkv.weight", "blocks.0.attn.qkv.weight"),
            ("step_000300/a/head.weight", "step_000300%2Fa%2Fhead.weight"),
            ("../escape/a", "%2E.%2Fescape%2Fa"),
            ("/tmp/x", "%2Ftmp%2Fx"),
            ("..", "%2E."),
            (".", "%2E"),
            ("", "%"),
            ("_", "_"),
            ("a\nb\u{1b}[31m", "a%0Ab%1B%5B31m"),
            ("100%", "100%25"),
            ("C:\\x", "C%3A%5Cx"),
        ] {
            assert_eq!(file_component(name), expected, "{name:?}");
        }
    }

    #[test]
    fn fnv1a_matches_the_published_test_vectors() {
        // draft-eastlake-fnv: FNV-1a 64 of "" and "a"
        assert_eq!(fnv1a(b""), 0xcbf29ce484222325);
        assert_eq!(fnv1a(b"a"), 0xaf63dc4c8601ec8c);
        assert_eq!(fnv1a(b"foobar"), 0x85944171f73967e8);
    }

    proptest! {
        #[test]
        fn one_bounded_component_and_distinct(a in "\\PC{0,120}", b in "\\PC{0,120}") {
            for name in [&a, &b] {
                let c = file_component(name);
                prop_assert!(!c.is_empty() && c.len() <= MAX_COMPONENT);
                prop_assert!(!c.contains('/') && !c.contains('\\') && !c.starts_with('.'));
                prop_assert!(c.bytes().all(|b| b.is_ascii_graphic()));
            }
            if a != b {
                prop_assert_ne!(file_component(&a), file_component(&b));
            }
        }
    }
}
