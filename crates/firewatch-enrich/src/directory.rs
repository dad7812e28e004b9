//! The team directory: which CSIRTs exist, what they are responsible for (their
//! constituency), how to reach them, their OpenPGP key and the highest TLP they may receive.
//!
//! Every team is an equal peer: a national CSIRT, a sector CSIRT, a PSIRT or an ISAC is
//! described by the same [`Team`] record. The directory is a TOML file (see
//! `examples/teams.toml`), JSON for the API, or an import of a Trusted-Introducer-style CSV
//! listing ([`import_trusted_introducer_csv`]).
//!
//! ```
//! use firewatch_enrich::directory::{Directory, TlpLevel};
//! let text = r#"
//! [[teams]]
//! id = "example-cert"
//! name = "Example CERT"
//! kind = "national-csirt"
//! country = "KE"
//! max_tlp = "amber"
//! constituency = { countries = ["KE"], prefixes = ["203.0.113.0/24"] }
//! "#;
//! let dir = Directory::from_toml_str(text, "teams.toml").unwrap();
//! let team = dir.team("example-cert").unwrap();
//! assert!(team.may_receive(TlpLevel::Green));
//! assert!(!team.may_receive(TlpLevel::Red));
//! ```
//!
//! # Loading contract
//!
//! Loading either returns a whole, valid [`Directory`] or an error listing *every* problem
//! found, each with the source name and line. Nothing is partially applied: a caller that
//! already holds a directory keeps using it when a reload fails (see
//! [`crate::routing::LiveDirectory`], which does exactly that).

mod country;
mod import;
mod validate;

pub use country::{CountryCode, CountryCodeError};
pub use import::{RowError, TI_HEADER, TeamImport, import_trusted_introducer_csv};
pub use validate::{Field, Problem, ValidationPolicy};

use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use std::fmt;

pub use firewatch_core::tlp::{TlpLevel, TlpLevelError};

/// A team's identifier: a slug of lower-case ASCII letters, digits and `-`
/// (`example-cert`), unique in the directory.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TeamId(String);

impl TeamId {
    /// Wraps a text as an id without checking it; [`Directory::validate`] checks the shape.
    pub fn new(id: impl Into<String>) -> TeamId {
        TeamId(id.into())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the id is a slug: 1 to 64 of `a-z`, `0-9`, `-`, starting and ending with a
    /// letter or digit.
    pub fn is_slug(&self) -> bool {
        let b = self.0.as_bytes();
        let ok = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
        !b.is_empty()
            && b.len() <= 64
            && b.iter().all(|c| ok(c) || *c == b'-')
            && ok(&b[0])
            && ok(&b[b.len() - 1])
    }
}

impl fmt::Display for TeamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::borrow::Borrow<str> for TeamId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

/// What kind of team this is. All kinds are peers; the kind informs people, not routing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TeamKind {
    /// A national CSIRT (CERT of an economy).
    NationalCsirt,
    /// A CSIRT for one sector (finance, health, energy, research networks...).
    SectorCsirt,
    /// A product security incident response team of a vendor.
    Psirt,
    /// An information sharing and analysis centre.
    Isac,
    /// A security operations centre.
    Soc,
    /// A national cyber security centre or government agency.
    Ncsc,
    /// A law enforcement unit.
    LawEnforcement,
    /// A university or research CSIRT.
    Academia,
    /// Anything else.
    Other,
}

impl TeamKind {
    /// The kebab-case name used in TOML and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            TeamKind::NationalCsirt => "national-csirt",
            TeamKind::SectorCsirt => "sector-csirt",
            TeamKind::Psirt => "psirt",
            TeamKind::Isac => "isac",
            TeamKind::Soc => "soc",
            TeamKind::Ncsc => "ncsc",
            TeamKind::LawEnforcement => "law-enforcement",
            TeamKind::Academia => "academia",
            TeamKind::Other => "other",
        }
    }
}

/// What a team is responsible for. A team may claim any mix; routing takes the most specific
/// claim (see [`crate::routing`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Constituency {
    /// Economies the team covers as a whole (a national CSIRT's own country).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub countries: Vec<CountryCode>,
    /// Autonomous systems the team covers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub asns: Vec<u32>,
    /// Address prefixes the team covers, IPv4 or IPv6, written as networks (`192.0.2.0/24`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prefixes: Vec<IpNet>,
    /// DNS domains the team covers; a claim covers every subdomain (`example.org` covers
    /// `mail.example.org`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub domains: Vec<String>,
}

