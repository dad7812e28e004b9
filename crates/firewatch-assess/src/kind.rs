//! The kinds of stakeholder that carry X.1060 services at national level (the columns of
//! JPCERT/CC's matrices), how they read from a header, which directory team kind each is, and
//! whether it is public or private.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A kind of stakeholder: one column of a national matrix.
///
/// The order is the matrices' column order (JPCERT/CC, Feb 2024), so exports keep it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StakeholderKind {
    /// A national cyber security centre or agency (NISC, CISA, CSA).
    Ncsc,
    /// National CSIRTs (JPCERT/CC, US-CERT, SingCERT).
    NationalCsirt,
    /// Product security incident response teams of vendors.
    Psirt,
    /// CSIRTs of private organisations (their own constituency).
    PrivateCsirt,
    /// Law enforcement and justice.
    LawEnforcement,
    /// Information sharing and analysis centres.
    Isac,
    /// A national (government) security operations centre.
    NationalSoc,
    /// Private security operations centres (in-house or managed).
    PrivateSoc,
    /// Universities and research institutes.
    Academia,
    /// Certificate vendors (certification authorities, auditors).
    CertificateVendor,
}

/// Who runs a kind of stakeholder, for the public/private split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Sector {
    /// Government, or a body with a public mandate.
    Public,
    /// Companies.
    Private,
    /// Universities and research: public in some countries, private in others.
    Academic,
}

impl StakeholderKind {
    /// Every kind, in the matrices' column order.
    pub const ALL: [StakeholderKind; 10] = [
        StakeholderKind::Ncsc,
        StakeholderKind::NationalCsirt,
        StakeholderKind::Psirt,
        StakeholderKind::PrivateCsirt,
        StakeholderKind::LawEnforcement,
        StakeholderKind::Isac,
        StakeholderKind::NationalSoc,
        StakeholderKind::PrivateSoc,
        StakeholderKind::Academia,
        StakeholderKind::CertificateVendor,
    ];

    /// The kebab-case name of JSON, the cells CSV and the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            StakeholderKind::Ncsc => "ncsc",
            StakeholderKind::NationalCsirt => "national-csirt",
            StakeholderKind::Psirt => "psirt",
            StakeholderKind::PrivateCsirt => "private-csirt",
            StakeholderKind::LawEnforcement => "law-enforcement",
            StakeholderKind::Isac => "isac",
            StakeholderKind::NationalSoc => "national-soc",
            StakeholderKind::PrivateSoc => "private-soc",
            StakeholderKind::Academia => "academia",
            StakeholderKind::CertificateVendor => "certificate-vendor",
        }
    }

    /// The column heading of the JPCERT/CC matrices, which a matrix export writes.
    pub fn label(self) -> &'static str {
        match self {
            StakeholderKind::Ncsc => "NCSC",
            StakeholderKind::NationalCsirt => "National CSIRTs",
            StakeholderKind::Psirt => "PSIRT",
            StakeholderKind::PrivateCsirt => "Private CSIRTs",
            StakeholderKind::LawEnforcement => "LE/Justice",
            StakeholderKind::Isac => "ISAC",
            StakeholderKind::NationalSoc => "National SOC",
            StakeholderKind::PrivateSoc => "Private SOC",
            StakeholderKind::Academia => "Academia",
            StakeholderKind::CertificateVendor => "Certificate Vendor",
        }
    }

    /// The directory's team kind (`firewatch_enrich::directory::TeamKind`, kebab-case) whose
    /// teams carry this kind's cells, so a cell can name them. `None` where the directory has
    /// no kind that fits: an organisation's own CSIRT is not a sector CSIRT, and certificate
    /// vendors are not incident teams; the caller shows such cells without teams.
    pub fn directory_kind(self) -> Option<&'static str> {
        match self {
            StakeholderKind::Ncsc => Some("ncsc"),
            StakeholderKind::NationalCsirt => Some("national-csirt"),
            StakeholderKind::Psirt => Some("psirt"),
            StakeholderKind::PrivateCsirt => None,
            StakeholderKind::LawEnforcement => Some("law-enforcement"),
            StakeholderKind::Isac => Some("isac"),
            StakeholderKind::NationalSoc | StakeholderKind::PrivateSoc => Some("soc"),
            StakeholderKind::Academia => Some("academia"),
            StakeholderKind::CertificateVendor => None,
        }
    }

    /// Public or private, as the slides read them: the NCSC, national CSIRTs (a public mandate
    /// even where, like JPCERT/CC, the team is a non-profit), law enforcement and the national
    /// SOC are public; PSIRTs, private CSIRTs, ISACs (industry-run), private SOCs and
    /// certificate vendors are private; academia is its own sector, since universities are
    /// public in some countries and private in others.
    pub fn sector(self) -> Sector {
        match self {
            StakeholderKind::Ncsc
            | StakeholderKind::NationalCsirt
            | StakeholderKind::LawEnforcement
            | StakeholderKind::NationalSoc => Sector::Public,
            StakeholderKind::Psirt
            | StakeholderKind::PrivateCsirt
            | StakeholderKind::Isac
            | StakeholderKind::PrivateSoc
            | StakeholderKind::CertificateVendor => Sector::Private,
            StakeholderKind::Academia => Sector::Academic,
        }
    }

    /// Reads a heading or a name: the matrices' label ("LE/Justice", "National CSIRTs"), the
    /// kebab-case name, or either in the singular or plural, in any case and spacing.
    pub fn parse(text: &str) -> Option<StakeholderKind> {
        let key: String = text
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_lowercase())
            .collect();
        let kind = match key.as_str() {
            "ncsc" | "ncscs" => StakeholderKind::Ncsc,
            "nationalcsirt" | "nationalcsirts" => StakeholderKind::NationalCsirt,
            "psirt" | "psirts" => StakeholderKind::Psirt,
            "privatecsirt" | "privatecsirts" => StakeholderKind::PrivateCsirt,
            "lejustice" | "le" | "lawenforcement" => StakeholderKind::LawEnforcement,
            "isac" | "isacs" => StakeholderKind::Isac,
            "nationalsoc" | "nationalsocs" => StakeholderKind::NationalSoc,
            "privatesoc" | "privatesocs" => StakeholderKind::PrivateSoc,
            "academia" => StakeholderKind::Academia,
            "certificatevendor" | "certificatevendors" => StakeholderKind::CertificateVendor,
            _ => return None,
        };
        Some(kind)
    }

    /// The kinds, for an error message.
    pub(crate) fn known() -> String {
        StakeholderKind::ALL.map(StakeholderKind::as_str).join(", ")
    }
}

impl Sector {
    /// The kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Sector::Public => "public",
            Sector::Private => "private",
            Sector::Academic => "academic",
        }
    }
}

impl fmt::Display for StakeholderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_names_read_back() {
        for kind in StakeholderKind::ALL {
            assert_eq!(StakeholderKind::parse(kind.label()), Some(kind));
            assert_eq!(StakeholderKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(StakeholderKind::parse("Police"), None);
    }

    #[test]
    fn directory_kinds_are_the_directorys_spellings() {
        // TeamKind's names in firewatch-enrich's directory; this crate may not import it.
        const TEAM_KINDS: [&str; 9] = [
            "national-csirt",
            "sector-csirt",
            "psirt",
            "isac",
            "soc",
            "ncsc",
            "law-enforcement",
            "academia",
            "other",
        ];
        for kind in StakeholderKind::ALL {
            if let Some(team) = kind.directory_kind() {
                assert!(TEAM_KINDS.contains(&team), "{kind}: {team}");
            }
        }
    }
}
