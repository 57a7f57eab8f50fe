//! `update`: validate and push, create a change set from the S3 URL (every parameter explicit,
//! the same tags), show it, refuse to replace or remove what holds data without
//! --allow-replace, confirm, execute, wait with progress, print the outputs, then deploy.
//! "No changes" is success; a dry run only shows the change set. Either way the change set is
//! deleted, so nothing is left behind.

use super::settle::{settle, StackFlags};
use super::{deploy, push, write_outputs, Ctx};
use crate::aws::cloudformation::{
    self as cfn, ChangeSet, ChangeSetRequest, DriftedResource, Stack, StackOutput,
};
use crate::aws::Clients;
use crate::error::{Error, Result};
use crate::formation::Formation;
use crate::names;
use crate::stack::changeset::{self, Change, NestedSet, ParamChange, Risk};
use crate::stack::{self, failure, Intent, Mark, Operator, Pacing, Settled};
use crate::ui::Output;
use aws_sdk_cloudformation::types::Capability;
use aws_sdk_cloudformation::Client;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Updated,
    NoChanges,
    DryRun,
}

/// The change set and what became of it: text and `--output json` from one value.
#[derive(Debug, Serialize)]
pub struct Updated {
    pub stack: String,
    pub outcome: Outcome,
    /// True for a dry run, also when it found no changes.
    pub dry_run: bool,
    /// The stack's status at the end.
    pub status: String,
    /// None when CloudFormation said "no changes" without making one.
    pub change_set: Option<String>,
    pub parameters: Vec<ParamChange>,
    pub changes: Vec<Change>,
    /// Replacements and removals that need --allow-replace.
    pub needs_allow_replace: Vec<Risk>,
    pub seconds: f64,
    pub outputs: Vec<StackOutput>,
    /// The image the env gets and why (kept, a newer bake, --image, --no-bake).
    pub image: Option<crate::image::Choice>,
    /// Resources changed by hand, which the update overwrites: empty when in sync, null when
    /// drift could not be checked.
    pub drift: Option<Vec<DriftedResource>>,
    /// The stack's termination protection when this update turned it on (true) or off (false)
    /// to follow the env's `protected` (a dry run: would); null when unchanged.
    pub termination_protection: Option<bool>,
}

impl Updated {
    /// The stack as it is, before (or without) a change.
    fn unchanged(stack: &Stack, change_set: Option<&str>) -> Self {
        Self {
            stack: stack.name.clone(),
            outcome: Outcome::NoChanges,
            dry_run: false,
            status: stack.status.clone(),
            change_set: change_set.map(str::to_owned),
            parameters: vec![],
            changes: vec![],
            needs_allow_replace: vec![],
            seconds: 0.0,
            outputs: stack.outputs.clone(),
            image: None,
            drift: None,
            termination_protection: None,
        }
    }
}

impl fmt::Display for Updated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let protection = self
            .termination_protection
            .map(|on| if on { "on" } else { "off" });
        if let (true, Some(on)) = (self.dry_run, protection) {
            writeln!(f, "would turn termination protection {on}")?;
        }
        match self.outcome {
            Outcome::NoChanges => write!(
                f,
                "{}: no changes{}; the stack is still {}",
                self.stack,
                if self.change_set.is_some() {
                    "; the change set was deleted"
                } else {
                    ""
                },
                self.status
            )?,
            Outcome::DryRun => {
                if let Some(i) = &self.image {
                    writeln!(f, "image: {} ({})", i.image_id, i.why)?;
                }
                writeln!(
                    f,
                    "{}",
                    crate::ui::changes::render(&self.parameters, &self.changes)
                )?;
                for r in &self.needs_allow_replace {
                    writeln!(f, "needs --allow-replace: {r}")?;
                }
                write!(
                    f,
                    "dry run: {} resource change(s) and {} parameter change(s) to {} not applied; the change set was deleted",
                    self.changes.len(),
                    self.parameters.len(),
                    self.stack
                )?;
            }
            Outcome::Updated => {
                writeln!(
                    f,
                    "{} {} in {:.1}s ({} resource change(s))",
                    self.stack,
                    self.status,
                    self.seconds,
                    self.changes.len()
                )?;
                write_outputs(f, &self.outputs)?;
            }
        }
        match (self.dry_run, protection) {
            (false, Some(on)) => write!(f, "\ntermination protection is now {on}"),
            _ => Ok(()),
        }
    }
}