impl Constituency {
    /// Whether the team claims nothing.
    pub fn is_empty(&self) -> bool {
        self.countries.is_empty()
            && self.asns.is_empty()
            && self.prefixes.is_empty()
            && self.domains.is_empty()
    }
}

/// How a contact is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ContactKind {
    /// An e-mail address (`cert@example.org`).
    Email,
    /// A telephone number, international format (`+254 20 000 0000`).
    Phone,
    /// A web page or reporting form (`https://...`).
    Url,
}

/// One way to reach a team.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    /// E-mail, phone or URL.
    pub kind: ContactKind,
    /// The address, number or URL.
    pub value: String,
    /// Whether someone answers around the clock.
    #[serde(default, skip_serializing_if = "is_false")]
    pub available_24_7: bool,
    /// What the contact is for, free text (`incident-reports`, `emergency`, `abuse`, `pgp`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
}

/// A team's OpenPGP key. Only the shape is checked here; key handling lives with the mailer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenPgpKey {
    /// The v4 fingerprint: 40 hexadecimal characters, no spaces.
    pub fingerprint: String,
    /// The ASCII-armored public key (`-----BEGIN PGP PUBLIC KEY BLOCK-----` ... `END`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub armored: Option<String>,
}

/// One team of the directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Team {
    /// Unique slug (`example-cert`).
    pub id: TeamId,
    /// Full name (`Example National CERT`).
    pub name: String,
    /// What kind of team it is.
    pub kind: TeamKind,
    /// The economy where the team sits, if any (a multinational PSIRT may have none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<CountryCode>,
    /// What the team is responsible for.
    #[serde(default, skip_serializing_if = "Constituency::is_empty")]
    pub constituency: Constituency,
    /// How to reach the team.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contacts: Vec<Contact>,
    /// The team's OpenPGP key, for encrypted reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub openpgp: Option<OpenPgpKey>,
    /// The most restrictive TLP level the team may receive.
    pub max_tlp: TlpLevel,
    /// Networks the team belongs to (`FIRST`, `APCERT`, `AfricaCERT`, `OIC-CERT`, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub memberships: Vec<String>,
    /// Whether the team is its economy's national point of contact (PoC directories).
    #[serde(default, skip_serializing_if = "is_false")]
    pub national_poc: bool,
    /// Countries for which this team is the regional coordinator: it receives what no team of
    /// those countries claims.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub regional_coordinator_for: Vec<CountryCode>,
    /// The catch-all team for everything nobody claims; at most one per directory.
    #[serde(default, skip_serializing_if = "is_false")]
    pub default: bool,
}

impl Team {
    /// Whether information at `level` may be sent to this team (`level <= max_tlp`).
    pub fn may_receive(&self, level: TlpLevel) -> bool {
        level <= self.max_tlp
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// The team directory.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Directory {
    /// The teams, in file order.
    #[serde(default)]
    pub teams: Vec<Team>,
}

/// Why a directory could not be loaded or written.
#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    /// The text is not valid TOML, or does not fit the model (unknown field, wrong type).
    #[error("{origin}:{line}:{column}: {message}")]
    Syntax {
        /// The file (or other source) name.
        origin: String,
        /// 1-based line of the problem.
        line: usize,
        /// 1-based column of the problem.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// The directory parsed but breaks rules (duplicate ids, overlapping prefixes...).
    #[error("{}", render_problems(origin, problems))]
    Invalid {
        /// The file (or other source) name.
        origin: String,
        /// Every problem found, in file order.
        problems: Vec<Problem>,
    },
    /// A CSV listing could not be read at all (bad header, I/O).
    #[error("{origin}: {message}")]
    Import {
        /// The file (or other source) name.
        origin: String,
        /// What is wrong.
        message: String,
    },
    /// Reading a file failed.
    #[error("{origin}: {source}")]
    Io {
        /// The file name.
        origin: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Writing the directory failed.
    #[error("cannot write the directory as {format}: {message}")]
    Write {
        /// `toml` or `json`.
        format: &'static str,
        /// What went wrong.
        message: String,
    },
}

fn render_problems(origin: &str, problems: &[Problem]) -> String {
    let mut s = format!(
        "{origin}: {} problem{} in the team directory; nothing was loaded",
        problems.len(),
        if problems.len() == 1 { "" } else { "s" }
    );
    for p in problems {
        s.push_str("\n  ");
        s.push_str(&p.render(origin));
    }
    s
}

impl DirectoryError {
    /// The problems of an [`DirectoryError::Invalid`] error; empty for other errors.
    pub fn problems(&self) -> &[Problem] {
        match self {
            DirectoryError::Invalid { problems, .. } => problems,
            _ => &[],
        }
    }
}

/// 1-based (line, column) of a byte offset.
pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text.as_bytes()[..offset];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    (line, offset - line_start + 1)
}

impl Directory {
    /// Parses and validates a TOML directory with the default (strict) [`ValidationPolicy`].
    ///
    /// `origin` names the source in errors (`teams.toml`). On error nothing is returned, so a
    /// caller keeps whatever directory it already had.
    pub fn from_toml_str(text: &str, origin: &str) -> Result<Directory, DirectoryError> {
        Directory::from_toml_str_with(text, origin, &ValidationPolicy::default())
    }

