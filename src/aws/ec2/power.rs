//! Start, stop, reboot and terminate instances, their states and status checks, and EC2's
//! root-volume replacement (what `revert` uses).

use super::Instance;
use crate::error::{aws, Result};
use aws_sdk_ec2::Client;
use std::collections::BTreeMap;

pub async fn start(ec2: &Client, ids: &[String]) -> Result<()> {
    ec2.start_instances()
        .set_instance_ids(Some(ids.to_vec()))
        .send()
        .await
        .map_err(aws(format!("starting {}", ids.join(", "))))?;
    Ok(())
}

pub async fn stop(ec2: &Client, ids: &[String]) -> Result<()> {
    ec2.stop_instances()
        .set_instance_ids(Some(ids.to_vec()))
        .send()
        .await
        .map_err(aws(format!("stopping {}", ids.join(", "))))?;
    Ok(())
}

pub async fn reboot(ec2: &Client, ids: &[String]) -> Result<()> {
    ec2.reboot_instances()
        .set_instance_ids(Some(ids.to_vec()))
        .send()
        .await
        .map_err(aws(format!("rebooting {}", ids.join(", "))))?;
    Ok(())
}

/// The instances with these ids as EC2 describes them now, in any state (terminated too).
pub async fn describe(ec2: &Client, ids: &[String]) -> Result<Vec<Instance>> {
    let req = ec2
        .describe_instances()
        .set_instance_ids(Some(ids.to_vec()));
    super::all_instances(req, "describing instances").await
}

/// EC2's two status checks of an instance: `ok`, `initializing`, `impaired`, …
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Checks {
    pub system: String,
    pub instance: String,
}

impl Checks {
    pub fn passed(&self) -> bool {
        self.system == "ok" && self.instance == "ok"
    }

    pub fn failed(&self) -> bool {
        [&self.system, &self.instance]
            .iter()
            .any(|s| matches!(s.as_str(), "impaired" | "insufficient-data"))
            && !self.passed()
    }
}

/// The status checks of these instances (stopped ones included, with no checks).
pub async fn checks(ec2: &Client, ids: &[String]) -> Result<BTreeMap<String, Checks>> {
    let mut pages = ec2
        .describe_instance_status()
        .set_instance_ids(Some(ids.to_vec()))
        .include_all_instances(true)
        .into_paginator()
        .send();
    let mut out = BTreeMap::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(aws("describing instance status checks"))?;
        for s in page.instance_statuses() {
            let status = |summary: Option<&aws_sdk_ec2::types::InstanceStatusSummary>| {
                summary
                    .and_then(|x| x.status())
                    .map_or_else(|| "none".to_owned(), |x| x.as_str().to_owned())
            };
            out.insert(
                s.instance_id().unwrap_or_default().to_owned(),
                Checks {
                    system: status(s.system_status()),
                    instance: status(s.instance_status()),
                },
            );
        }
    }
    Ok(out)
}

/// Start replacing an instance's root volume with a new one made from `image`; returns the
/// task id. The old volume is deleted once the task succeeds.
pub async fn replace_root_volume(ec2: &Client, id: &str, image: &str) -> Result<String> {
    let out = ec2
        .create_replace_root_volume_task()
        .instance_id(id)
        .image_id(image)
        .delete_replaced_root_volume(true)
        .send()
        .await
        .map_err(aws(format!(
            "replacing the root volume of {id} with {image}"
        )))?;
    Ok(out
        .replace_root_volume_task()
        .and_then(|t| t.replace_root_volume_task_id())
        .unwrap_or_default()
        .to_owned())
}

/// A root-volume replacement task's state: `pending`, `in-progress`, `succeeded`, `failing`,
/// `failed`, `failed-detached`.
pub async fn replace_root_volume_state(ec2: &Client, task: &str) -> Result<Option<String>> {
    let out = ec2
        .describe_replace_root_volume_tasks()
        .replace_root_volume_task_ids(task)
        .send()
        .await
        .map_err(aws(format!("describing root-volume task {task}")))?;
    Ok(out
        .replace_root_volume_tasks()
        .first()
        .and_then(|t| t.task_state())
        .map(|s| s.as_str().to_owned()))
}
