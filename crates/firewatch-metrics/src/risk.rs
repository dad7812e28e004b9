//! The risks measured, how an event is recognised as one, and the amplification factors.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A kind of risky host counted per day.
///
/// Amplifiers come from Shadowserver scan reports (their `classification.identifier`);
/// scanners, Mirai-like bots and DoS victims from the darknet (feed `Firewatch-Darknet`) or any
/// feed that classifies events the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Risk {
    /// Open DNS resolvers (`dns-open-resolver`, Shadowserver `scan_dns`/`scan6_dns`).
    OpenDns,
    /// NTP servers answering mode 7 `monlist` (`ntp-monitor`, `scan_ntpmonitor`).
    OpenNtp,
    /// NTP servers answering mode 6 `version` (`ntp-version`, `scan_ntp`); no factor.
    NtpVersion,
    /// Open SSDP (`open-ssdp`, `scan_ssdp`).
    OpenSsdp,
    /// Open SNMP (`open-snmp`, `scan_snmp`).
    OpenSnmp,
    /// Open CHARGEN (`open-chargen`, `scan_chargen`).
    OpenChargen,
    /// Hosts scanning (classification.type `scanner` with a source address).
    Scanner,
    /// Mirai-like bots (`malware.name` or `classification.identifier` `mirai`).
    MiraiBot,
    /// DoS victims seen through their backscatter (`classification.identifier` `backscatter`).
    DdosVictim,
}

/// Every risk, in display order.
pub const RISKS: [Risk; 9] = [
    Risk::OpenDns,
    Risk::OpenNtp,
    Risk::NtpVersion,
    Risk::OpenSsdp,
    Risk::OpenSnmp,
    Risk::OpenChargen,
    Risk::Scanner,
    Risk::MiraiBot,
    Risk::DdosVictim,
];

/// Bandwidth amplification factors (BAF) from C. Rossow, "Amplification Hell: Revisiting
/// Network Protocols for DDoS Abuse", NDSS 2014, Table 3 (the "all amplifiers" column):
/// the UDP payload a reflector sends per byte of request payload.
pub mod rossow2014 {
    /// NTP `monlist`.
    pub const NTP: f64 = 556.9;
    /// CHARGEN.
    pub const CHARGEN: f64 = 358.8;
    /// SSDP.
    pub const SSDP: f64 = 30.8;
    /// SNMP v2 `GetBulk`.
    pub const SNMP: f64 = 6.3;
    /// DNS open resolvers (Rossow's DNS_OR); the lower end of the DNS range.
    pub const DNS_OPEN_RESOLVER: f64 = 28.7;
    /// DNS name servers (Rossow's DNS_NS); the upper end of the DNS range.
    pub const DNS_NAME_SERVER: f64 = 54.6;
    /// The DNS factor CyberGreen used (between the two), our default for open resolvers.
    pub const DNS_CYBERGREEN: f64 = 41.0;
}

impl Risk {
    /// The stable identifier used in exports, the store and `--risk`.
    pub fn id(self) -> &'static str {
        match self {
            Risk::OpenDns => "open-dns",
            Risk::OpenNtp => "open-ntp",
            Risk::NtpVersion => "ntp-version",
            Risk::OpenSsdp => "open-ssdp",
            Risk::OpenSnmp => "open-snmp",
            Risk::OpenChargen => "open-chargen",
            Risk::Scanner => "scanner",
            Risk::MiraiBot => "mirai-bot",
            Risk::DdosVictim => "ddos-victim",
        }
    }

    /// A name for people.
    pub fn name(self) -> &'static str {
        match self {
            Risk::OpenDns => "Open DNS resolvers",
            Risk::OpenNtp => "Open NTP (monlist)",
            Risk::NtpVersion => "NTP (version)",
            Risk::OpenSsdp => "Open SSDP",
            Risk::OpenSnmp => "Open SNMP",
            Risk::OpenChargen => "Open CHARGEN",
            Risk::Scanner => "Scanners",
            Risk::MiraiBot => "Mirai-like bots",
            Risk::DdosVictim => "DoS victims",
        }
    }

    /// The risk with this [`Risk::id`].
    pub fn from_id(id: &str) -> Option<Risk> {
        RISKS.into_iter().find(|r| r.id() == id)
    }

    /// The amplification factor of a reflector of this kind, if it is one Rossow measured.
    /// `dns` is the configured DNS factor (28.7–54.6; CyberGreen used 41).
    pub fn amplification(self, dns: f64) -> Option<f64> {
        match self {
            Risk::OpenDns => Some(dns),
            Risk::OpenNtp => Some(rossow2014::NTP),
            Risk::OpenSsdp => Some(rossow2014::SSDP),
            Risk::OpenSnmp => Some(rossow2014::SNMP),
            Risk::OpenChargen => Some(rossow2014::CHARGEN),
            // `version` answers are a few hundred bytes; Rossow's 556.9 is for `monlist` only.
            Risk::NtpVersion | Risk::Scanner | Risk::MiraiBot | Risk::DdosVictim => None,
        }
    }
}