    /// Parses and validates a TOML directory with the given policy.
    pub fn from_toml_str_with(
        text: &str,
        origin: &str,
        policy: &ValidationPolicy,
    ) -> Result<Directory, DirectoryError> {
        let dir: Directory = toml::from_str(text).map_err(|e| {
            let (line, column) = e.span().map_or((1, 1), |s| line_col(text, s.start));
            DirectoryError::Syntax {
                origin: origin.to_string(),
                line,
                column,
                message: e.message().trim().to_string(),
            }
        })?;
        match dir.validate(policy) {
            Ok(()) => Ok(dir),
            Err(mut problems) => {
                validate::locate_in_toml(text, &mut problems);
                Err(DirectoryError::Invalid {
                    origin: origin.to_string(),
                    problems,
                })
            }
        }
    }

    /// Reads and validates a TOML directory file; errors name the path.
    pub fn load_toml_file(path: &std::path::Path) -> Result<Directory, DirectoryError> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| DirectoryError::Io {
            origin: origin.clone(),
            source,
        })?;
        Directory::from_toml_str(&text, &origin)
    }

    /// Parses and validates a JSON directory (`{"teams": [...]}`, the same fields as TOML).
    /// Problems found by validation carry no line (JSON is machine-written); they name the
    /// team instead.
    pub fn from_json_str(text: &str, origin: &str) -> Result<Directory, DirectoryError> {
        let dir: Directory = serde_json::from_str(text).map_err(|e| DirectoryError::Syntax {
            origin: origin.to_string(),
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        })?;
        dir.validate(&ValidationPolicy::default())
            .map_err(|problems| DirectoryError::Invalid {
                origin: origin.to_string(),
                problems,
            })?;
        Ok(dir)
    }

    /// Writes the directory as TOML (`[[teams]]` tables), loadable by
    /// [`Directory::from_toml_str`].
    pub fn to_toml(&self) -> Result<String, DirectoryError> {
        toml::to_string_pretty(self).map_err(|e| DirectoryError::Write {
            format: "toml",
            message: e.to_string(),
        })
    }

    /// Writes the directory as pretty JSON.
    pub fn to_json(&self) -> Result<String, DirectoryError> {
        serde_json::to_string_pretty(self).map_err(|e| DirectoryError::Write {
            format: "json",
            message: e.to_string(),
        })
    }

    /// Checks every rule and returns all problems (without lines; the TOML loader adds them).
    ///
    /// Rules: ids are unique slugs; names are not empty; country codes are assigned ISO
    /// 3166-1 codes; prefixes are written as networks; no two teams claim the same prefix,
    /// nor (unless the policy allows it) nested prefixes; domains are plain DNS names;
    /// contacts look like what their kind says; OpenPGP fingerprints are 40 hex characters
    /// and armored keys look like armored public keys; at most one default team.
    pub fn validate(&self, policy: &ValidationPolicy) -> Result<(), Vec<Problem>> {
        let problems = validate::check(self, policy);
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }

    /// The team with this id.
    pub fn team(&self, id: &str) -> Option<&Team> {
        self.teams.iter().find(|t| t.id.as_str() == id)
    }

    /// The catch-all team, if one is marked `default = true`.
    pub fn default_team(&self) -> Option<&Team> {
        self.teams.iter().find(|t| t.default)
    }
}

/// The last address of a network, as a number (IPv4 in the low 32 bits).
pub(crate) fn net_last(net: &IpNet) -> u128 {
    validate::net_range(net).2
}
