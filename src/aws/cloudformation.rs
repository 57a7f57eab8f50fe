//! CloudFormation calls, returning our own plain types.

use super::to_chrono;
use crate::error::{aws, Error, Result};
use aws_sdk_cloudformation::types::{Capability, Parameter, StackStatus, Tag};
use aws_sdk_cloudformation::Client;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::HashSet;

#[derive(Debug, Clone, Default, Serialize)]
pub struct Stack {
    pub id: String,
    pub name: String,
    pub status: String,
    pub reason: Option<String>,
    pub outputs: Vec<StackOutput>,
    pub created: Option<DateTime<Utc>>,
    pub updated: Option<DateTime<Utc>>,
    /// EnableTerminationProtection as DescribeStacks reports it.
    pub termination_protection: bool,
    /// The CloudFormation service role the stack acts with, if any.
    pub role_arn: Option<String>,
    /// SNS topics that get the stack's events.
    pub notification_arns: Vec<String>,
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
    /// The resource's own id; for a nested stack, its stack id (where its events are).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub physical_id: Option<String>,
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
    pub reason: Option<String>,
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
    /// StackPolicyBody.
    pub stack_policy: Option<&'a str>,
    /// RoleARN: the service role CloudFormation acts with.
    pub role_arn: Option<&'a str>,
    pub notification_arns: &'a [String],
    /// EnableTerminationProtection: set for a protected env.
    pub termination_protection: bool,
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
        termination_protection: s.enable_termination_protection().unwrap_or(false),
        role_arn: s.role_arn().map(str::to_owned),
        notification_arns: s.notification_arns().to_vec(),
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
        .set_stack_policy_body(req.stack_policy.map(str::to_owned))
        .set_role_arn(req.role_arn.map(str::to_owned))
        .set_notification_arns(
            (!req.notification_arns.is_empty()).then(|| req.notification_arns.to_vec()),
        )
        .set_enable_termination_protection(req.termination_protection.then_some(true))
        .send()
        .await
        .map_err(aws(format!("creating stack {}", req.name)))?;
    Ok(out.stack_id().unwrap_or(req.name).to_owned())
}

/// UpdateTerminationProtection: turn the stack's termination protection on or off.
pub async fn set_termination_protection(cfn: &Client, name_or_id: &str, on: bool) -> Result<()> {
    let what = if on { "on" } else { "off" };
    cfn.update_termination_protection()
        .stack_name(name_or_id)
        .enable_termination_protection(on)
        .send()
        .await
        .map_err(aws(format!(
            "turning termination protection {what} for stack {name_or_id}"
        )))?;
    Ok(())
}

/// DeleteStack; `role_arn` is the service role CloudFormation deletes with (None: the stack's
/// own, or the caller's credentials).
pub async fn delete(
    cfn: &Client,
    name_or_id: &str,
    retain: &[String],
    role_arn: Option<&str>,
) -> Result<()> {
    cfn.delete_stack()
        .stack_name(name_or_id)
        .set_retain_resources((!retain.is_empty()).then(|| retain.to_vec()))
        .set_role_arn(role_arn.map(str::to_owned))
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

/// Every event of the stack's latest operation, oldest first: pages back (newest first) until
/// the stack's own event that started it (`*_IN_PROGRESS`, "User Initiated"), however many
/// pages that takes.
pub async fn operation_events(cfn: &Client, stack_id: &str) -> Result<Vec<StackEvent>> {
    let name = stack_id.split('/').nth(1).unwrap_or(stack_id);
    let mut events = Vec::new();
    let mut pages = cfn
        .describe_stack_events()
        .stack_name(stack_id)
        .into_paginator()
        .send();
    'pages: while let Some(page) = pages.next().await {
        let page = page.map_err(aws(format!("reading events of stack {stack_id}")))?;
        for e in page.stack_events().iter().map(to_event) {
            let starts = (e.logical_id == name || e.physical_id.as_deref() == Some(stack_id))
                && e.resource_type == "AWS::CloudFormation::Stack"
                && e.status.ends_with("_IN_PROGRESS")
                && e.reason.as_deref() == Some("User Initiated");
            events.push(e);
            if starts {
                break 'pages;
            }
        }
    }
    events.reverse();
    Ok(events)
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
        physical_id: e
            .physical_resource_id()
            .filter(|p| !p.is_empty())
            .map(str::to_owned),
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
                reason: r.resource_status_reason().map(str::to_owned),
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

/// What CreateChangeSet needs: the same inputs as a create, for an existing stack.
/// Parameter values may be secrets: this type is never printed.
pub struct ChangeSetRequest<'a> {
    /// The stack's name (the emulator does not take its id here).
    pub stack: &'a str,
    pub name: &'a str,
    /// Makes the SDK's retries of this call idempotent.
    pub token: &'a str,
    pub template_url: &'a str,
    pub parameters: &'a [(String, String)],
    pub tags: &'a [(String, String)],
    pub capabilities: Vec<Capability>,
    pub role_arn: Option<&'a str>,
    /// Sent even when empty: an empty list removes the topics the stack had.
    pub notification_arns: &'a [String],
    /// IncludeNestedStacks: a change set for each nested stack too, so its changes can be read.
    pub include_nested: bool,
}

