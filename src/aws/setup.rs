//! One retry and timeout policy for every AWS client, and the checks that turn a bad region,
//! profile, endpoint or missing credentials into one line naming what to fix, before any request.
//!
//! Every client (S3, EC2, CloudFormation, and any later one) is built from [`sdk_config`] and
//! then through [`client!`](crate::client), so they all ride through throttling, 5xx answers
//! and dropped connections the same way.

use crate::error::{Error, Result};
use aws_config::environment::region::EnvironmentVariableRegionProvider;
use aws_config::imds::region::ImdsRegionProvider;
use aws_config::meta::region::RegionProviderChain;
use aws_config::profile::region::ProfileFileRegionProvider;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use std::sync::OnceLock;
use std::time::Duration;

/// Attempts per call: throttling, 5xx, timeouts and connection errors are retried.
pub const MAX_ATTEMPTS: u32 = 10;
/// First backoff (randomised, doubling per attempt) and its cap. Short, because most faults
/// clear at once; the cap keeps a throttled account from hammering AWS.
pub const INITIAL_BACKOFF: Duration = Duration::from_millis(100);
pub const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// A host that does not accept the connection costs this much per attempt.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// A connection that stops answering costs this much per attempt, not a minute.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(20);

/// Where and as whom to call AWS, from the command line and config.json.
#[derive(Debug, Default, Clone)]
pub struct Target {
    /// `--region`: wins over everything else.
    pub region: Option<String>,
    /// config.json's `region`: used only when neither `--region` nor the AWS chain
    /// (`AWS_REGION`, the profile) names one.
    pub config_region: Option<String>,
    pub profile: Option<String>,
    pub endpoint_url: Option<String>,
}

/// The retry policy of every client: standard mode (no client-side rate limiter, which slows
/// every later call after a fault), many attempts, short backoff.
pub fn retry_config() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(MAX_ATTEMPTS)
        .with_initial_backoff(INITIAL_BACKOFF)
        .with_max_backoff(MAX_BACKOFF)
}

pub fn timeout_config() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .read_timeout(ATTEMPT_TIMEOUT)
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .build()
}

/// The retry partition of every client: a token bucket without a limit, so a long wait through
/// a flaky network never runs out of retries; the attempt limit and backoff still apply.
pub fn retry_partition(service: &'static str) -> aws_sdk_s3::config::retry::RetryPartition {
    aws_sdk_s3::config::retry::RetryPartition::custom(service)
        .token_bucket(aws_sdk_s3::config::retry::TokenBucket::unlimited())
        .build()
}

/// A service client from the shared config with the one policy: `client!(aws_sdk_ec2, &shared)`.
#[macro_export]
macro_rules! client {
    ($krate:ident, $shared:expr) => {
        $krate::Client::from_conf(
            $krate::config::Builder::from($shared)
                .retry_partition($crate::aws::setup::retry_partition(stringify!($krate)))
                .build(),
        )
    };
    ($krate:ident, $shared:expr, |$b:ident| $more:expr) => {{
        let $b = $krate::config::Builder::from($shared)
            .retry_partition($crate::aws::setup::retry_partition(stringify!($krate)));
        $krate::Client::from_conf($more.build())
    }};
}

/// What the calls go to, for error lines: "http://127.0.0.1:1 (--endpoint-url)".
static ENDPOINT: OnceLock<String> = OnceLock::new();

pub fn endpoint_description() -> Option<&'static str> {
    ENDPOINT.get().map(String::as_str)
}

