//! Import of a Trusted-Introducer-style team listing (CSV).
//!
//! # Accepted header
//!
//! The canonical header is [`TI_HEADER`]:
//!
//! ```text
//! Team Name,Short Name,Country,Type,Email,Phone,PGP Key Fingerprint,Membership,Constituency
//! ```
//!
//! Columns are matched by name, in any order, ignoring case, spaces and `_`; only
//! `Team Name` is required. Also accepted: `Website` (a URL contact) and `Emergency Phone`
//! (a phone contact answered 24/7). Other columns are ignored and listed in
//! [`TeamImport::ignored_columns`].
//!
//! | column | becomes |
//! |---|---|
//! | Team Name | `name` |
//! | Short Name | `id`, as a slug (`CERT-XX` → `cert-xx`); the team name's slug when empty |
//! | Country | `country`, an ISO 3166-1 alpha-2 code (`KE`); names are refused |
//! | Type | `kind`: the kebab-case kind, or words: national, government/ncsc, sector, psirt/vendor, isac, soc/commercial, law enforcement/police, academic/research/education/nren |
//! | Email | e-mail contacts, several separated by `;` |
//! | Phone | phone contacts, several separated by `;` |
//! | PGP Key Fingerprint | `openpgp.fingerprint`; spaces removed, upper-cased |
//! | Membership | `memberships`, separated by `;` or `,` |
//! | Constituency | tokens separated by `;`, `,` or spaces: `AS64500`, a prefix `192.0.2.0/24`, a country code `KE`, or a domain `example.org` |
//!
//! Imported teams get `max_tlp = green`: a listing says nothing about what a team may
//! receive, so sharing beyond the community waits until someone raises it.

use super::validate::{contact_problem, domain_problem, fingerprint_problem};
use super::{
    Constituency, Contact, ContactKind, CountryCode, Directory, DirectoryError, OpenPgpKey, Team,
    TeamId, TeamKind, TlpLevel,
};
use std::collections::HashSet;

/// The canonical header of the CSV listing.
pub const TI_HEADER: &str =
    "Team Name,Short Name,Country,Type,Email,Phone,PGP Key Fingerprint,Membership,Constituency";

/// A row that was not imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// 1-based line of the row in the file.
    pub line: u64,
    /// Why the row was refused (all reasons, separated by `; `).
    pub message: String,
}

/// The result of an import: the good rows as teams, the bad rows with their line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TeamImport {
    /// Teams built from good rows, in file order.
    pub teams: Vec<Team>,
    /// Rows refused, in file order.
    pub rejected: Vec<RowError>,
    /// Header columns that were not understood and so ignored.
    pub ignored_columns: Vec<String>,
}

impl TeamImport {
    /// The imported teams as a directory. Row checks do not include cross-team rules
    /// (overlapping prefixes); run [`Directory::validate`] before using it.
    pub fn into_directory(self) -> Directory {
        Directory { teams: self.teams }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Col {
    Name,
    Short,
    Country,
    Kind,
    Email,
    Phone,
    EmergencyPhone,
    Website,
    Fingerprint,
    Membership,
    Constituency,
}

fn column(header: &str) -> Option<Col> {
    let key: String = header
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '_')
        .flat_map(char::to_lowercase)
        .collect();
    Some(match key.as_str() {
        "teamname" | "name" => Col::Name,
        "shortname" | "id" => Col::Short,
        "country" => Col::Country,
        "type" | "kind" => Col::Kind,
        "email" | "e-mail" => Col::Email,
        "phone" | "telephone" => Col::Phone,
        "emergencyphone" => Col::EmergencyPhone,
        "website" | "url" => Col::Website,
        "pgpkeyfingerprint" | "pgpfingerprint" | "openpgpfingerprint" => Col::Fingerprint,
        "membership" | "memberships" => Col::Membership,
        "constituency" => Col::Constituency,
        _ => return None,
    })
}

/// `CERT-XX (Example)` → `cert-xx-example`.
fn slug(text: &str) -> String {
    let mut s = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            s.push(c.to_ascii_lowercase());
        } else if !s.ends_with('-') && !s.is_empty() {
            s.push('-');
        }
    }
    while s.ends_with('-') {
        s.pop();
    }
    s.truncate(64);
    while s.ends_with('-') {
        s.pop();
    }
    s
}

