//! EC2 instances of an env, found by their tags.

use super::to_chrono;
use crate::error::{aws, Result};
use aws_sdk_ec2::types::Filter;
use aws_sdk_ec2::Client;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

#[derive(Debug, Clone)]
pub struct Instance {
    pub id: String,
    pub state: String,
    pub private_ip: Option<String>,
    pub public_ip: Option<String>,
    pub private_dns: Option<String>,
    pub public_dns: Option<String>,
    pub launch_time: Option<DateTime<Utc>>,
    pub image_id: Option<String>,
    pub tags: BTreeMap<String, String>,
}

/// Every instance tagged App=<app> and Env=<env> in one of `states`, following every page.
pub async fn tagged_instances(
    ec2: &Client,
    tags: &[(&str, &str)],
    states: &[&str],
) -> Result<Vec<Instance>> {
    let mut req = ec2.describe_instances().filters(
        Filter::builder()
            .name("instance-state-name")
            .set_values(Some(states.iter().map(|s| s.to_string()).collect()))
            .build(),
    );
    for (k, v) in tags {
        req = req.filters(
            Filter::builder()
                .name(format!("tag:{k}"))
                .values(*v)
                .build(),
        );
    }
    let mut pages = req.into_paginator().send();
    let mut all = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(aws("listing instances"))?;
        for reservation in page.reservations() {
            all.extend(reservation.instances().iter().map(to_instance));
        }
    }
    Ok(all)
}

fn to_instance(i: &aws_sdk_ec2::types::Instance) -> Instance {
    let nonempty = |s: Option<&str>| s.filter(|s| !s.is_empty()).map(str::to_owned);
    Instance {
        id: i.instance_id().unwrap_or_default().to_owned(),
        state: i
            .state()
            .and_then(|s| s.name())
            .map(|n| n.as_str().to_owned())
            .unwrap_or_default(),
        private_ip: nonempty(i.private_ip_address()),
        public_ip: nonempty(i.public_ip_address()),
        private_dns: nonempty(i.private_dns_name()),
        public_dns: nonempty(i.public_dns_name()),
        launch_time: i.launch_time().map(to_chrono),
        image_id: nonempty(i.image_id()),
        tags: i
            .tags()
            .iter()
            .filter_map(|t| {
                Some((
                    t.key()?.to_owned(),
                    t.value().unwrap_or_default().to_owned(),
                ))
            })
            .collect(),
    }
}
