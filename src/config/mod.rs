//! `config.json`, checked: every problem is one line naming the file and the key.

pub mod dns;
mod env;
mod params;
mod raw;
mod stack;

pub use dns::{DnsSettings, ZoneRef};
pub use env::EnvConfig;
pub use params::{read_private, ParamSource, VarSource};
pub use stack::{StackPolicy, StackSettings};

use crate::error::{Error, Result};
use crate::names;
use raw::{RawConfig, RawEnv};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Which address of a host `manage` connects to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AddressKind {
    PrivateIp,
    PublicIp,
    PrivateDns,
    PublicDns,
    /// The instance id: the address Session Manager (`"transport": "ssm"`) takes.
    InstanceId,
}

/// How `manage` reaches hosts: the system `ssh` straight to the address, or through AWS
/// Session Manager (`AWS-StartSSHSession` as the ProxyCommand, no open port).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Transport {
    Ssh,
    Ssm,
}

#[derive(Debug, Clone)]
pub struct Timeouts {
    pub stack: Duration,
    pub ssh: Duration,
    pub image: Duration,
    /// Until a Route53 change is INSYNC.
    pub dns: Duration,
    /// An instance reaching a state, its status checks, a root-volume replacement.
    pub host: Duration,
}

#[derive(Debug, Clone)]
pub struct EnvSettings {
    pub protected: bool,
    pub parameters: BTreeMap<String, ParamSource>,
    pub dns: dns::EnvDns,
    pub vars: BTreeMap<String, VarSource>,
    /// This env's `stack_policy`, `role_arn` and `notification_arns`, where it sets them.
    pub stack: StackSettings,
}

#[derive(Debug, Clone)]
pub struct Config {
    /// The config file, as given (for messages).
    pub path: PathBuf,
    pub app: String,
    pub region: Option<String>,
    pub profile: Option<String>,
    pub bucket: String,
    pub key_pair: Option<String>,
    pub ssh_user: String,
    pub ssh_key_file: Option<PathBuf>,
    pub base_ami: String,
    pub instance_type: String,
    pub image_parameter: String,
    pub address: AddressKind,
    pub transport: Transport,
    /// Extra `ssh` options (config key `ssh_args`), after ours and before the user's ~/.ssh/config.
    pub ssh_args: Vec<String>,
    /// Run the playbooks with Mitogen's strategy (config key `mitogen`), unless the operator's
    /// own Ansible configuration names a strategy.
    pub mitogen: bool,
    pub formations: PathBuf,
    pub playbooks: PathBuf,
    pub parameters: BTreeMap<String, ParamSource>,
    pub environments: BTreeMap<String, EnvSettings>,
    /// Variables for the playbooks, for every env.
    pub vars: BTreeMap<String, VarSource>,
    pub timeouts: Timeouts,
    /// The top-level `dns` keys; `EnvConfig` merges them with the env's.
    pub dns: Option<dns::DnsPartial>,
    /// The top-level `stack_policy`, `role_arn` and `notification_arns`: every env's default.
    pub stack: StackSettings,
}

impl Config {
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            let hint = if e.kind() == std::io::ErrorKind::NotFound {
                " (copy config.example.json to config.json, or pass --config PATH)"
            } else {
                ""
            };
            Error::input(format!(
                "{}: cannot read: {}{hint}",
                path.display(),
                params::io_reason(&e)
            ))
        })?;
        Self::parse(path, &text)
    }

    pub fn parse(path: &Path, text: &str) -> Result<Self> {
        let bad = |msg: String| Error::input(format!("{}: {msg}", path.display()));
        let mut de = serde_json::Deserializer::from_str(text);
        let raw: RawConfig = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let inner = e.inner();
            let at = e.path().to_string();
            if inner.is_syntax() || inner.is_eof() || at == "." {
                bad(format!("invalid JSON: {inner}"))
            } else {
                // serde lists every known key after an unknown one: too long for one line.
                let msg = inner.to_string();
                let msg = msg
                    .split(", expected one of")
                    .next()
                    .unwrap_or(&msg)
                    .to_owned();
                bad(format!("key \"{at}\": {msg} (see config.example.json)"))
            }
        })?;
        // "" rather than "." for a config in the current folder, so paths read "formations/…".
        let dir = path.parent().unwrap_or(Path::new("")).to_path_buf();
        from_raw(path, &dir, raw).map_err(bad)
    }

    pub fn env_settings(&self, env: &str) -> Option<&EnvSettings> {
        self.environments.get(env)
    }

    /// The SSM parameter that names the base AMI (`"base_ami": "resolve:ssm:NAME"`), read
    /// when the image is needed; None when `base_ami` is an AMI id.
    pub fn base_ami_parameter(&self) -> Option<&str> {
        self.base_ami.strip_prefix(SSM_PREFIX)
    }
}