fn kind_of(text: &str) -> TeamKind {
    let t = text.trim().to_ascii_lowercase();
    if let Ok(kind) = serde_json::from_value::<TeamKind>(serde_json::Value::String(t.clone())) {
        return kind;
    }
    let has = |words: &[&str]| words.iter().any(|w| t.contains(w));
    if has(&["national"]) {
        TeamKind::NationalCsirt
    } else if has(&[
        "government",
        "ncsc",
        "cyber security cent",
        "cybersecurity cent",
    ]) {
        TeamKind::Ncsc
    } else if has(&["psirt", "vendor", "product"]) {
        TeamKind::Psirt
    } else if has(&["isac"]) {
        TeamKind::Isac
    } else if has(&["law enforcement", "police"]) {
        TeamKind::LawEnforcement
    } else if has(&["academ", "research", "education", "nren", "universit"]) {
        TeamKind::Academia
    } else if has(&["sector", "financ", "health", "energy"]) {
        TeamKind::SectorCsirt
    } else if has(&["soc", "commercial", "service provider"]) {
        TeamKind::Soc
    } else {
        TeamKind::Other
    }
}

fn split_list<'a>(text: &'a str, seps: &'a [char]) -> impl Iterator<Item = &'a str> + 'a {
    text.split(move |c: char| seps.contains(&c))
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

fn constituency_of(text: &str, errors: &mut Vec<String>) -> Constituency {
    let mut c = Constituency::default();
    for token in split_list(text, &[';', ',', ' ', '\t']) {
        let upper = token.to_ascii_uppercase();
        if let Some(n) = upper.strip_prefix("AS").and_then(|n| n.parse::<u32>().ok()) {
            c.asns.push(n);
        } else if let Ok(net) = token.parse::<ipnet::IpNet>() {
            c.prefixes.push(net);
        } else if token.len() == 2 {
            match token.parse::<CountryCode>() {
                Ok(cc) if cc.is_assigned() => c.countries.push(cc),
                _ => errors.push(format!("constituency `{token}` is not a country code")),
            }
        } else if token.contains('.') && domain_problem(token).is_none() {
            c.domains
                .push(token.trim_end_matches('.').to_ascii_lowercase());
        } else {
            errors.push(format!(
                "constituency `{token}` is neither an ASN (AS64500), a prefix, a country code nor a domain"
            ));
        }
    }
    c
}