/// A change set as CloudFormation describes it, with every page of its changes.
#[derive(Debug, Clone, Serialize)]
pub struct ChangeSet {
    pub id: String,
    pub name: String,
    pub stack_id: String,
    /// CREATE_PENDING, CREATE_IN_PROGRESS, CREATE_COMPLETE, FAILED, ...
    pub status: String,
    /// AVAILABLE once it can be executed.
    pub execution_status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub changes: Vec<ResourceChange>,
}

/// One resource change of a change set.
#[derive(Debug, Clone, Serialize)]
pub struct ResourceChange {
    /// Add, Modify, Remove, Import or Dynamic.
    pub action: String,
    pub logical_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub physical_id: Option<String>,
    pub resource_type: String,
    /// True, Conditional or False; only for Modify, and only where the API says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replacement: Option<String>,
    /// What parts changed: Properties, Tags, Metadata, ...
    pub scope: Vec<String>,
    /// The changed properties by name ("InstanceType"), and "Tags", where the API says.
    pub changed: Vec<String>,
    /// For a nested stack in a change set made with IncludeNestedStacks: its own change set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change_set_id: Option<String>,
}

/// Create a change set (type UPDATE) and return its id. Every parameter is sent explicitly:
/// UsePreviousValue is never used.
pub async fn create_change_set(cfn: &Client, req: &ChangeSetRequest<'_>) -> Result<String> {
    let out = cfn
        .create_change_set()
        .stack_name(req.stack)
        .change_set_name(req.name)
        .client_token(req.token)
        .change_set_type(aws_sdk_cloudformation::types::ChangeSetType::Update)
        .template_url(req.template_url)
        .set_parameters(Some(sdk_parameters(req.parameters)))
        .set_tags(Some(sdk_tags(req.tags)))
        .set_capabilities(Some(req.capabilities.clone()))
        .set_role_arn(req.role_arn.map(str::to_owned))
        .set_notification_arns(Some(req.notification_arns.to_vec()))
        .set_include_nested_stacks(req.include_nested.then_some(true))
        .send()
        .await
        .map_err(aws(format!(
            "creating a change set for stack {}",
            req.stack
        )))?;
    Ok(out.id().unwrap_or(req.name).to_owned())
}

/// The change set's status and, across every page, its changes. `stack_id` may be empty when
/// `id` is the change set's ARN (a nested stack's change set).
pub async fn describe_change_set(cfn: &Client, stack_id: &str, id: &str) -> Result<ChangeSet> {
    let context = || format!("describing change set {id}");
    let mut pages = cfn
        .describe_change_set()
        .set_stack_name((!stack_id.is_empty()).then(|| stack_id.to_owned()))
        .change_set_name(id)
        .into_paginator()
        .send();
    let first = pages
        .next()
        .await
        .ok_or_else(|| Error::Local(format!("{}: empty answer", context())))?
        .map_err(aws(context()))?;
    let mut set = ChangeSet {
        id: first.change_set_id().unwrap_or(id).to_owned(),
        name: first.change_set_name().unwrap_or_default().to_owned(),
        stack_id: first.stack_id().unwrap_or(stack_id).to_owned(),
        status: first.status().map_or("UNKNOWN", |s| s.as_str()).to_owned(),
        execution_status: first
            .execution_status()
            .map_or("UNKNOWN", |s| s.as_str())
            .to_owned(),
        reason: first.status_reason().map(str::to_owned),
        changes: to_changes(first.changes()),
    };
    while let Some(page) = pages.next().await {
        let page = page.map_err(aws(context()))?;
        set.changes.extend(to_changes(page.changes()));
    }
    Ok(set)
}