/// `base_ami` naming an SSM parameter, as EC2's own `ImageId` takes it.
const SSM_PREFIX: &str = "resolve:ssm:";

/// An AMI id, or `resolve:ssm:` and a parameter name (`/aws/service/...`, or one of your own).
fn check_base_ami(value: &str) -> Result<(), String> {
    let ok = match value.strip_prefix(SSM_PREFIX) {
        Some(name) => {
            !name.is_empty()
                && name.len() <= 2048
                && !name.chars().any(char::is_whitespace)
                && (name.starts_with('/') || !name.contains('/') || name.starts_with("arn:"))
        }
        None => value.starts_with("ami-") && !value.chars().any(char::is_whitespace),
    };
    if ok {
        return Ok(());
    }
    Err(format!(
        "key \"base_ami\": \"{value}\" is not an AMI id (ami-…) or an SSM parameter (resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64)"
    ))
}

fn required(value: Option<String>, key: &str) -> Result<String, String> {
    match value {
        Some(v) if !v.trim().is_empty() => Ok(v),
        Some(_) => Err(format!("key \"{key}\" is empty (see config.example.json)")),
        None => Err(format!(
            "key \"{key}\" is missing (see config.example.json)"
        )),
    }
}

fn from_raw(path: &Path, dir: &Path, raw: RawConfig) -> Result<Config, String> {
    let app = required(raw.app, "app")?;
    names::check_name_part("app", &app).map_err(|e| format!("key \"app\": {e}"))?;
    let bucket = required(raw.bucket, "bucket")?;
    check_bucket(&bucket)?;
    let base_ami = required(raw.base_ami, "base_ami")?;
    check_base_ami(&base_ami)?;
    let address = match raw.address.as_deref() {
        None | Some("private_ip") => AddressKind::PrivateIp,
        Some("public_ip") => AddressKind::PublicIp,
        Some("private_dns") => AddressKind::PrivateDns,
        Some("public_dns") => AddressKind::PublicDns,
        Some("instance_id") => AddressKind::InstanceId,
        Some(other) => {
            return Err(format!(
                "key \"address\": \"{other}\" is not one of private_ip, public_ip, private_dns, public_dns, instance_id"
            ))
        }
    };
    let transport = match raw.transport.as_deref() {
        None | Some("ssh") => Transport::Ssh,
        Some("ssm") => Transport::Ssm,
        Some(other) => {
            return Err(format!(
                "key \"transport\": \"{other}\" is not one of ssh, ssm"
            ))
        }
    };
    let address = match (transport, raw.address.as_deref()) {
        (Transport::Ssm, None | Some("instance_id")) => AddressKind::InstanceId,
        (Transport::Ssm, Some(other)) => {
            return Err(format!(
                "key \"address\": \"{other}\" cannot be used with \"transport\": \"ssm\", which reaches hosts by instance id (remove \"address\")"
            ))
        }
        _ => address,
    };
    let ssh_args = parse_ssh_args(raw.ssh_args.as_ref())?;
    let parameters = parse_params("parameters", &raw.parameters, dir)?;
    let mut environments = BTreeMap::new();
    for (name, value) in &raw.environments {
        names::check_name_part("env", name)
            .map_err(|e| format!("key \"environments.{name}\": {e}"))?;
        let env: RawEnv = serde_path_to_error::deserialize(value.clone()).map_err(|e| {
            match e.path().to_string().as_str() {
                "." => format!("key \"environments.{name}\": {}", e.inner()),
                at => format!("key \"environments.{name}.{at}\": {}", e.inner()),
            }
        })?;
        let key = format!("environments.{name}.parameters");
        environments.insert(
            name.clone(),
            EnvSettings {
                protected: env.protected,
                parameters: parse_params(&key, &env.parameters, dir)?,
                dns: dns::parse_env(&format!("environments.{name}.dns"), env.dns.as_ref())?,
                vars: parse_vars(&format!("environments.{name}.vars"), &env.vars, dir)?,
                stack: stack::parse(
                    &format!("environments.{name}."),
                    dir,
                    env.stack_policy.as_deref(),
                    env.role_arn,
                    env.notification_arns,
                )?,
            },
        );
    }
    let secs = |v: Option<u64>, default: u64, key: &str| match v {
        Some(0) => Err(format!(
            "key \"timeouts.{key}\" must be more than 0 seconds"
        )),
        v => Ok(Duration::from_secs(v.unwrap_or(default))),
    };
    let stack = stack::parse(
        "",
        dir,
        raw.stack_policy.as_deref(),
        raw.role_arn,
        raw.notification_arns,
    )?;
    Ok(Config {
        path: path.to_path_buf(),
        app,
        region: raw.region.filter(|r| !r.is_empty()),
        profile: raw.profile.filter(|p| !p.is_empty()),
        bucket,
        key_pair: raw.key_pair.filter(|k| !k.is_empty()),
        ssh_user: raw.ssh_user.unwrap_or_else(|| "ubuntu".to_owned()),
        ssh_key_file: raw.ssh_key_file.map(|f| dir.join(f)),
        base_ami,
        instance_type: raw.instance_type.unwrap_or_else(|| "t3.micro".to_owned()),
        image_parameter: raw.image_parameter.unwrap_or_else(|| "ImageId".to_owned()),
        address,
        transport,
        ssh_args,
        mitogen: raw.mitogen.unwrap_or(false),
        formations: dir.join(raw.formations.as_deref().unwrap_or("formations")),
        playbooks: dir.join(raw.playbooks.as_deref().unwrap_or("playbooks")),
        parameters,
        environments,
        vars: parse_vars("vars", &raw.vars, dir)?,
        timeouts: Timeouts {
            stack: secs(raw.timeouts.stack, 1800, "stack")?,
            ssh: secs(raw.timeouts.ssh, 300, "ssh")?,
            image: secs(raw.timeouts.image, 1800, "image")?,
            dns: secs(raw.timeouts.dns, 300, "dns")?,
            host: secs(raw.timeouts.host, 900, "host")?,
        },
        dns: raw.dns.as_ref().map(|v| dns::parse("dns", v)).transpose()?,
        stack,
    })
}

