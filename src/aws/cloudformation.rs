//! CloudFormation calls, returning our own plain types.

use super::to_chrono;
use crate::error::{aws, Error, Result};
use aws_sdk_cloudformation::types::{Capability, Parameter, StackStatus, Tag};
use aws_sdk_cloudformation::Client;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::HashSet;

#[derive(Debug, Clone, Serialize)]
pub struct Stack {
    pub id: String,
    pub name: String,
    pub status: String,
    pub reason: Option<String>,
    pub outputs: Vec<StackOutput>,
    pub created: Option<DateTime<Utc>>,
    pub updated: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StackOutput {
    pub key: String,
    pub value: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StackEvent {
    pub id: String,
    pub time: DateTime<Utc>,
    pub logical_id: String,
    pub resource_type: String,
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl StackEvent {
    pub fn is_failure(&self) -> bool {
        self.status.ends_with("_FAILED")
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct StackResource {
    pub logical_id: String,
    pub physical_id: Option<String>,
    pub resource_type: String,
    pub status: String,
}

/// What CreateStack needs. Parameter values may be secrets: this type is never printed.
pub struct CreateRequest<'a> {
    pub name: &'a str,
    /// Makes the SDK's retries of this call idempotent.
    pub token: String,
    pub template_url: &'a str,
    pub parameters: &'a [(String, String)],
    pub tags: &'a [(String, String)],
    pub capabilities: Vec<Capability>,
}

/// The stack by name or id, or None if it does not exist.
pub async fn describe(cfn: &Client, name_or_id: &str) -> Result<Option<Stack>> {
    let out = cfn.describe_stacks().stack_name(name_or_id).send().await;
    let out = match out {
        Ok(out) => out,
        Err(e) if is_missing_stack(&e) => return Ok(None),
        Err(e) => return Err(aws(format!("describing stack {name_or_id}"))(e)),
    };
    Ok(out.stacks().first().map(|s| Stack {
        id: s.stack_id().unwrap_or_default().to_owned(),
        name: s.stack_name().unwrap_or_default().to_owned(),
        status: s
            .stack_status()
            .map(StackStatus::as_str)
            .unwrap_or("UNKNOWN")
            .to_owned(),
        reason: s.stack_status_reason().map(str::to_owned),
        outputs: s
            .outputs()
            .iter()
            .map(|o| StackOutput {
                key: o.output_key().unwrap_or_default().to_owned(),
                value: o.output_value().unwrap_or_default().to_owned(),
                description: o.description().map(str::to_owned),
            })
            .collect(),
        created: s.creation_time().map(to_chrono),
        updated: s.last_updated_time().map(to_chrono),
    }))
}

/// CloudFormation reports a missing stack as a ValidationError; the code alone is ambiguous.
fn is_missing_stack<E: aws_sdk_cloudformation::error::ProvideErrorMetadata>(e: &E) -> bool {
    e.code() == Some("ValidationError") && e.message().is_some_and(|m| m.contains("does not exist"))
}

pub async fn create(cfn: &Client, req: &CreateRequest<'_>) -> Result<String> {
    let out = cfn
        .create_stack()
        .stack_name(req.name)
        .client_request_token(&req.token)
        .template_url(req.template_url)
        .set_parameters(Some(
            req.parameters
                .iter()
                .map(|(k, v)| {
                    Parameter::builder()
                        .parameter_key(k)
                        .parameter_value(v)
                        .build()
                })
                .collect(),
        ))
        .set_tags(Some(
            req.tags
                .iter()
                .map(|(k, v)| Tag::builder().key(k).value(v).build())
                .collect(),
        ))
        .set_capabilities(Some(req.capabilities.clone()))
        .send()
        .await
        .map_err(aws(format!("creating stack {}", req.name)))?;
    Ok(out.stack_id().unwrap_or(req.name).to_owned())
}

pub async fn delete(cfn: &Client, name_or_id: &str, retain: &[String]) -> Result<()> {
    cfn.delete_stack()
        .stack_name(name_or_id)
        .set_retain_resources((!retain.is_empty()).then(|| retain.to_vec()))
        .send()
        .await
        .map_err(aws(format!("deleting stack {name_or_id}")))?;
    Ok(())
}

/// Events of the stack newer than `since` and not in `seen`, oldest first. Paging stops at the
/// first page that reaches back past `since`, since events come newest first.
pub async fn events_since(
    cfn: &Client,
    stack_id: &str,
    since: DateTime<Utc>,
    seen: &mut HashSet<String>,
) -> Result<Vec<StackEvent>> {
    let mut fresh = Vec::new();
    let mut token = None;
    loop {
        let out = cfn
            .describe_stack_events()
            .stack_name(stack_id)
            .set_next_token(token)
            .send()
            .await
            .map_err(aws(format!("reading events of stack {stack_id}")))?;
        let mut reached_start = false;
        for e in out.stack_events() {
            let event = to_event(e);
            if event.time < since {
                reached_start = true;
                break;
            }
            if seen.insert(event.id.clone()) {
                fresh.push(event);
            }
        }
        token = out.next_token().map(str::to_owned);
        if reached_start || token.is_none() {
            break;
        }
    }
    fresh.reverse();
    Ok(fresh)
}

/// The newest `limit` events, newest first.
pub async fn recent_events(cfn: &Client, stack: &str, limit: usize) -> Result<Vec<StackEvent>> {
    let mut events = Vec::new();
    let mut pages = cfn
        .describe_stack_events()
        .stack_name(stack)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(aws(format!("reading events of stack {stack}")))?;
        events.extend(page.stack_events().iter().map(to_event));
        if events.len() >= limit {
            break;
        }
    }
    events.truncate(limit);
    Ok(events)
}

fn to_event(e: &aws_sdk_cloudformation::types::StackEvent) -> StackEvent {
    StackEvent {
        id: e.event_id().unwrap_or_default().to_owned(),
        time: e.timestamp().map(to_chrono).unwrap_or_default(),
        logical_id: e.logical_resource_id().unwrap_or_default().to_owned(),
        resource_type: e.resource_type().unwrap_or_default().to_owned(),
        status: e
            .resource_status()
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default(),
        reason: e.resource_status_reason().map(str::to_owned),
    }
}

pub async fn resources(cfn: &Client, stack: &str) -> Result<Vec<StackResource>> {
    let mut all = Vec::new();
    let mut pages = cfn
        .list_stack_resources()
        .stack_name(stack)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(aws(format!("listing resources of stack {stack}")))?;
        all.extend(page.stack_resource_summaries().iter().map(|r| {
            StackResource {
                logical_id: r.logical_resource_id().unwrap_or_default().to_owned(),
                physical_id: r.physical_resource_id().map(str::to_owned),
                resource_type: r.resource_type().unwrap_or_default().to_owned(),
                status: r
                    .resource_status()
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_default(),
            }
        }));
    }
    Ok(all)
}

/// The template the stack runs now, as JSON (YAML bodies are not expected: we upload JSON).
pub async fn deployed_template(cfn: &Client, stack: &str) -> Result<serde_json::Value> {
    let out = cfn
        .get_template()
        .stack_name(stack)
        .send()
        .await
        .map_err(aws(format!("reading the template of stack {stack}")))?;
    let body = out.template_body().unwrap_or("{}");
    serde_json::from_str(body)
        .map_err(|e| Error::Local(format!("stack {stack}: its template is not JSON: {e}")))
}
