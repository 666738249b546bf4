//! HASH: the SHA-256 digest (the `sha2` crate) of a string's UTF-8 bytes,
//! or of a byte list (READ_BYTES' form), as 64 lower-case hex digits.

use sha2::{Digest, Sha256};
use ttvm_runtime::Value;

/// The SHA-256 of `bytes`, in lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// HASH of a Str or of a List of byte Ints (0..=255), or the error message.
pub fn hash(v: &Value) -> Result<String, String> {
    match v {
        Value::Str(s) => Ok(sha256_hex(s.as_bytes())),
        Value::List(_) => Ok(sha256_hex(&super::host::bytes_of(v, "HASH")?)),
        other => Err(format!(
            "type error: HASH needs a Str or a List of bytes, got {}",
            other.type_name()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digests() {
        // FIPS 180-2 examples.
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            hash(&Value::str("abc")).unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let bytes = Value::list(b"abc".iter().map(|&b| Value::Int(b as i64)).collect());
        assert_eq!(hash(&bytes).unwrap(), hash(&Value::str("abc")).unwrap());
        assert!(hash(&Value::Int(1)).unwrap_err().contains("got Int"));
        let bad = Value::list(vec![Value::Int(256)]);
        assert!(hash(&bad).unwrap_err().contains("element 0"));
    }
}
