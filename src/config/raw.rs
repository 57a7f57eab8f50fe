//! `config.json` as written by the user. Every key is optional here, so that a missing key gets
//! our own message; unknown keys are refused, so a typo never goes unnoticed.

use serde::Deserialize;
use serde_json::{Map, Value};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    #[serde(rename = "//", default)]
    pub _comment: Option<Value>,
    pub app: Option<String>,
    pub region: Option<String>,
    pub profile: Option<String>,
    pub bucket: Option<String>,
    pub key_pair: Option<String>,
    pub ssh_user: Option<String>,
    pub ssh_key_file: Option<String>,
    pub base_ami: Option<String>,
    pub instance_type: Option<String>,
    pub image_parameter: Option<String>,
    pub address: Option<String>,
    pub transport: Option<String>,
    pub ssh_args: Option<Value>,
    pub mitogen: Option<bool>,
    pub formations: Option<String>,
    pub playbooks: Option<String>,
    #[serde(default)]
    pub parameters: Map<String, Value>,
    #[serde(default)]
    pub environments: Map<String, Value>,
    #[serde(default)]
    pub vars: Map<String, Value>,
    #[serde(default)]
    pub timeouts: RawTimeouts,
    /// Checked in `config::dns`, which names the key of any problem.
    pub dns: Option<Value>,
    pub stack_policy: Option<String>,
    pub role_arn: Option<String>,
    pub notification_arns: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEnv {
    #[serde(rename = "//", default)]
    pub _comment: Option<Value>,
    #[serde(default)]
    pub protected: bool,
    #[serde(default)]
    pub parameters: Map<String, Value>,
    pub dns: Option<Value>,
    #[serde(default)]
    pub vars: Map<String, Value>,
    pub stack_policy: Option<String>,
    pub role_arn: Option<String>,
    pub notification_arns: Option<Vec<String>>,
}

/// Deadlines in seconds.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTimeouts {
    #[serde(rename = "//", default)]
    pub _comment: Option<Value>,
    pub stack: Option<u64>,
    pub ssh: Option<u64>,
    pub image: Option<u64>,
    pub dns: Option<u64>,
    pub host: Option<u64>,
}