/// `ssh_args`: a list of arguments (`["-J", "bastion"]`), or one string split at whitespace.
fn parse_ssh_args(value: Option<&serde_json::Value>) -> Result<Vec<String>, String> {
    use serde_json::Value;
    let bad = || {
        "key \"ssh_args\": must be a list of strings such as [\"-J\", \"bastion\"], or one string"
            .to_owned()
    };
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(s.split_whitespace().map(str::to_owned).collect()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| i.as_str().map(str::to_owned).ok_or_else(bad))
            .collect(),
        Some(_) => Err(bad()),
    }
}

fn parse_params(
    key: &str,
    map: &serde_json::Map<String, serde_json::Value>,
    dir: &Path,
) -> Result<BTreeMap<String, ParamSource>, String> {
    map.iter()
        .filter(|(name, _)| name.as_str() != "//")
        .map(|(name, value)| {
            ParamSource::parse(&format!("{key}.{name}"), value, dir).map(|p| (name.clone(), p))
        })
        .collect()
}

fn parse_vars(
    key: &str,
    map: &serde_json::Map<String, serde_json::Value>,
    dir: &Path,
) -> Result<BTreeMap<String, VarSource>, String> {
    map.iter()
        .filter(|(name, _)| name.as_str() != "//")
        .map(|(name, value)| {
            VarSource::parse(&format!("{key}.{name}"), value, dir).map(|v| (name.clone(), v))
        })
        .collect()
}

fn check_bucket(bucket: &str) -> Result<(), String> {
    let ok_chars = bucket
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
    let ends_ok = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if (3..=63).contains(&bucket.len())
        && ok_chars
        && ends_ok(bucket.chars().next())
        && ends_ok(bucket.chars().last())
    {
        Ok(())
    } else {
        Err(format!("key \"bucket\": \"{bucket}\" is not a valid S3 bucket name (3-63 lowercase letters, digits, dots and dashes)"))
    }
}

#[cfg(test)]
mod tests;
