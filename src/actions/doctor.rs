//! `doctor` and `<env> doctor`: is this machine, this config and this AWS account ready? One
//! line per check with what was found, or what to do. Every check runs, whatever failed before
//! it; a check that needs one that failed is skipped and says which. Exit 0 only when all pass.

use crate::ansible::mitogen;
use crate::aws::{self, s3, Clients, Target};
use crate::config::{Config, EnvConfig, Transport};
use crate::error::{Error, Result};
use crate::ui::{Mark, Ui};
use crate::{preflight, process};
use serde::Serialize;
use std::fmt;
use std::path::{Path, PathBuf};

/// What doctor is given: the command line's own values, before any check.
pub struct Inputs {
    pub config: PathBuf,
    pub env: Option<String>,
    pub params: Vec<String>,
    /// `--region`, `--profile`, `--endpoint-url` (the config's region and profile are added
    /// when it loads).
    pub target: Target,
}

#[derive(Serialize)]
pub struct Check {
    pub check: &'static str,
    pub status: Mark,
    /// What was found, or (failed) the error line with what to do.
    pub detail: String,
}

#[derive(Serialize)]
pub struct Report {
    pub env: Option<String>,
    /// True when every check passed.
    pub ok: bool,
    pub checks: Vec<Check>,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rows = self
            .checks
            .iter()
            .map(|c| (c.status, c.check, c.detail.as_str()));
        write!(f, "{}", crate::ui::checklist(rows))
    }
}

#[derive(Default)]
struct Checks(Vec<Check>);

impl Checks {
    fn add(&mut self, check: &'static str, result: Result<String>) -> bool {
        let (status, detail) = match result {
            Ok(found) => (Mark::Ok, found),
            Err(e) => (Mark::Fail, e.to_string()),
        };
        self.0.push(Check {
            check,
            status,
            detail,
        });
        status == Mark::Ok
    }

    fn skip(&mut self, check: &'static str, needs: &str) {
        self.0.push(Check {
            check,
            status: Mark::Skip,
            detail: format!("needs {needs}"),
        });
    }
}

pub async fn run(inputs: Inputs, ui: &Ui) -> Result<()> {
    let mut checks = Checks::default();
    let config = config_check(&inputs, &mut checks);
    tool_checks(config.as_ref(), &mut checks).await;
    let mut target = inputs.target.clone();
    if let Some(c) = &config {
        target.config_region = c.region.clone();
        target.profile = target.profile.or_else(|| c.profile.clone());
    }
    let clients = aws_checks(&target, &mut checks).await;
    match (&config, &clients) {
        (Some(c), Some(cl)) => {
            let env = inputs.env.as_deref().unwrap_or("<env>");
            bucket_checks(c, cl, env, &mut checks).await
        }
        _ => {
            for check in ["bucket", "bucket private", "bucket encrypted"] {
                checks.skip(check, "a valid config and AWS access");
            }
        }
    }
    if inputs.env.is_some() {
        match (&config, &clients) {
            (Some(c), Some(cl)) => env_checks(c, cl, &mut checks).await,
            _ => {
                checks.skip("key pair", "a valid config and AWS access");
                checks.skip("base AMI", "a valid config and AWS access");
            }
        }
    }
    let count = |m: Mark| checks.0.iter().filter(|c| c.status == m).count();
    let (failed, skipped, total) = (count(Mark::Fail), count(Mark::Skip), checks.0.len());
    ui.result(&Report {
        env: inputs.env,
        ok: failed == 0,
        checks: checks.0,
    });
    match failed + skipped {
        0 => Ok(()),
        _ => Err(Error::Checks {
            failed,
            skipped,
            total,
        }),
    }
}