/// What the operator asked of `update`.
#[derive(Debug, Default, Clone)]
pub struct UpdateFlags {
    /// Stop after the stack; do not run the playbooks.
    pub no_deploy: bool,
    /// Allow replacing or removing what holds data (still confirmed).
    pub allow_replace: bool,
    /// Use config.json's base_ami instead of the image the stack runs.
    pub no_bake: bool,
    /// `--image`: move the env to this image.
    pub image: Option<String>,
    pub stack: StackFlags,
}

pub async fn run(ctx: &Ctx, args: &UpdateFlags) -> Result<()> {
    // Checked with the base AMI standing in for the image: the image id changes no check.
    let formation = super::checked::checked(ctx, &ctx.env.config.base_ami)?;
    // A dry run deploys nothing, so it needs neither Ansible nor the SSH key.
    if !args.no_deploy && !ctx.dry_run {
        super::reach::playbooks_preflight(ctx).await?;
    }
    let clients = ctx.clients().await?;
    super::records::preflight(ctx, &clients).await?;
    let stack = match settle(ctx, &clients, Intent::Update, &args.stack, &[]).await? {
        Settled::Present(stack) => stack,
        Settled::Previewed(_) => {
            ctx.ui.info("dry run: nothing was changed");
            return Ok(());
        }
        Settled::Absent => {
            return Err(Error::input(format!(
                "stack {} does not exist: commission it first",
                ctx.env.stack_name()
            )))
        }
    };
    let image = super::env_image::for_update(
        ctx,
        &clients,
        &stack.id,
        args.no_bake,
        args.image.as_deref(),
    )
    .await?;
    let formation = formation.with_image(&ctx.env, &image.image_id);
    super::aws_preflight::check(
        ctx,
        &clients,
        &super::aws_preflight::Needs::of(&formation, None),
    )
    .await?;
    crate::history::note_image(&image.image_id);
    let parameters = formation.resolved_parameters()?;
    let secret = formation.secret_names(&ctx.env);
    let secret_values = crate::formation::secret_values(&secret, &parameters);
    let drift = super::drift_note::drift_note(
        ctx,
        &clients.cfn,
        &stack,
        ctx.stack_pacing(),
        &secret_values,
    )
    .await;
    let template_url = store_template(ctx, &clients, &formation).await?;
    let proposed = serde_json::Value::Object(formation.merged.body.clone());
    let tags = names::stack_tags(ctx.env.app(), &ctx.env.name);
    let defined_in = |id: &str| formation.defined_in(id);
    let nested_template = |path: &str| {
        let child = formation.nested.child_at(path)?;
        Some(serde_json::Value::Object(child.merged.body.clone()))
    };
    let proposal = Proposal {
        stack: &stack,
        template_url: &template_url,
        template: &proposed,
        parameters: &parameters,
        secret: &secret,
        tags: &tags,
        capabilities: formation.capabilities(),
        role_arn: ctx.env.stack.role_arn.as_deref(),
        notification_arns: ctx
            .env
            .stack
            .notification_arns
            .as_deref()
            .unwrap_or_default(),
        defined_in: &defined_in,
        nested_template: &nested_template,
    };
    let options = Options {
        env: &ctx.env.name,
        dry_run: ctx.dry_run,
        allow_replace: args.allow_replace,
        protected: ctx.env.protected,
        pacing: ctx.stack_pacing(),
    };
    let mut updated = apply(ctx, &clients.cfn, &proposal, &options)
        .await
        .map_err(|e| with_json_failure(ctx, e))?;
    updated.image = Some(image);
    updated.drift = drift;
    updated.dry_run = ctx.dry_run;
    // A dry run sets nothing, also when it found no changes.
    if let (false, Some(policy)) = (ctx.dry_run, &ctx.env.stack.stack_policy) {
        ctx.ui.step(format!(
            "setting the stack policy from {}",
            policy.path.display()
        ));
        cfn::set_stack_policy(&clients.cfn, &stack.id, &policy.body).await?;
    }
    updated.termination_protection =
        stack::protection::follow(&clients.cfn, ctx, &stack, ctx.env.protected, ctx.dry_run)
            .await?;
    ctx.ui.result(&updated);
    if updated.outcome == Outcome::DryRun {
        return Ok(());
    }
    if args.no_deploy {
        return super::records::after(ctx, &clients, Some(&updated.outputs)).await;
    }
    ctx.ui.step("deploying");
    deploy::deploy(
        ctx,
        &clients,
        &Default::default(),
        crate::ansible::DEFAULT_PARALLEL,
        None,
        &deploy::Passthrough::default(),
    )
    .await
}

