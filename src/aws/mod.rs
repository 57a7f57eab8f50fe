//! The thin AWS layer: one file per service, small async functions over a concrete client.
//! Nothing here prints. The SDK config and the clients are built once, here.

pub mod cloudformation;
pub mod ec2;
pub mod route53;
pub mod s3;
pub mod sts;

use crate::error::{Error, Result};
use aws_config::environment::region::EnvironmentVariableRegionProvider;
use aws_config::imds::region::ImdsRegionProvider;
use aws_config::meta::region::RegionProviderChain;
use aws_config::profile::region::ProfileFileRegionProvider;
use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region};
use std::time::Duration;

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

/// Every client an action may need, built from one SDK config.
#[derive(Clone, Debug)]
pub struct Clients {
    pub cfn: aws_sdk_cloudformation::Client,
    pub ec2: aws_sdk_ec2::Client,
    pub s3: aws_sdk_s3::Client,
    pub sts: aws_sdk_sts::Client,
    pub route53: aws_sdk_route53::Client,
    pub region: String,
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

impl Clients {
    pub async fn new(target: &Target) -> Result<Self> {
        let mut loader =
            aws_config::defaults(BehaviorVersion::latest()).region(region_chain(target));
        if let Some(profile) = &target.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(url) = &target.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        let shared = loader.load().await;
        let region = shared.region().map(|r| r.to_string()).ok_or_else(|| {
            Error::input(
                "no AWS region: set \"region\" in config.json, pass --region, or set AWS_REGION",
            )
        })?;
        // The emulator (and any custom endpoint) serves buckets by path, not by host name.
        let path_style = shared.endpoint_url().is_some();
        let s3_conf = aws_sdk_s3::config::Builder::from(&shared)
            .force_path_style(path_style)
            .build();
        // CloudFormation throttles hard during waits: adaptive retries with more attempts.
        let cfn_conf = aws_sdk_cloudformation::config::Builder::from(&shared)
            .retry_config(
                RetryConfig::adaptive()
                    .with_max_attempts(8)
                    .with_initial_backoff(Duration::from_millis(500))
                    .with_max_backoff(Duration::from_secs(20)),
            )
            .build();
        Ok(Self {
            cfn: aws_sdk_cloudformation::Client::from_conf(cfn_conf),
            ec2: aws_sdk_ec2::Client::new(&shared),
            s3: aws_sdk_s3::Client::from_conf(s3_conf),
            sts: aws_sdk_sts::Client::new(&shared),
            route53: aws_sdk_route53::Client::new(&shared),
            region,
        })
    }
}

/// Seconds-precision AWS timestamps as chrono values, for sorting and printing.
pub fn to_chrono(t: &aws_smithy_types::DateTime) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(t.secs(), t.subsec_nanos()).unwrap_or_default()
}
