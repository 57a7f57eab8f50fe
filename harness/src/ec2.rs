//! Reading the emulator's running instances.

use crate::sys::{run_err, Result};
use aws_sdk_ec2::types::Filter;
use std::collections::BTreeMap;
use std::net::Ipv4Addr;

pub async fn client(endpoint_url: &str, region: &str) -> aws_sdk_ec2::Client {
    let conf = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(region.to_string()))
        .endpoint_url(endpoint_url)
        .load()
        .await;
    aws_sdk_ec2::Client::new(&conf)
}

/// `K=V` flags → EC2 filters: values of one key are ORed, keys are ANDed.
pub fn tag_filters(tags: &[(String, String)]) -> Vec<Filter> {
    let mut by_key: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (k, v) in tags {
        by_key.entry(k).or_default().push(v.clone());
    }
    by_key
        .into_iter()
        .map(|(k, vs)| {
            Filter::builder()
                .name(format!("tag:{k}"))
                .set_values(Some(vs))
                .build()
        })
        .collect()
}

/// Running instances with a private IPv4 address: instance id → IP (all pages).
pub async fn running(
    client: &aws_sdk_ec2::Client,
    tag_filters: &[Filter],
) -> Result<BTreeMap<String, Ipv4Addr>> {
    let mut filters = tag_filters.to_vec();
    filters.push(
        Filter::builder()
            .name("instance-state-name")
            .values("running")
            .build(),
    );
    let mut out = BTreeMap::new();
    let mut token: Option<String> = None;
    loop {
        let resp = client
            .describe_instances()
            .set_filters(Some(filters.clone()))
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| run_err(format!("DescribeInstances failed: {}", chain(&e))))?;
        for inst in resp.reservations().iter().flat_map(|r| r.instances()) {
            let running = inst
                .state()
                .and_then(|s| s.name())
                .is_some_and(|n| n.as_str() == "running");
            let ip = inst.private_ip_address().and_then(|s| s.parse().ok());
            if let (true, Some(id), Some(ip)) = (running, inst.instance_id(), ip) {
                out.insert(id.to_string(), ip);
            }
        }
        match resp.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_string()),
            _ => break,
        }
    }
    Ok(out)
}

/// An error and its sources as one line of their Display texts (no Debug output).
fn chain(e: &dyn std::error::Error) -> String {
    let mut parts: Vec<String> = vec![e.to_string()];
    let mut src = e.source();
    while let Some(s) = src {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        src = s.source();
    }
    let mut line = parts.join(": ");
    if line.contains("loading credentials") {
        line.push_str(
            " (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; dummies do for the emulator)",
        );
    }
    line
}