/// A change set is made from a template in S3, even for a dry run.
async fn store_template(ctx: &Ctx, clients: &Clients, formation: &Formation) -> Result<String> {
    ctx.ui.step("pushing the template");
    let pushed = push::package_as(
        ctx,
        clients,
        "template",
        &ctx.env.name,
        &formation.merged,
        &formation.nested,
        false,
    )
    .await?;
    ctx.ui.info(&pushed);
    Ok(pushed.url)
}

/// With `--output json`, a failed stack operation's summary goes to stdout as JSON too.
fn with_json_failure(ctx: &Ctx, e: Error) -> Error {
    if let (Output::Json, Error::StackFailed(failure)) = (ctx.ui.output, &e) {
        ctx.ui.result(failure.as_ref());
    }
    e
}

/// What the stack should become.
pub struct Proposal<'a> {
    pub stack: &'a Stack,
    pub template_url: &'a str,
    /// The merged template, for the DeletionPolicy of what changes.
    pub template: &'a serde_json::Value,
    /// Values to send; may hold secrets, never printed.
    pub parameters: &'a [(String, String)],
    /// Parameters whose values are never shown (config secrets, NoEcho).
    pub secret: &'a std::collections::BTreeSet<String>,
    pub tags: &'a [(String, String)],
    pub capabilities: Vec<Capability>,
    /// The service role and notification topics the change set names.
    pub role_arn: Option<&'a str>,
    pub notification_arns: &'a [String],
    /// "fragment:line" of a logical id, or of a nested stack's resource by its path
    /// (`Queues/Jobs`).
    pub defined_in: &'a dyn Fn(&str) -> Option<String>,
    /// The template proposed for the nested stack at a path (`Queues`), when it is a local
    /// child: its DeletionPolicy and UpdateReplacePolicy count for the data guard.
    pub nested_template: &'a dyn Fn(&str) -> Option<serde_json::Value>,
}

pub struct Options<'a> {
    pub env: &'a str,
    pub dry_run: bool,
    pub allow_replace: bool,
    pub protected: bool,
    pub pacing: Pacing,
}

/// Change set, show, judge, confirm, execute, wait. The stack is settled (ready) already.
pub async fn apply(
    op: &dyn Operator,
    client: &Client,
    p: &Proposal<'_>,
    o: &Options<'_>,
) -> Result<Updated> {
    let started = std::time::Instant::now();
    let Some(set) = create_change_set(op, client, p, o).await? else {
        return Ok(Updated::unchanged(p.stack, None));
    };
    // Only a complete change set has complete nested ones to read.
    let nested = if set.status == "CREATE_COMPLETE" {
        changeset::nested_sets(client, &set).await?
    } else {
        vec![]
    };
    let mut updated = describe_update(client, p, &set, &nested).await?;
    if changeset::is_no_changes(&set) {
        changeset::discard(op, client, &set).await;
        updated.outcome = Outcome::NoChanges;
        return Ok(updated);
    }
    if set.status != "CREATE_COMPLETE" || set.execution_status != "AVAILABLE" {
        changeset::discard(op, client, &set).await;
        return Err(Error::Local(format!(
            "the change set for stack {} could not be made ({} {}): {}",
            p.stack.name,
            set.status,
            set.execution_status,
            set.reason.as_deref().unwrap_or("no reason given")
        )));
    }
    updated.needs_allow_replace = changeset::judge(
        client,
        &p.stack.id,
        &set,
        &nested,
        p.template,
        p.nested_template,
        o.protected,
    )
    .await?;
    if o.dry_run {
        changeset::discard(op, client, &set).await;
        updated.outcome = Outcome::DryRun;
        return Ok(updated);
    }
    op.step(&format!(
        "changes to stack {} ({}):",
        p.stack.name, set.name
    ));
    op.info(&crate::ui::changes::render(
        &updated.parameters,
        &updated.changes,
    ));
    if let Err(e) = agree(op, p, o, &updated) {
        changeset::discard(op, client, &set).await;
        return Err(e);
    }
    let stack = execute(op, client, p, o, &set, &updated.changes).await?;
    updated.outcome = Outcome::Updated;
    updated.status = stack.status;
    updated.outputs = stack.outputs;
    updated.seconds = started.elapsed().as_secs_f64();
    Ok(updated)
}