/// The config loads and checks (and with an env, the env's settings): the config to go on with.
fn config_check(inputs: &Inputs, checks: &mut Checks) -> Option<Config> {
    let loaded = Config::load(&inputs.config).and_then(|config| match &inputs.env {
        Some(env) => EnvConfig::new(config, env, &inputs.params).map(|e| e.config),
        None => Ok(config),
    });
    let found = loaded.as_ref().map(|c| {
        let env = inputs
            .env
            .as_deref()
            .map(|e| format!(", env {e}"))
            .unwrap_or_default();
        format!("{}: app {}{env}", c.path.display(), c.app)
    });
    match found {
        Ok(found) => {
            checks.add("config", Ok(found));
            loaded.ok()
        }
        Err(_) => {
            checks.add("config", loaded.map(|_| String::new()));
            None
        }
    }
}

/// Ansible (and Mitogen when the config turns it on), ssh, the SSH key file, and what the
/// transport needs.
async fn tool_checks(config: Option<&Config>, checks: &mut Checks) {
    let found = preflight::ansible();
    let ansible_path = found.as_ref().ok().cloned();
    let ansible = match found {
        Ok(path) => Ok(version(&path, "--version").await),
        Err(e) => Err(e),
    };
    checks.add("ansible", ansible);
    if let Some(config) = config.filter(|c| c.mitogen) {
        match &ansible_path {
            Some(path) => {
                let m = mitogen::locate(&config.path, path).await.map(|m| {
                    let strategy = mitogen::STRATEGY;
                    format!(
                        "mitogen {} for {} (strategy {strategy})",
                        m.version, m.python
                    )
                });
                checks.add("mitogen", m);
            }
            None => checks.skip("mitogen", "ansible"),
        }
    }
    let ssh = match preflight::ssh_client() {
        Ok(path) => Ok(version(&path, "-V").await),
        Err(e) => Err(e),
    };
    let ssh_ok = checks.add("ssh", ssh);
    let Some(config) = config else {
        checks.skip("ssh key", "a valid config");
        checks.skip("transport", "a valid config");
        return;
    };
    let key = preflight::key_file(config).map(|key| match key {
        Some((path, mode)) => format!("{} (mode {mode:04o})", path.display()),
        None => "no \"ssh_key_file\": ssh uses its own keys (agent, ~/.ssh/config)".to_owned(),
    });
    checks.add("ssh key", key);
    checks.add("transport", transport(config, ssh_ok).await);
}

async fn transport(config: &Config, ssh_ok: bool) -> Result<String> {
    let args = match config.ssh_args.is_empty() {
        true => String::new(),
        false => format!(" with ssh_args {}", config.ssh_args.join(" ")),
    };
    if !ssh_ok {
        return Err(Error::input(format!(
            "the transport (ssh{args}) runs the system ssh: install it (see the ssh line)"
        )));
    }
    match config.transport {
        Transport::Ssh => Ok(format!("ssh{args}")),
        Transport::Ssm => {
            let tools = preflight::transport_tools(config)?;
            let plugin = match tools.last() {
                Some(p) => version(p, "--version").await,
                None => String::new(),
            };
            Ok(format!(
                "ssm{args}: aws and session-manager-plugin {plugin}"
            ))
        }
    }
}

/// The first line a program prints about its version (some print it on stderr), and where it is.
async fn version(program: &Path, flag: &str) -> String {
    let mut cmd = tokio::process::Command::new(program);
    cmd.arg(flag);
    let what = program.display().to_string();
    let line = match process::capture(cmd, &what).await {
        Ok(out) => format!("{}\n{}", out.stdout, out.stderr)
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or("(no version)")
            .to_owned(),
        Err(e) => e.to_string(),
    };
    format!("{line} ({what})")
}

/// The region, then the credentials and the account they belong to: the clients to go on with.
async fn aws_checks(target: &Target, checks: &mut Checks) -> Option<Clients> {
    if !checks.add("region", aws::setup::region(target).await) {
        checks.skip("credentials", "a region");
        return None;
    }
    let clients = match Clients::new(target).await {
        Ok(c) => c,
        Err(e) => {
            checks.add("credentials", Err(e));
            return None;
        }
    };
    let who = aws::sts::caller(&clients.sts)
        .await
        .map(|who| format!("account {} ({})", who.account, who.arn));
    checks.add("credentials", who).then_some(clients)
}

