use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The partner's product id (`/api/v1/inventory/{productId}`): a positive integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ProductId(u32);

/// A path or query id that is not a positive integer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{input}` is not a valid id: expected a positive integer such as 14")]
pub struct ParseIdError {
    /// What was given.
    pub input: String,
}

impl ProductId {
    /// Wraps a raw id. Zero is rejected because the partner never issues it.
    pub fn new(raw: u32) -> Result<Self, ParseIdError> {
        if raw == 0 {
            return Err(ParseIdError {
                input: raw.to_string(),
            });
        }
        Ok(Self(raw))
    }

    /// The numeric id.
    pub fn get(self) -> u32 {
        self.0
    }
}

impl FromStr for ProductId {
    type Err = ParseIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let error = || ParseIdError {
            input: s.chars().take(40).collect(),
        };
        if !is_canonical_decimal(s) {
            return Err(error());
        }
        s.parse::<u32>()
            .ok()
            .and_then(|raw| Self::new(raw).ok())
            .ok_or_else(error)
    }
}

/// Plain digits without a sign or a leading zero: the one spelling of an id, so `014` and
/// `+14` are refused rather than taken for product 14 (a `DELETE` of `014` must not delete 14).
fn is_canonical_decimal(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'))
}

impl fmt::Display for ProductId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Id of one recorded sync run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RunId(pub i64);

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for RunId {
    type Err = ParseIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.parse::<i64>() {
            Ok(raw) if raw > 0 && is_canonical_decimal(s) => Ok(Self(raw)),
            _ => Err(ParseIdError {
                input: s.chars().take(40).collect(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn product_ids_are_plain_positive_integers() {
        assert_eq!("14".parse::<ProductId>().unwrap().get(), 14);
        for bad in [
            "",
            "0",
            "-1",
            "+3",
            "1.5",
            "abc",
            "99999999999",
            "014",
            "00",
            "0x1",
            " 14",
            "14 ",
        ] {
            assert!(bad.parse::<ProductId>().is_err(), "{bad} must be rejected");
        }
    }

    #[test]
    fn ids_have_one_spelling() {
        assert_eq!("10".parse::<ProductId>().unwrap().get(), 10);
        assert_eq!("7".parse::<RunId>().unwrap(), RunId(7));
        for bad in ["07", "+7", "-7", "0", "", "7a"] {
            assert!(
                bad.parse::<RunId>().is_err(),
                "run id {bad} must be rejected"
            );
        }
    }
}
