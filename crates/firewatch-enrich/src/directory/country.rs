//! ISO 3166-1 alpha-2 country codes.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// An ISO 3166-1 alpha-2 country code, stored upper-case (`KE`, `JP`, `EE`).
///
/// Parsing accepts any two ASCII letters in either case; [`CountryCode::is_assigned`] tells
/// whether the code is officially assigned, which is what directory validation checks. Parsing
/// stays lenient so that a directory with several bad codes reports all of them, with lines,
/// instead of stopping at the first.
///
/// ```
/// use firewatch_enrich::directory::CountryCode;
/// let ke: CountryCode = "ke".parse().unwrap();
/// assert_eq!(ke.as_str(), "KE");
/// assert!(ke.is_assigned());
/// assert!(!"ZZ".parse::<CountryCode>().unwrap().is_assigned());
/// assert!("KEN".parse::<CountryCode>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CountryCode([u8; 2]);

/// Officially assigned ISO 3166-1 alpha-2 codes, plus `XK` (Kosovo), a user-assigned code that
/// registries and CSIRT directories use in practice.
const ASSIGNED: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ \
BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ \
CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ \
DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR \
GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY \
HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP \
KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY \
MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ \
NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA \
RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ \
TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ \
VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW XK";

impl CountryCode {
    /// Builds a code from two ASCII letters (either case); `None` otherwise.
    pub fn new(letters: [u8; 2]) -> Option<CountryCode> {
        if letters.iter().all(u8::is_ascii_alphabetic) {
            Some(CountryCode([
                letters[0].to_ascii_uppercase(),
                letters[1].to_ascii_uppercase(),
            ]))
        } else {
            None
        }
    }

    /// The upper-case code, e.g. `"KE"`.
    pub fn as_str(&self) -> &str {
        // Only ASCII letters are ever stored.
        std::str::from_utf8(&self.0).unwrap_or("??")
    }

    /// Whether ISO 3166-1 assigns this code (or it is `XK`).
    pub fn is_assigned(&self) -> bool {
        ASSIGNED
            .as_bytes()
            .chunks(3)
            .any(|c| c[0] == self.0[0] && c[1] == self.0[1])
    }
}

/// Why a text is not a country code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an ISO 3166-1 alpha-2 country code (two letters, like KE or JP)")]
pub struct CountryCodeError(pub String);

impl FromStr for CountryCode {
    type Err = CountryCodeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        match t.as_bytes() {
            [a, b] => CountryCode::new([*a, *b]).ok_or_else(|| CountryCodeError(s.to_string())),
            _ => Err(CountryCodeError(s.to_string())),
        }
    }
}

impl fmt::Display for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for CountryCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for CountryCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_has_every_assigned_code_once() {
        let codes: Vec<&str> = ASSIGNED.split(' ').collect();
        assert_eq!(codes.len(), 250, "249 ISO codes + XK");
        let mut sorted = codes.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), codes.len());
        assert!(codes.iter().all(|c| c.len() == 2));
    }
}