fn to_changes(changes: &[aws_sdk_cloudformation::types::Change]) -> Vec<ResourceChange> {
    changes
        .iter()
        .filter_map(|c| c.resource_change())
        .map(|r| {
            let mut changed: Vec<String> = Vec::new();
            for target in r.details().iter().filter_map(|d| d.target()) {
                let what = match (target.attribute().map(|a| a.as_str()), target.name()) {
                    (Some("Properties"), Some(name)) => name.to_owned(),
                    (Some(attribute), _) => attribute.to_owned(),
                    (None, Some(name)) => name.to_owned(),
                    (None, None) => continue,
                };
                if !changed.contains(&what) {
                    changed.push(what);
                }
            }
            ResourceChange {
                action: r.action().map_or("Unknown", |a| a.as_str()).to_owned(),
                logical_id: r.logical_resource_id().unwrap_or_default().to_owned(),
                physical_id: r.physical_resource_id().map(str::to_owned),
                resource_type: r.resource_type().unwrap_or_default().to_owned(),
                replacement: r.replacement().map(|p| p.as_str().to_owned()),
                scope: r.scope().iter().map(|s| s.as_str().to_owned()).collect(),
                changed,
                change_set_id: r.change_set_id().map(str::to_owned),
            }
        })
        .collect()
}

pub async fn execute_change_set(cfn: &Client, stack_id: &str, id: &str, token: &str) -> Result<()> {
    cfn.execute_change_set()
        .stack_name(stack_id)
        .change_set_name(id)
        .client_request_token(token)
        .send()
        .await
        .map_err(aws(format!("executing change set {id}")))?;
    Ok(())
}

pub async fn delete_change_set(cfn: &Client, stack_id: &str, id: &str) -> Result<()> {
    cfn.delete_change_set()
        .stack_name(stack_id)
        .change_set_name(id)
        .send()
        .await
        .map_err(aws(format!("deleting change set {id}")))?;
    Ok(())
}

/// ContinueUpdateRollback, for a stack in UPDATE_ROLLBACK_FAILED; `skip` becomes ResourcesToSkip.
pub async fn continue_update_rollback(cfn: &Client, stack_id: &str, skip: &[String]) -> Result<()> {
    cfn.continue_update_rollback()
        .stack_name(stack_id)
        .set_resources_to_skip((!skip.is_empty()).then(|| skip.to_vec()))
        .send()
        .await
        .map_err(aws(format!("continuing the rollback of stack {stack_id}")))?;
    Ok(())
}

/// RollbackStack, for a stack in UPDATE_FAILED (or CREATE_FAILED) with rollback disabled.
pub async fn rollback_stack(cfn: &Client, stack_id: &str) -> Result<()> {
    cfn.rollback_stack()
        .stack_name(stack_id)
        .send()
        .await
        .map_err(aws(format!("rolling back stack {stack_id}")))?;
    Ok(())
}