/// Check the target, load the SDK config with the one policy, and make sure credentials are
/// there, so that what the user gave wrong is one line (exit 2) and costs no request.
pub async fn sdk_config(target: &Target) -> Result<(SdkConfig, String)> {
    if let Some(region) = &target.region {
        check_region(region, "--region")?;
    }
    if let Some(region) = &target.config_region {
        check_region(region, "config.json: \"region\"")?;
    }
    let endpoint = endpoint_url(target)?;
    check_keys_pair()?;
    let profile = target
        .profile
        .clone()
        .or_else(|| non_empty_env("AWS_PROFILE"));
    if let Some(p) = &profile {
        check_profile(p).await?;
    }
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(retry_config())
        .timeout_config(timeout_config());
    loader = loader.region(region_chain(target));
    if let Some(profile) = &target.profile {
        loader = loader.profile_name(profile);
    }
    if let Some((url, _)) = &endpoint {
        loader = loader.endpoint_url(url);
    }
    let shared = loader.load().await;
    let region = shared
        .region()
        .map(|r| r.to_string())
        .ok_or_else(no_region)?;
    check_region(&region, "the AWS region from AWS_REGION or the profile")?;
    let _ = ENDPOINT.set(match &endpoint {
        Some((url, from)) => format!("{url} ({from})"),
        None => format!("AWS in region {region}"),
    });
    check_credentials(&shared, profile.as_deref()).await?;
    Ok((shared, region))
}

/// The region the clients will use, checked, without loading credentials (`doctor`'s own line).
pub async fn region(target: &Target) -> Result<String> {
    if let Some(region) = &target.region {
        check_region(region, "--region")?;
    }
    if let Some(region) = &target.config_region {
        check_region(region, "config.json: \"region\"")?;
    }
    let region = region_chain(target)
        .region()
        .await
        .map(|r| r.to_string())
        .ok_or_else(no_region)?;
    check_region(&region, "the AWS region from AWS_REGION or the profile")?;
    Ok(region)
}

fn no_region() -> Error {
    Error::input("no AWS region: set \"region\" in config.json, pass --region, or set AWS_REGION")
}

/// `--region`, then `AWS_REGION`/`AWS_DEFAULT_REGION`, then the profile, then config.json,
/// then the instance metadata (on EC2).
fn region_chain(target: &Target) -> RegionProviderChain {
    let mut profile = ProfileFileRegionProvider::builder();
    if let Some(p) = &target.profile {
        profile = profile.profile_name(p);
    }
    RegionProviderChain::first_try(target.region.clone().map(Region::new))
        .or_else(EnvironmentVariableRegionProvider::new())
        .or_else(profile.build())
        .or_else(target.config_region.clone().map(Region::new))
        .or_else(ImdsRegionProvider::builder().build())
}

fn non_empty_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// `eu-west-1`, `us-gov-west-1`, `cn-north-1`: lowercase words joined by dashes, ending in a number.
pub fn is_region_name(region: &str) -> bool {
    let parts: Vec<&str> = region.split('-').collect();
    parts.len() >= 3
        && region.len() <= 30
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts[parts.len() - 1]
            .parse::<u8>()
            .is_ok_and(|_| parts[parts.len() - 1].bytes().all(|b| b.is_ascii_digit()))
}

fn check_region(region: &str, from: &str) -> Result<()> {
    if is_region_name(region) {
        return Ok(());
    }
    Err(Error::input(format!(
        "{from}: {region:?} is not an AWS region name (such as eu-west-1 or us-east-1)"
    )))
}

/// The endpoint override, from --endpoint-url or AWS_ENDPOINT_URL, checked to be an http(s) URL.
fn endpoint_url(target: &Target) -> Result<Option<(String, &'static str)>> {
    let (url, from) = match (&target.endpoint_url, std::env::var("AWS_ENDPOINT_URL")) {
        (Some(url), _) => (url.clone(), "--endpoint-url"),
        (None, Ok(url)) if !url.is_empty() => (url, "AWS_ENDPOINT_URL"),
        _ => return Ok(None),
    };
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"));
    let host = rest.map(|r| r.split(['/', '?', '#']).next().unwrap_or(""));
    let port_ok = host.is_some_and(|h| match h.rsplit_once(':') {
        Some((name, port)) if !name.ends_with(']') || h.starts_with('[') => {
            !name.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0)
        }
        _ => !h.is_empty(),
    });
    let clean = !url.chars().any(|c| c.is_whitespace() || c.is_control());
    if port_ok && clean {
        return Ok(Some((url.trim_end_matches('/').to_owned(), from)));
    }
    Err(Error::input(format!(
        "{from}: {url:?} is not an endpoint URL: give http(s)://host[:port], e.g. http://127.0.0.1:5000"
    )))
}

