//! The `dns` settings: a hosted zone (by name, or by a stack output holding its id), the TTL
//! and which address the A records carry. Set at the top level and per env; an env's keys win
//! one by one, and `"dns": false` under an env turns DNS off for it.

use super::AddressKind;
use serde::Deserialize;
use serde_json::Value;

/// TTLs `manage` accepts, in seconds. Hosts come and go, so a record should not be cached for
/// longer than a day.
pub const TTL_RANGE: std::ops::RangeInclusive<u32> = 1..=86_400;
pub const DEFAULT_TTL: u32 = 60;

/// How the hosted zone is found.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ZoneRef {
    /// A domain name, looked up with ListHostedZonesByName (no trailing dot, lower case).
    Name(String),
    /// The name of a stack output that holds the zone's id.
    Output(String),
}

/// The checked settings for one env.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DnsSettings {
    pub zone: ZoneRef,
    pub ttl: u32,
    /// `PrivateIp` or `PublicIp`: A records hold IP addresses.
    pub address: AddressKind,
    /// With two zones of one name (split horizon): true picks the private one, false the public.
    pub private: Option<bool>,
}

/// One level's keys (top level or one env), each checked but not yet merged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DnsPartial {
    pub zone: Option<ZoneRef>,
    pub ttl: Option<u32>,
    pub address: Option<AddressKind>,
    pub private: Option<bool>,
}

/// What an env says about DNS.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum EnvDns {
    #[default]
    Inherit,
    Off,
    Override(DnsPartial),
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDns {
    #[serde(rename = "//", default)]
    _comment: Option<Value>,
    zone: Option<String>,
    zone_output: Option<String>,
    ttl: Option<i64>,
    address: Option<String>,
    private: Option<bool>,
}

/// Check one level's `dns` object; `key` is where it sits (`dns`, `environments.qa.dns`).
pub fn parse(key: &str, value: &Value) -> Result<DnsPartial, String> {
    let raw: RawDns =
        serde_json::from_value(value.clone()).map_err(|e| format!("key \"{key}\": {e}"))?;
    let zone = match (raw.zone, raw.zone_output) {
        (Some(_), Some(_)) => {
            return Err(format!(
                "key \"{key}\": give \"zone\" or \"zone_output\", not both"
            ))
        }
        (Some(z), None) => Some(ZoneRef::Name(
            check_zone(&z).map_err(|e| format!("key \"{key}.zone\": {e}"))?,
        )),
        (None, Some(o)) => {
            if o.is_empty() || o.len() > 255 || !o.chars().all(|c| c.is_ascii_alphanumeric()) {
                return Err(format!(
                    "key \"{key}.zone_output\": \"{o}\" is not a stack output name (letters and digits)"
                ));
            }
            Some(ZoneRef::Output(o))
        }
        (None, None) => None,
    };
    let ttl = match raw.ttl {
        None => None,
        Some(t) if (i64::from(*TTL_RANGE.start())..=i64::from(*TTL_RANGE.end())).contains(&t) => {
            Some(t as u32)
        }
        Some(t) => {
            return Err(format!(
                "key \"{key}.ttl\": {t} is out of range; use {} to {} seconds",
                TTL_RANGE.start(),
                TTL_RANGE.end()
            ))
        }
    };
    let address = match raw.address.as_deref() {
        None => None,
        Some("private_ip") => Some(AddressKind::PrivateIp),
        Some("public_ip") => Some(AddressKind::PublicIp),
        Some(other) => {
            return Err(format!(
                "key \"{key}.address\": \"{other}\" is not private_ip or public_ip (A records hold IP addresses)"
            ))
        }
    };
    Ok(DnsPartial {
        zone,
        ttl,
        address,
        private: raw.private,
    })
}

/// An env's `dns` value: `false` (off) or an object of overrides.
pub fn parse_env(key: &str, value: Option<&Value>) -> Result<EnvDns, String> {
    match value {
        None | Some(Value::Null) => Ok(EnvDns::Inherit),
        Some(Value::Bool(false)) => Ok(EnvDns::Off),
        Some(v @ Value::Object(_)) => parse(key, v).map(EnvDns::Override),
        Some(_) => Err(format!(
            "key \"{key}\": expected an object ({{\"zone\": …}}) or false"
        )),
    }
}

/// The env's settings: the top level's keys, then the env's. None when DNS is not configured
/// (or is off for this env). `address` is the top-level connect address when no level sets one;
/// a DNS-name kind stands for the IP behind it.
pub fn merge(
    env: &str,
    top: Option<&DnsPartial>,
    over: &EnvDns,
    connect: AddressKind,
) -> Result<Option<DnsSettings>, String> {
    let over = match over {
        EnvDns::Off => return Ok(None),
        EnvDns::Inherit => None,
        EnvDns::Override(p) => Some(p),
    };
    if top.is_none() && over.is_none() {
        return Ok(None);
    }
    let zone = over
        .and_then(|p| p.zone.clone())
        .or_else(|| top.and_then(|p| p.zone.clone()))
        .ok_or_else(|| {
            format!(
                "key \"environments.{env}.dns\": needs \"zone\" or \"zone_output\" (here or in the top-level \"dns\")"
            )
        })?;
    let address = pick(over, top, |p| p.address).unwrap_or(match connect {
        AddressKind::PrivateIp | AddressKind::PrivateDns | AddressKind::InstanceId => {
            AddressKind::PrivateIp
        }
        AddressKind::PublicIp | AddressKind::PublicDns => AddressKind::PublicIp,
    });
    Ok(Some(DnsSettings {
        zone,
        ttl: pick(over, top, |p| p.ttl).unwrap_or(DEFAULT_TTL),
        address,
        private: pick(over, top, |p| p.private),
    }))
}

/// The env's value of a key when it sets one, else the top level's.
fn pick<T>(
    over: Option<&DnsPartial>,
    top: Option<&DnsPartial>,
    f: fn(&DnsPartial) -> Option<T>,
) -> Option<T> {
    over.and_then(f).or_else(|| top.and_then(f))
}

/// A domain name: labels of letters, digits, `-` and `_` (1 to 63 characters, no `-` at either
/// end), 253 characters in all. Returned in lower case without a trailing dot.
pub fn check_zone(zone: &str) -> Result<String, String> {
    let name = zone.strip_suffix('.').unwrap_or(zone).to_ascii_lowercase();
    if name.is_empty() || name.len() > 253 {
        return Err(format!(
            "\"{zone}\" is not a domain name (1 to 253 characters)"
        ));
    }
    for label in name.split('.') {
        check_label(label).map_err(|e| format!("\"{zone}\" is not a domain name: {e}"))?;
    }
    Ok(name)
}

/// One DNS label: 1 to 63 of a-z, 0-9, `-` and `_`, not starting or ending with `-`.
pub fn check_label(label: &str) -> Result<(), String> {
    let ok_chars = label
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if label.is_empty() {
        Err("empty label".into())
    } else if label.len() > 63 {
        Err(format!("label \"{label}\" is longer than 63 characters"))
    } else if !ok_chars {
        Err(format!(
            "label \"{label}\" has a character other than a-z, 0-9, - and _"
        ))
    } else if label.starts_with('-') || label.ends_with('-') {
        Err(format!("label \"{label}\" starts or ends with -"))
    } else {
        Ok(())
    }
}