/// The parameter values the stack runs with now, as CloudFormation reports them (NoEcho values
/// come back as ****). Kept apart from `Stack`, which is printed.
pub async fn stack_parameters(cfn: &Client, stack: &str) -> Result<Vec<(String, String)>> {
    let out = cfn
        .describe_stacks()
        .stack_name(stack)
        .send()
        .await
        .map_err(aws(format!("describing stack {stack}")))?;
    Ok(out
        .stacks()
        .first()
        .map(|s| {
            s.parameters()
                .iter()
                .map(|p| {
                    (
                        p.parameter_key().unwrap_or_default().to_owned(),
                        p.parameter_value().unwrap_or_default().to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default())
}

/// SetStackPolicy with the policy's JSON text.
pub async fn set_stack_policy(cfn: &Client, stack: &str, body: &str) -> Result<()> {
    cfn.set_stack_policy()
        .stack_name(stack)
        .stack_policy_body(body)
        .send()
        .await
        .map_err(aws(format!("setting the stack policy of stack {stack}")))?;
    Ok(())
}

/// GetStackPolicy: the policy's JSON text, or None when the stack has none.
pub async fn stack_policy(cfn: &Client, stack: &str) -> Result<Option<String>> {
    let out = cfn
        .get_stack_policy()
        .stack_name(stack)
        .send()
        .await
        .map_err(aws(format!("reading the stack policy of stack {stack}")))?;
    Ok(out
        .stack_policy_body()
        .filter(|b| !b.trim().is_empty())
        .map(str::to_owned))
}

fn sdk_parameters(parameters: &[(String, String)]) -> Vec<Parameter> {
    parameters
        .iter()
        .map(|(k, v)| {
            Parameter::builder()
                .parameter_key(k)
                .parameter_value(v)
                .build()
        })
        .collect()
}

fn sdk_tags(tags: &[(String, String)]) -> Vec<Tag> {
    tags.iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

/// A live stack (not DELETE_COMPLETE) with its tags and parameter values, as listed.
/// Parameter values may be secrets (NoEcho ones come back as ****): never printed.
#[derive(Debug, Clone)]
pub struct ListedStack {
    pub name: String,
    pub status: String,
    pub tags: std::collections::BTreeMap<String, String>,
    pub parameters: Vec<(String, String)>,
}

/// Every live stack carrying all of these tags, following every page.
pub async fn tagged_stacks(cfn: &Client, tags: &[(&str, &str)]) -> Result<Vec<ListedStack>> {
    let mut pages = cfn.describe_stacks().into_paginator().send();
    let mut found = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(aws("listing stacks"))?;
        for s in page.stacks() {
            let status = s.stack_status().map(StackStatus::as_str).unwrap_or("");
            let stack_tags: std::collections::BTreeMap<String, String> = s
                .tags()
                .iter()
                .filter_map(|t| Some((t.key()?.to_owned(), t.value()?.to_owned())))
                .collect();
            let matches = tags
                .iter()
                .all(|(k, v)| stack_tags.get(*k).map(String::as_str) == Some(*v));
            if status == "DELETE_COMPLETE" || !matches {
                continue;
            }
            found.push(ListedStack {
                name: s.stack_name().unwrap_or_default().to_owned(),
                status: status.to_owned(),
                tags: stack_tags,
                parameters: s
                    .parameters()
                    .iter()
                    .map(|p| {
                        (
                            p.parameter_key().unwrap_or_default().to_owned(),
                            p.parameter_value().unwrap_or_default().to_owned(),
                        )
                    })
                    .collect(),
            });
        }
    }
    Ok(found)
}

/// The id of the most recently deleted stack of this name (CloudFormation lists deleted
/// stacks for 90 days), and when it was deleted; None if there is none.
pub async fn last_deleted(
    cfn: &Client,
    name: &str,
) -> Result<Option<(String, Option<DateTime<Utc>>)>> {
    let mut pages = cfn
        .list_stacks()
        .stack_status_filter(StackStatus::DeleteComplete)
        .into_paginator()
        .send();
    let mut deleted = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(aws("listing deleted stacks"))?;
        deleted.extend(
            page.stack_summaries()
                .iter()
                .filter(|s| s.stack_name() == Some(name))
                .map(|s| {
                    let id = s.stack_id().unwrap_or_default().to_owned();
                    (id, s.deletion_time().map(to_chrono))
                }),
        );
    }
    // The newest deletion (one with a time wins over one without).
    Ok(deleted.into_iter().max_by_key(|(_, when)| *when))
}

/// How DetectStackDrift answered: a detection started, or an endpoint without the API.
#[derive(Debug)]
pub enum DriftStart {
    /// The detection's id, for DescribeStackDriftDetectionStatus.
    Started(String),
    /// What the endpoint answered instead (an emulator's "not implemented").
    Unsupported(String),
}

/// Start drift detection on the stack. An endpoint that lacks the API (an unknown action, or an
/// HTTP 500/501 with no AWS error, as moto answers) is `Unsupported`, not an error; the SDK
/// retries such an answer only twice, so finding out costs well under a second.
pub async fn detect_drift(cfn: &Client, stack: &str) -> Result<DriftStart> {
    let out = cfn
        .detect_stack_drift()
        .stack_name(stack)
        .customize()
        .config_override(
            aws_sdk_cloudformation::config::Builder::default()
                .retry_config(super::setup::retry_config().with_max_attempts(3)),
        )
        .send()
        .await
        .map_err(aws(format!("starting drift detection on stack {stack}")));
    match out {
        Ok(out) => Ok(DriftStart::Started(
            out.stack_drift_detection_id()
                .unwrap_or_default()
                .to_owned(),
        )),
        Err(Error::Aws(e)) if e.lacks_call() => Ok(DriftStart::Unsupported(e.answer())),
        Err(e) => Err(e),
    }
}

/// One look at a drift detection.
#[derive(Debug, Clone)]
pub struct DriftDetection {
    /// DETECTION_IN_PROGRESS, DETECTION_COMPLETE or DETECTION_FAILED.
    pub status: String,
    /// IN_SYNC, DRIFTED, UNKNOWN or NOT_CHECKED, once known.
    pub drift_status: Option<String>,
    pub reason: Option<String>,
}

pub async fn drift_detection(cfn: &Client, detection_id: &str) -> Result<DriftDetection> {
    let out = cfn
        .describe_stack_drift_detection_status()
        .stack_drift_detection_id(detection_id)
        .send()
        .await
        .map_err(aws(format!("looking at drift detection {detection_id}")))?;
    Ok(DriftDetection {
        status: out
            .detection_status()
            .map_or("UNKNOWN", |s| s.as_str())
            .to_owned(),
        drift_status: out.stack_drift_status().map(|s| s.as_str().to_owned()),
        reason: out.detection_status_reason().map(str::to_owned),
    })
}

/// A resource changed outside CloudFormation (or deleted), as the last detection saw it.
#[derive(Debug, Clone, Serialize)]
pub struct DriftedResource {
    pub logical_id: String,
    pub resource_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub physical_id: Option<String>,
    /// MODIFIED or DELETED.
    pub drift: String,
    /// Empty for a deleted resource.
    pub differences: Vec<PropertyDifference>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PropertyDifference {
    /// The property's JSON path, as CloudFormation gives it (`/Tags/0/Value`).
    pub path: String,
    pub expected: String,
    pub actual: String,
    /// ADD, REMOVE or NOT_EQUAL.
    pub difference: String,
}

/// The stack's MODIFIED and DELETED resources from the last drift detection, every page.
pub async fn resource_drifts(cfn: &Client, stack: &str) -> Result<Vec<DriftedResource>> {
    use aws_sdk_cloudformation::types::StackResourceDriftStatus as S;
    let mut all = Vec::new();
    let mut pages = cfn
        .describe_stack_resource_drifts()
        .stack_name(stack)
        .stack_resource_drift_status_filters(S::Modified)
        .stack_resource_drift_status_filters(S::Deleted)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(aws(format!(
            "listing the drifted resources of stack {stack}"
        )))?;
        all.extend(page.stack_resource_drifts().iter().map(|r| {
            DriftedResource {
                logical_id: r.logical_resource_id().unwrap_or_default().to_owned(),
                resource_type: r.resource_type().unwrap_or_default().to_owned(),
                physical_id: r
                    .physical_resource_id()
                    .filter(|p| !p.is_empty())
                    .map(str::to_owned),
                drift: r
                    .stack_resource_drift_status()
                    .map_or("UNKNOWN", |s| s.as_str())
                    .to_owned(),
                differences: r
                    .property_differences()
                    .iter()
                    .map(|d| PropertyDifference {
                        path: d.property_path().unwrap_or_default().to_owned(),
                        expected: d.expected_value().unwrap_or_default().to_owned(),
                        actual: d.actual_value().unwrap_or_default().to_owned(),
                        difference: d
                            .difference_type()
                            .map_or("UNKNOWN", |t| t.as_str())
                            .to_owned(),
                    })
                    .collect(),
            }
        }));
    }
    Ok(all)
}