/// Reads a Trusted-Introducer-style CSV listing (see the module documentation for the
/// header). Bad rows are reported with their line and skipped; good rows are kept. Fails as
/// a whole only when the header is unusable or the text cannot be read as CSV.
///
/// ```
/// use firewatch_enrich::directory::import_trusted_introducer_csv;
/// let csv = "Team Name,Short Name,Country,Type,Email\n\
///            Example CERT,EX-CERT,KE,National CSIRT,cert@example.org\n\
///            ,NONAME,KE,,\n";
/// let import = import_trusted_introducer_csv(csv.as_bytes(), "ti.csv").unwrap();
/// assert_eq!(import.teams[0].id.as_str(), "ex-cert");
/// assert_eq!(import.rejected[0].line, 3);
/// ```
pub fn import_trusted_introducer_csv<R: std::io::Read>(
    reader: R,
    origin: &str,
) -> Result<TeamImport, DirectoryError> {
    let fail = |message: String| DirectoryError::Import {
        origin: origin.to_string(),
        message,
    };
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(reader);
    let headers = rdr
        .headers()
        .map_err(|e| fail(format!("cannot read the header: {e}")))?
        .clone();
    let mut import = TeamImport::default();
    let mut cols: Vec<Option<Col>> = Vec::with_capacity(headers.len());
    for h in headers.iter() {
        let col = column(h);
        if col.is_none() && !h.is_empty() {
            import.ignored_columns.push(h.to_string());
        }
        cols.push(col);
    }
    if !cols.contains(&Some(Col::Name)) {
        return Err(fail(format!(
            "the header has no `Team Name` column; expected: {TI_HEADER}"
        )));
    }
    let mut ids: HashSet<String> = HashSet::new();
    for record in rdr.records() {
        let record = record.map_err(|e| fail(format!("not readable as CSV: {e}")))?;
        let line = record.position().map_or(0, |p| p.line());
        let get = |want: Col| {
            cols.iter()
                .zip(record.iter())
                .find(|(c, _)| **c == Some(want))
                .map_or("", |(_, v)| v)
        };
        if record.iter().all(str::is_empty) {
            continue;
        }
        let mut errors = Vec::new();
        let name = get(Col::Name).to_string();
        if name.is_empty() {
            errors.push("`Team Name` is empty".to_string());
        }
        let short = get(Col::Short);
        let id = slug(if short.is_empty() { &name } else { short });
        if id.is_empty() && !name.is_empty() {
            errors.push("no usable `Short Name` or `Team Name` for an id".to_string());
        }
        let country = match get(Col::Country) {
            "" => None,
            text => match text.parse::<CountryCode>() {
                Ok(cc) if cc.is_assigned() => Some(cc),
                _ => {
                    errors.push(format!(
                        "country `{text}` is not an ISO 3166-1 alpha-2 code (like KE)"
                    ));
                    None
                }
            },
        };
        let mut contacts = Vec::new();
        let mut push_contacts = |col: Col, kind: ContactKind, available_24_7: bool| {
            for v in split_list(get(col), &[';']) {
                match contact_problem(kind, v) {
                    Some(m) => errors.push(m),
                    None => contacts.push(Contact {
                        kind,
                        value: v.to_string(),
                        available_24_7,
                        role: None,
                    }),
                }
            }
        };
        push_contacts(Col::Email, ContactKind::Email, false);
        push_contacts(Col::Phone, ContactKind::Phone, false);
        push_contacts(Col::EmergencyPhone, ContactKind::Phone, true);
        push_contacts(Col::Website, ContactKind::Url, false);
        let openpgp = match get(Col::Fingerprint) {
            "" => None,
            text => {
                let fp: String = text
                    .chars()
                    .filter(|c| !c.is_whitespace())
                    .collect::<String>()
                    .to_ascii_uppercase();
                match fingerprint_problem(&fp) {
                    Some(m) => {
                        errors.push(m);
                        None
                    }
                    None => Some(OpenPgpKey {
                        fingerprint: fp,
                        armored: None,
                    }),
                }
            }
        };
        let memberships = split_list(get(Col::Membership), &[';', ','])
            .map(str::to_string)
            .collect();
        let constituency = constituency_of(get(Col::Constituency), &mut errors);
        if errors.is_empty() && !ids.insert(id.clone()) {
            errors.push(format!("duplicate team id `{id}` (from Short Name)"));
        }
        if !errors.is_empty() {
            import.rejected.push(RowError {
                line,
                message: errors.join("; "),
            });
            continue;
        }
        import.teams.push(Team {
            id: TeamId::new(id),
            name,
            kind: kind_of(get(Col::Kind)),
            country,
            constituency,
            contacts,
            openpgp,
            max_tlp: TlpLevel::Green,
            memberships,
            national_poc: false,
            regional_coordinator_for: Vec::new(),
            default: false,
        });
    }
    Ok(import)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        assert_eq!(slug("CERT-XX (Example)"), "cert-xx-example");
        assert_eq!(slug("  --  "), "");
    }

    #[test]
    fn kinds() {
        assert_eq!(kind_of("National CSIRT"), TeamKind::NationalCsirt);
        assert_eq!(kind_of("psirt"), TeamKind::Psirt);
        assert_eq!(kind_of("Research & Education"), TeamKind::Academia);
        assert_eq!(kind_of("Financial Sector"), TeamKind::SectorCsirt);
        assert_eq!(kind_of("law-enforcement"), TeamKind::LawEnforcement);
        assert_eq!(kind_of("whatever"), TeamKind::Other);
    }
}
