//! Who the credentials belong to: the account every mutating action names before it starts.

use crate::error::{aws, Result};
use aws_sdk_sts::Client;

#[derive(Debug, Clone)]
pub struct Identity {
    pub account: String,
    pub arn: String,
}

pub async fn caller(sts: &Client) -> Result<Identity> {
    let out = sts.get_caller_identity().send().await.map_err(aws(
        "asking AWS who these credentials are (sts:GetCallerIdentity)",
    ))?;
    Ok(Identity {
        account: out.account().unwrap_or_default().to_owned(),
        arn: out.arn().unwrap_or_default().to_owned(),
    })
}
