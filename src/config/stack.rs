//! The stack's own settings, per env with the top level as default: a stack policy file, the
//! CloudFormation service role, and SNS topics for the stack's events. Checked here, so a typo
//! is one line naming the key before any AWS call.

use std::path::{Path, PathBuf};

/// A stack policy, read and checked to be JSON when the config is loaded.
#[derive(Debug, Clone)]
pub struct StackPolicy {
    /// The file, as resolved against the config's folder (for messages).
    pub path: PathBuf,
    /// The file's text, sent as StackPolicyBody.
    pub body: String,
}

/// The keys as one level of the config has them; `None` leaves the choice to the level above.
#[derive(Debug, Clone, Default)]
pub struct StackSettings {
    pub stack_policy: Option<StackPolicy>,
    pub role_arn: Option<String>,
    pub notification_arns: Option<Vec<String>>,
}

impl StackSettings {
    /// This level's keys, each falling back to `default`'s.
    pub fn over(self, default: &StackSettings) -> StackSettings {
        StackSettings {
            stack_policy: self.stack_policy.or_else(|| default.stack_policy.clone()),
            role_arn: self.role_arn.or_else(|| default.role_arn.clone()),
            notification_arns: self
                .notification_arns
                .or_else(|| default.notification_arns.clone()),
        }
    }
}

/// `prefix` is "" at the top level and "environments.NAME." in an env.
pub fn parse(
    prefix: &str,
    dir: &Path,
    stack_policy: Option<&str>,
    role_arn: Option<String>,
    notification_arns: Option<Vec<String>>,
) -> Result<StackSettings, String> {
    let stack_policy = stack_policy
        .map(|file| read_policy(&format!("{prefix}stack_policy"), &dir.join(file)))
        .transpose()?;
    if let Some(arn) = &role_arn {
        if !is_role_arn(arn) {
            return Err(format!(
                "key \"{prefix}role_arn\": \"{arn}\" is not an IAM role ARN (arn:aws:iam::123456789012:role/NAME)"
            ));
        }
    }
    for arn in notification_arns.iter().flatten() {
        if !is_topic_arn(arn) {
            return Err(format!(
                "key \"{prefix}notification_arns\": \"{arn}\" is not an SNS topic ARN (arn:aws:sns:REGION:123456789012:NAME)"
            ));
        }
    }
    if notification_arns.as_ref().is_some_and(|a| a.len() > 5) {
        return Err(format!(
            "key \"{prefix}notification_arns\": CloudFormation takes at most 5 topics"
        ));
    }
    Ok(StackSettings {
        stack_policy,
        role_arn,
        notification_arns,
    })
}

fn read_policy(key: &str, path: &Path) -> Result<StackPolicy, String> {
    let body = std::fs::read_to_string(path).map_err(|e| {
        format!(
            "key \"{key}\": cannot read {}: {}",
            path.display(),
            super::params::io_reason(&e)
        )
    })?;
    serde_json::from_str::<serde_json::Value>(&body).map_err(|e| {
        format!(
            "key \"{key}\": {} is not JSON: {e} (a stack policy is a JSON document)",
            path.display()
        )
    })?;
    Ok(StackPolicy {
        path: path.to_path_buf(),
        body,
    })
}

/// `arn:aws[-cn|-us-gov…]:SERVICE:REGION:ACCOUNT:REST`, split into its parts.
fn arn_parts(arn: &str) -> Option<(&str, &str, &str, &str)> {
    let mut parts = arn.splitn(6, ':');
    let (arn_word, partition) = (parts.next()?, parts.next()?);
    let (service, region, account, rest) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let partition_ok = partition == "aws" || partition.starts_with("aws-");
    let account_ok = account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit());
    (arn_word == "arn" && partition_ok && account_ok).then_some((service, region, account, rest))
}

fn is_role_arn(arn: &str) -> bool {
    matches!(arn_parts(arn), Some(("iam", "", _, rest))
        if rest.strip_prefix("role/").is_some_and(|n| !n.is_empty() && !n.ends_with('/')))
}

fn is_topic_arn(arn: &str) -> bool {
    let name_ok = |n: &str| {
        !n.is_empty()
            && n.len() <= 256
            && n.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
    };
    matches!(arn_parts(arn), Some(("sns", region, _, name))
        if !region.is_empty() && name_ok(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_arns() {
        assert!(is_role_arn("arn:aws:iam::123456789012:role/cfn-deployer"));
        assert!(is_role_arn("arn:aws-cn:iam::123456789012:role/path/to/r"));
        assert!(!is_role_arn("arn:aws:iam::12345678901:role/r"));
        assert!(!is_role_arn("arn:aws:iam::123456789012:user/r"));
        assert!(!is_role_arn("arn:aws:iam::123456789012:role/"));
        assert!(!is_role_arn("arn:aws:iam:eu-west-1:123456789012:role/r"));
        assert!(!is_role_arn("cfn-deployer"));
    }

    #[test]
    fn topic_arns() {
        assert!(is_topic_arn(
            "arn:aws:sns:eu-west-1:123456789012:stack-events"
        ));
        assert!(is_topic_arn("arn:aws:sns:eu-west-1:123456789012:t.fifo"));
        assert!(!is_topic_arn("arn:aws:sns::123456789012:t"));
        assert!(!is_topic_arn("arn:aws:sqs:eu-west-1:123456789012:t"));
        assert!(!is_topic_arn("arn:aws:sns:eu-west-1:123456789012:a/b"));
        assert!(!is_topic_arn("arn:aws:sns:eu-west-1:1234:t"));
    }
}