async fn create_change_set(
    op: &dyn Operator,
    client: &Client,
    p: &Proposal<'_>,
    o: &Options<'_>,
) -> Result<Option<ChangeSet>> {
    let name = format!("manage-{}", chrono::Utc::now().timestamp_millis());
    op.step(&format!(
        "creating change set {name} for stack {}",
        p.stack.name
    ));
    let request = ChangeSetRequest {
        stack: &p.stack.name,
        name: &name,
        token: &name,
        template_url: p.template_url,
        parameters: p.parameters,
        tags: p.tags,
        capabilities: p.capabilities.clone(),
        role_arn: p.role_arn,
        notification_arns: p.notification_arns,
        include_nested: p
            .template
            .as_object()
            .is_some_and(crate::template::nested::has_nested_stacks),
    };
    changeset::prepare(client, &request, o.pacing).await
}

/// The change set as the operator reads it: parameter changes, resource changes (those of
/// nested stacks by their path, `Queues/Jobs`) with their fragments.
async fn describe_update(
    client: &Client,
    p: &Proposal<'_>,
    set: &ChangeSet,
    nested: &[NestedSet],
) -> Result<Updated> {
    let mut updated = Updated::unchanged(p.stack, Some(&set.name));
    updated.parameters =
        changeset::shown_parameters(client, &p.stack.id, p.parameters, p.secret).await?;
    updated.changes = changeset::with_nested(set, nested)
        .into_iter()
        .map(|c| {
            let defined_in = (p.defined_in)(&c.logical_id);
            Change::new(c, defined_in)
        })
        .collect();
    Ok(updated)
}

/// --allow-replace for what needs it, then the operator's confirmation.
fn agree(op: &dyn Operator, p: &Proposal<'_>, o: &Options<'_>, updated: &Updated) -> Result<()> {
    if !updated.needs_allow_replace.is_empty() && !o.allow_replace {
        let risks: Vec<_> = updated
            .needs_allow_replace
            .iter()
            .map(|r| r.to_string())
            .collect();
        return Err(Error::Refused(format!(
            "update of {} refused: {}; pass --allow-replace to go ahead (the change set was deleted; nothing was changed)",
            o.env,
            risks.join("; ")
        )));
    }
    for r in &updated.needs_allow_replace {
        op.warn(&format!("{r} (allowed by --allow-replace)"));
    }
    op.confirm(
        &format!("update of {}", o.env),
        &format!(
            "Apply these changes to stack {}{}?",
            p.stack.name,
            if o.protected {
                " (a protected env)"
            } else {
                ""
            }
        ),
    )
}

/// Execute the change set and wait for the stack, streaming its events.
async fn execute(
    op: &dyn Operator,
    client: &Client,
    p: &Proposal<'_>,
    o: &Options<'_>,
    set: &ChangeSet,
    changes: &[Change],
) -> Result<Stack> {
    op.step(&format!("updating stack {}", p.stack.name));
    let mark = Mark::existing(client, &p.stack.id).await?;
    let token = format!("manage-run-{}", chrono::Utc::now().timestamp_millis());
    cfn::execute_change_set(client, &p.stack.id, &set.id, &token).await?;
    let origins: BTreeMap<String, String> = changes
        .iter()
        .filter_map(|c| Some((c.change.logical_id.clone(), c.defined_in.clone()?)))
        .collect();
    let watch = op.watch(&p.stack.name, Box::new(move |id| origins.get(id).cloned()));
    let waited = stack::wait(client, &p.stack.id, mark, o.pacing, watch.as_ref()).await?;
    drop(watch);
    match waited.stack {
        Some(ref s) if s.status == "UPDATE_COMPLETE" => Ok(s.clone()),
        _ => Err(failure::explain(client, &p.stack.name, &waited, p.defined_in).await),
    }
}