/// The template bucket is there, in the region, private and encrypted.
async fn bucket_checks(config: &Config, clients: &Clients, env: &str, checks: &mut Checks) {
    let bucket = config.bucket.as_str();
    let exists = s3::bucket_exists(&clients.s3, bucket, &clients.region)
        .await
        .and_then(|there| match there {
            true => Ok(format!("s3://{bucket} ({})", clients.region)),
            false => Err(Error::input(format!(
                "bucket {bucket} does not exist in {}: `manage {env} config push` creates it (private, encrypted), or set \"bucket\" in {} to one of yours",
                clients.region,
                config.path.display()
            ))),
        });
    if !checks.add("bucket", exists) {
        checks.skip("bucket private", "the bucket");
        checks.skip("bucket encrypted", "the bucket");
        return;
    }
    let private = s3::public_access_blocked(&clients.s3, bucket)
        .await
        .and_then(|blocked| match blocked {
            true => Ok("all public access blocked".to_owned()),
            false => Err(Error::input(format!(
                "bucket {bucket} does not block all public access: turn on its four Block Public Access settings (aws s3api put-public-access-block --bucket {bucket} --public-access-block-configuration BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true)"
            ))),
        });
    checks.add("bucket private", private);
    let encrypted = s3::default_encryption(&clients.s3, bucket)
        .await
        .and_then(|sse| match sse {
            Some(algorithm) => Ok(format!("default encryption {algorithm}")),
            None => Err(Error::input(format!(
                "bucket {bucket} has no default encryption: turn it on (aws s3api put-bucket-encryption --bucket {bucket} --server-side-encryption-configuration '{{\"Rules\":[{{\"ApplyServerSideEncryptionByDefault\":{{\"SSEAlgorithm\":\"AES256\"}}}}]}}')"
            ))),
        });
    checks.add("bucket encrypted", encrypted);
}

/// With an env: the key pair and the base AMI are in the region.
async fn env_checks(config: &Config, clients: &Clients, checks: &mut Checks) {
    let path = config.path.display();
    let region = &clients.region;
    let key_pair = match &config.key_pair {
        None => Ok("no \"key_pair\": hosts get no EC2 key pair".to_owned()),
        Some(name) => aws::ec2::key_pair_exists(&clients.ec2, name)
            .await
            .and_then(|there| match there {
                true => Ok(format!("{name} ({region})")),
                false => Err(Error::input(format!(
                    "key pair {name} does not exist in {region}: import the public half of \"ssh_key_file\" (aws ec2 import-key-pair --key-name {name} --public-key-material fileb://KEY.pub), or set \"key_pair\" in {path}"
                ))),
            }),
    };
    checks.add("key pair", key_pair);
    let base = match super::base_image::resolve(config, clients).await {
        Ok(ami) => base_ami_check(config, clients, &ami).await,
        Err(e) => Err(e),
    };
    checks.add("base AMI", base);
}

/// The base AMI (from its SSM parameter, when `base_ami` names one) exists and is available.
async fn base_ami_check(config: &Config, clients: &Clients, ami: &str) -> Result<String> {
    let path = config.path.display();
    let region = &clients.region;
    let from = config
        .base_ami_parameter()
        .map(|name| format!(", from SSM parameter {name}"))
        .unwrap_or_default();
    match aws::ec2::image_by_id(&clients.ec2, ami).await? {
        Some(i) if i.state == "available" || i.state.is_empty() => {
            Ok(format!("{ami} ({}{from})", i.name))
        }
        Some(i) => Err(Error::input(format!(
            "base AMI {ami}{from} is {}, not available: set \"base_ami\" in {path} to an available AMI of {region}",
            i.state
        ))),
        None => Err(Error::input(format!(
            "base AMI {ami}{from} does not exist in {region} (or is not shared with this account): set \"base_ami\" in {path} to an AMI of {region}"
        ))),
    }
}