impl fmt::Display for Risk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// The fields of an event that say which risk it shows (IntelMQ names in the comments).
#[derive(Debug, Clone, Copy, Default)]
pub struct EventKind<'a> {
    /// `classification.type`.
    pub classification_type: Option<&'a str>,
    /// `classification.identifier`.
    pub identifier: Option<&'a str>,
    /// `malware.name`.
    pub malware: Option<&'a str>,
}

/// The risk an event shows, if it is one measured here.
///
/// ```
/// use firewatch_metrics::{EventKind, Risk, classify};
/// let dns = EventKind { identifier: Some("dns-open-resolver"), ..Default::default() };
/// assert_eq!(classify(&dns), Some(Risk::OpenDns));
/// let bot = EventKind {
///     classification_type: Some("infected-system"),
///     identifier: Some("mirai"),
///     malware: Some("mirai"),
/// };
/// assert_eq!(classify(&bot), Some(Risk::MiraiBot));
/// ```
pub fn classify(e: &EventKind<'_>) -> Option<Risk> {
    let id = e.identifier.unwrap_or("");
    let by_identifier = match id {
        "dns-open-resolver" => Some(Risk::OpenDns),
        "ntp-monitor" => Some(Risk::OpenNtp),
        "ntp-version" => Some(Risk::NtpVersion),
        "open-ssdp" => Some(Risk::OpenSsdp),
        "open-snmp" => Some(Risk::OpenSnmp),
        "open-chargen" => Some(Risk::OpenChargen),
        "backscatter" => Some(Risk::DdosVictim),
        _ => None,
    };
    if by_identifier.is_some() {
        return by_identifier;
    }
    if e.malware.is_some_and(|m| m.eq_ignore_ascii_case("mirai")) || id == "mirai" {
        return Some(Risk::MiraiBot);
    }
    // The telescope's port alerts are scanner events about a port, not a host (they carry no
    // source address either).
    let port_alert = matches!(id, "darknet-spike" | "darknet-new-campaign");
    if e.classification_type == Some("scanner") && !port_alert {
        return Some(Risk::Scanner);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_match_serde() {
        for r in RISKS {
            assert_eq!(Risk::from_id(r.id()), Some(r));
            assert_eq!(serde_json::to_value(r).unwrap(), r.id());
        }
    }

    #[test]
    fn shadowserver_identifiers_and_darknet_events() {
        let k = |t: Option<&'static str>, i: Option<&'static str>, m: Option<&'static str>| {
            classify(&EventKind {
                classification_type: t,
                identifier: i,
                malware: m,
            })
        };
        let vs = Some("vulnerable-system");
        assert_eq!(k(vs, Some("ntp-monitor"), None), Some(Risk::OpenNtp));
        assert_eq!(k(vs, Some("ntp-version"), None), Some(Risk::NtpVersion));
        assert_eq!(k(vs, Some("open-chargen"), None), Some(Risk::OpenChargen));
        assert_eq!(k(vs, Some("open-redis"), None), None);
        assert_eq!(k(Some("scanner"), Some("zmap"), None), Some(Risk::Scanner));
        assert_eq!(
            k(Some("scanner"), Some("darknet-scanner"), None),
            Some(Risk::Scanner)
        );
        assert_eq!(k(Some("scanner"), Some("darknet-spike"), None), None);
        assert_eq!(
            k(Some("ddos"), Some("backscatter"), None),
            Some(Risk::DdosVictim)
        );
        assert_eq!(
            k(Some("infected-system"), None, Some("Mirai")),
            Some(Risk::MiraiBot)
        );
        assert_eq!(k(None, None, None), None);
    }
}
