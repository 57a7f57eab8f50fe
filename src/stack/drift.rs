//! Drift detection as one step, shared by `drift` and `update`: start it, look at once and back
//! off to a cap until it completes, fails or the deadline passes, then list what was changed by
//! hand (only MODIFIED and DELETED resources).

use super::wait::{is_transient, Pacing};
use crate::aws::cloudformation::{self as cfn, DriftStart, DriftedResource};
use crate::error::{Error, Result};
use aws_sdk_cloudformation::Client;
use tokio::time::Instant;

/// What a drift detection found.
#[derive(Debug)]
pub enum Drift {
    /// The endpoint has no drift detection API; what it answered instead.
    Unsupported(String),
    InSync,
    /// Resources changed or deleted by hand, in CloudFormation's order.
    Drifted(Vec<DriftedResource>),
}

/// Detect drift on `stack` (name or id). A detection that fails is an error with
/// CloudFormation's reason (exit 1); one still running at the deadline is a timeout (exit 4).
pub async fn detect(client: &Client, stack: &str, pacing: Pacing) -> Result<Drift> {
    let id = match cfn::detect_drift(client, stack).await? {
        DriftStart::Started(id) => id,
        DriftStart::Unsupported(what) => return Ok(Drift::Unsupported(what)),
    };
    let started = Instant::now();
    let mut delay = pacing.first;
    loop {
        match cfn::drift_detection(client, &id).await {
            Ok(d) if d.status == "DETECTION_COMPLETE" => break,
            Ok(d) if d.status == "DETECTION_FAILED" => {
                return Err(Error::Local(format!(
                    "drift detection of stack {stack} failed: {}",
                    d.reason.as_deref().unwrap_or("no reason given")
                )))
            }
            Ok(_) => {}
            Err(e) if is_transient(&e) => {}
            Err(e) => return Err(e),
        }
        if started.elapsed() + delay > pacing.deadline {
            return Err(Error::Timeout {
                waiting_for: format!("drift detection of stack {stack} to finish"),
                after: started.elapsed(),
            });
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(pacing.max);
    }
    let drifted: Vec<_> = cfn::resource_drifts(client, stack)
        .await?
        .into_iter()
        .filter(|r| matches!(r.drift.as_str(), "MODIFIED" | "DELETED"))
        .collect();
    Ok(if drifted.is_empty() {
        Drift::InSync
    } else {
        Drift::Drifted(drifted)
    })
}

/// Hide secret values in drift results: CloudFormation reports a property's expected and
/// actual values as they are, and a property set from a secret parameter would show it. Any
/// value that contains one of `secrets` (the env's secret parameter values) becomes `****`.
pub fn mask(resources: &mut [crate::aws::cloudformation::DriftedResource], secrets: &[String]) {
    let hidden = |v: &str| {
        secrets
            .iter()
            .any(|s| !s.is_empty() && v.contains(s.as_str()))
    };
    for d in resources.iter_mut().flat_map(|r| r.differences.iter_mut()) {
        for v in [&mut d.expected, &mut d.actual] {
            if hidden(v) {
                *v = "****".to_owned();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::cloudformation::{DriftedResource, PropertyDifference};

    #[test]
    fn secret_values_never_show() {
        let diff = |e: &str, a: &str| PropertyDifference {
            path: "/MasterUserPassword".into(),
            expected: e.into(),
            actual: a.into(),
            difference: "NOT_EQUAL".into(),
        };
        let mut found = vec![DriftedResource {
            logical_id: "Db".into(),
            resource_type: "AWS::RDS::DBInstance".into(),
            physical_id: None,
            drift: "MODIFIED".into(),
            differences: vec![
                diff("s3cr3t", "changed"),
                diff("{\"p\":\"xs3cr3tx\"}", "plain"),
            ],
        }];
        mask(&mut found, &["s3cr3t".into(), String::new()]);
        let d = &found[0].differences;
        assert_eq!(
            (d[0].expected.as_str(), d[0].actual.as_str()),
            ("****", "changed")
        );
        assert_eq!(
            (d[1].expected.as_str(), d[1].actual.as_str()),
            ("****", "plain")
        );
    }
}