/// Half a key pair in the environment is a mistake, not a reason to try the next provider.
fn check_keys_pair() -> Result<()> {
    let id = non_empty_env("AWS_ACCESS_KEY_ID").is_some();
    let secret = non_empty_env("AWS_SECRET_ACCESS_KEY").is_some();
    match (id, secret) {
        (true, false) => Err(Error::input(
            "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not: set both, or unset both to use a profile",
        )),
        (false, true) => Err(Error::input(
            "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not: set both, or unset both to use a profile",
        )),
        _ => Ok(()),
    }
}

/// A named profile must exist in ~/.aws/config or ~/.aws/credentials.
#[allow(deprecated)] // ProfileFiles is the name aws-config itself takes here.
async fn check_profile(profile: &str) -> Result<()> {
    use aws_config::profile::profile_file::ProfileFiles;
    use aws_types::os_shim_internal::{Env, Fs};
    let files =
        aws_config::profile::load(&Fs::real(), &Env::real(), &ProfileFiles::default(), None)
            .await
            .map_err(|e| Error::input(format!("the AWS config files cannot be read: {e}")))?;
    if files.get_profile(profile).is_some() {
        return Ok(());
    }
    Err(Error::input(format!(
        "AWS profile {profile:?} (from --profile, \"profile\" in config.json or AWS_PROFILE) is not in ~/.aws/config or ~/.aws/credentials: run `aws configure --profile {profile}` or `aws configure sso`"
    )))
}

/// Resolve the credentials once, so that "none found" is its own line and not a network error.
async fn check_credentials(shared: &SdkConfig, profile: Option<&str>) -> Result<()> {
    use aws_credential_types::provider::error::CredentialsError;
    use aws_credential_types::provider::ProvideCredentials;
    let Some(provider) = shared.credentials_provider() else {
        return Err(no_credentials());
    };
    match provider.provide_credentials().await {
        Ok(_) => Ok(()),
        Err(CredentialsError::CredentialsNotLoaded(_)) => Err(no_credentials()),
        Err(e) => {
            let from = profile.map_or("the AWS credential chain".to_owned(), |p| {
                format!("AWS profile {p:?}")
            });
            let cause = aws_smithy_types::error::display::DisplayErrorContext(&e).to_string();
            Err(Error::input(format!(
                "{from} gave no usable credentials ({}): fix the profile, or run `aws sso login` if it uses SSO",
                first_line(&cause)
            )))
        }
    }
}

fn no_credentials() -> Error {
    Error::input(
        "no AWS credentials found: set AWS_PROFILE (or --profile), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run `aws sso login`",
    )
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_names() {
        for good in [
            "eu-west-1",
            "us-east-1",
            "us-gov-west-1",
            "ap-southeast-2",
            "cn-north-1",
        ] {
            assert!(is_region_name(good), "{good}");
        }
        for bad in [
            "",
            "not a region!",
            "eu-west",
            "EU-WEST-1",
            "eu-west-1a",
            "eu--1",
            "-1",
            "eu-west-999",
            "eu-west-1 ",
        ] {
            assert!(!is_region_name(bad), "{bad}");
        }
    }

    #[test]
    fn endpoint_urls() {
        let check = |url: &str| {
            endpoint_url(&Target {
                endpoint_url: Some(url.into()),
                ..Target::default()
            })
        };
        for good in [
            "http://127.0.0.1:5000",
            "https://s3.example.com",
            "http://localhost:4566/",
            "http://[::1]:80",
        ] {
            assert!(check(good).is_ok(), "{good}");
        }
        for bad in [
            "127.0.0.1:5000",
            "ftp://x",
            "http://",
            "http://host:99999",
            "http://host:0",
            "http://a b",
            "http://:80",
        ] {
            let e = check(bad).unwrap_err().to_string();
            assert!(e.contains("--endpoint-url"), "{bad}: {e}");
        }
    }
}
