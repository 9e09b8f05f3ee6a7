//! Job ids: 13 random base32 characters (65 bits), easy to type and to read aloud.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Crockford's base32 alphabet, lower case (no i, l, o, u).
pub(crate) const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
/// Characters in an id: 13 × 5 = 65 random bits.
pub const ID_LEN: usize = 13;

/// A job id: 13 random base32 characters (65 bits), easy to type and to read aloud.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct JobId(String);

impl JobId {
    /// A fresh random id.
    pub fn random() -> Self {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes).expect("the OS random source works");
        let mut n = u128::from_le_bytes(bytes);
        let mut s = String::with_capacity(ID_LEN);
        for _ in 0..ID_LEN {
            s.push(ALPHABET[(n & 31) as usize] as char);
            n >>= 5;
        }
        JobId(s)
    }

    /// Parses a user-typed id (case-insensitive).
    pub fn parse(s: &str) -> Result<Self> {
        let lower = s.trim().to_ascii_lowercase();
        if lower.len() != ID_LEN || !lower.bytes().all(|b| ALPHABET.contains(&b)) {
            return Err(Error::InvalidArgument(format!("{s:?} is not a job id ({ID_LEN} base32 characters)")));
        }
        Ok(JobId(lower))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for JobId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_random_typable_and_parse_back() {
        let a = JobId::random();
        let b = JobId::random();
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), ID_LEN);
        assert_eq!(JobId::parse(&a.as_str().to_uppercase()).unwrap(), a);
        assert_eq!(JobId::parse("short").unwrap_err().code(), "INVALID_ARGUMENT");
        assert!(JobId::parse("iiiiiiiiiiiii").is_err(), "i is not in the alphabet");
    }
}
