//! The thin AWS layer: one file per service, small async functions over a concrete client.
//! Nothing here prints. The SDK config and the clients are built once, here.

pub mod cloudformation;
pub mod ec2;
pub mod route53;
pub mod s3;
pub mod setup;
pub mod ssm;
pub mod sts;

use crate::client;
use crate::error::Result;
pub use setup::Target;

/// Every client an action may need, built from one SDK config with one retry and timeout
/// policy (see `setup`).
#[derive(Clone, Debug)]
pub struct Clients {
    pub cfn: aws_sdk_cloudformation::Client,
    pub ec2: aws_sdk_ec2::Client,
    pub s3: aws_sdk_s3::Client,
    pub sts: aws_sdk_sts::Client,
    pub route53: aws_sdk_route53::Client,
    pub ssm: aws_sdk_ssm::Client,
    pub region: String,
}

impl Clients {
    pub async fn new(target: &Target) -> Result<Self> {
        let (shared, region) = setup::sdk_config(target).await?;
        // The emulator (and any custom endpoint) serves buckets by path, not by host name.
        let path_style = shared.endpoint_url().is_some();
        Ok(Self {
            cfn: client!(aws_sdk_cloudformation, &shared),
            ec2: client!(aws_sdk_ec2, &shared),
            s3: client!(aws_sdk_s3, &shared, |b| b.force_path_style(path_style)),
            sts: client!(aws_sdk_sts, &shared),
            route53: client!(aws_sdk_route53, &shared),
            ssm: client!(aws_sdk_ssm, &shared),
            region,
        })
    }
}

/// Seconds-precision AWS timestamps as chrono values, for sorting and printing.
pub fn to_chrono(t: &aws_smithy_types::DateTime) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(t.secs(), t.subsec_nanos()).unwrap_or_default()
}
