//! SSM Parameter Store: the value of a parameter, such as AWS's public ones that name the
//! newest Amazon Linux or Ubuntu image of a region (`/aws/service/...`).

use crate::error::{aws, Result};
use aws_sdk_ssm::Client;

/// The parameter's value, or None when the region has no such parameter.
pub async fn parameter(ssm: &Client, name: &str) -> Result<Option<String>> {
    match ssm.get_parameter().name(name).send().await {
        Ok(out) => Ok(out.parameter().and_then(|p| p.value()).map(str::to_owned)),
        Err(e)
            if e.as_service_error().and_then(|s| s.meta().code()) == Some("ParameterNotFound") =>
        {
            Ok(None)
        }
        Err(e) => Err(aws(format!("reading SSM parameter {name}"))(e)),
    }
}
