//! `decommission`: confirm, delete the env's stack, wait until it is gone, and report what
//! CloudFormation kept (DeletionPolicy Retain or Snapshot) and what else is left (leftovers.rs).

mod leftovers;

use super::settle::{settle, StackFlags};
use super::Ctx;
use crate::aws::cloudformation as cfn;
use crate::aws::route53::{self, Zone};
use crate::aws::Clients;
use crate::error::{Error, Result};
use crate::stack::{Intent, Settled};
use serde::Serialize;
use std::fmt;

#[derive(Serialize)]
pub struct Decommissioned {
    pub stack: String,
    /// True for the plan of a dry run: `deleted` then says what the real run would delete.
    pub dry_run: bool,
    /// False when there was no stack to delete.
    pub deleted: bool,
    pub seconds: f64,
    pub retained: Vec<Retained>,
    /// What `--with-image` cleaned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub images: Option<super::prune::Cleaned>,
    /// Hosted zones the stack created that are still there after the delete.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub zones_left: Vec<Zone>,
    /// With no stack to delete: when the last stack of this name was deleted (`retained` is
    /// then what that delete kept).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<String>,
    /// Instances still tagged with the env once its stack is gone: no stack owns them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub instances_left: Vec<leftovers::LeftInstance>,
}

#[derive(Serialize, Clone)]
pub struct Retained {
    pub logical_id: String,
    pub resource_type: String,
    pub physical_id: Option<String>,
    pub policy: String,
}

/// `UploadsBucket AWS::S3::Bucket argos-uploads-1 (Retain)`
impl fmt::Display for Retained {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let id = self.physical_id.as_deref().unwrap_or("-");
        write!(
            f,
            "{} {} {id} ({})",
            self.logical_id, self.resource_type, self.policy
        )
    }
}

impl fmt::Display for Decommissioned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let by_hand = "(delete these by hand when no longer needed):";
        if !self.deleted {
            write!(f, "{} does not exist; nothing to decommission", self.stack)?;
            if let Some(when) = &self.deleted_at {
                write!(f, " (it was deleted at {when})")?;
                if !self.retained.is_empty() {
                    write!(f, "\nthat delete retained {by_hand}")?;
                }
                for r in &self.retained {
                    write!(f, "\n  {r}")?;
                }
            }
        } else if self.dry_run {
            write!(f, "dry run: would delete stack {}", self.stack)?;
            for r in &self.retained {
                write!(f, "\n  would retain {r}")?;
            }
        } else {
            write!(f, "{} deleted in {:.1}s", self.stack, self.seconds)?;
            if self.retained.is_empty() {
                write!(f, "; nothing was retained")?;
            } else {
                write!(f, "\nretained {by_hand}")?;
            }
            for r in &self.retained {
                write!(f, "\n  {r}")?;
            }
        }
        for z in &self.zones_left {
            write!(
                f,
                "\nhosted zone {} ({}) that the stack created is still there: delete it by hand when no longer needed",
                z.id, z.name
            )?;
        }
        if !self.instances_left.is_empty() {
            let list: Vec<String> = self
                .instances_left
                .iter()
                .map(|i| {
                    let name = i
                        .name
                        .as_deref()
                        .map(|n| format!("{n} "))
                        .unwrap_or_default();
                    format!("{name}{} ({})", i.instance_id, i.state)
                })
                .collect();
            write!(
                f,
                "\ninstances still tagged with this env, which no stack owns: {}; terminate them by hand when no longer needed",
                list.join(", ")
            )?;
        }
        if let Some(images) = &self.images {
            write!(f, "\n{images}")?;
        }
        Ok(())
    }
}

/// What the operator asked of `decommission`.
#[derive(Debug, Default, Clone)]
pub struct DecommissionFlags {
    /// Needed on top of confirmation for a protected env.
    pub force: bool,
    /// Also delete the app's images (as `clean` does).
    pub with_image: bool,
    /// With DELETE_FAILED: resources to keep when deleting again.
    pub retain: Vec<String>,
    /// Refuse (exit 3) instead of waiting for another operation on the stack.
    pub no_wait: bool,
}

pub async fn run(ctx: &Ctx, args: &DecommissionFlags) -> Result<()> {
    let (force, with_image) = (args.force, args.with_image);
    // Refused before any AWS call: the config alone says the env is protected.
    protected_needs_force(ctx, force)?;
    let clients = ctx.clients().await?;
    let name = ctx.env.stack_name();
    let mut result = Decommissioned {
        stack: name.clone(),
        dry_run: ctx.dry_run,
        deleted: false,
        seconds: 0.0,
        retained: vec![],
        images: None,
        zones_left: vec![],
        deleted_at: None,
        instances_left: vec![],
    };
    let mut confirmed = ctx.yes;
    let stack_args = StackFlags {
        no_wait: args.no_wait,
        ..StackFlags::default()
    };
    let existing = match settle(
        ctx,
        &clients,
        Intent::Decommission,
        &stack_args,
        &args.retain,
    )
    .await?
    {
        Settled::Absent => None,
        Settled::Present(s) | Settled::Previewed(s) => Some(s),
    };
    if let Some(existing) = existing {
        result.retained = retained(&clients, &name).await?;
        result
            .retained
            .extend(args.retain.iter().map(|id| Retained {
                logical_id: id.clone(),
                resource_type: String::new(),
                physical_id: None,
                policy: "--retain".to_owned(),
            }));
        result.deleted = true;
        // A dry run of what would be refused is refused too.
        lifting_needs_force(&existing, force)?;
        if ctx.dry_run {
            if existing.termination_protection {
                ctx.ui.step(format!(
                    "dry run: would turn off the termination protection of stack {name}"
                ));
            }
            ctx.ui.step(format!(
                "dry run: would delete stack {name} ({})",
                existing.status
            ));
            remove_records(ctx, &clients, &existing).await?;
        } else {
            confirm(ctx, &existing, with_image)?;
            confirmed = true;
            let started = std::time::Instant::now();
            // Only for the report afterwards: a stack too broken to list its resources still goes.
            let zones = created_zones(&clients, &name).await.unwrap_or_else(|e| {
                ctx.ui
                    .warn(format!("could not list the stack's hosted zones: {e}"));
                vec![]
            });
            remove_records(ctx, &clients, &existing).await?;
            delete_and_wait(ctx, &clients, &existing, &args.retain).await?;
            result.seconds = started.elapsed().as_secs_f64();
            // A retained zone is listed once, with the retained resources.
            let zones: Vec<String> = zones
                .into_iter()
                .filter(|(logical, _)| !result.retained.iter().any(|r| &r.logical_id == logical))
                .map(|(_, id)| id)
                .collect();
            result.zones_left = zones_left(ctx, &clients, &zones).await;
        }
    }
    if !result.deleted {
        // Gone already (a rerun, or deleted before): say what its delete kept.
        match leftovers::last_delete(&clients, &name).await {
            Ok(Some((when, kept))) => {
                result.deleted_at = Some(when);
                result.retained = kept;
            }
            Ok(None) => {}
            Err(e) => ctx
                .ui
                .warn(format!("could not look up the last delete of {name}: {e}")),
        }
    }
    if !result.dry_run || !result.deleted {
        // What no stack owns any more: instances still tagged with the env.
        result.instances_left = leftovers::instances(&clients, ctx.env.app(), &ctx.env.name)
            .await
            .unwrap_or_else(|e| {
                ctx.ui.warn(format!(
                    "could not look for instances left with the env's tags: {e}"
                ));
                vec![]
            });
    }
    if with_image {
        // A dry run still has the stack: leave its hosts out, as the real run will not see them.
        let retained: Vec<String> = result
            .retained
            .iter()
            .map(|r| r.logical_id.clone())
            .collect();
        let departing = super::prune::Departing {
            stack: &name,
            retained: &retained,
        };
        let departing = (ctx.dry_run && result.deleted).then_some(&departing);
        result.images =
            Some(super::prune::clean(ctx, &clients, false, confirmed, departing).await?);
    }
    ctx.ui.result(&result);
    Ok(())
}

fn protected_needs_force(ctx: &Ctx, force: bool) -> Result<()> {
    if ctx.env.protected && !force {
        return Err(Error::Refused(format!(
            "env {} is protected in {}: add --force to decommission it",
            ctx.env.name,
            ctx.env.config.path.display()
        )));
    }
    Ok(())
}

/// A stack with termination protection (a protected env's, or turned on by hand) is deleted
/// only with --force, which lifts the protection after the confirmation.
fn lifting_needs_force(existing: &cfn::Stack, force: bool) -> Result<()> {
    if existing.termination_protection && !force {
        return Err(Error::Refused(format!(
            "stack {} has termination protection on: add --force to turn it off and decommission",
            existing.name
        )));
    }
    Ok(())
}

/// Every env needs the name typed, or --yes (--force was checked before).
fn confirm(ctx: &Ctx, existing: &cfn::Stack, with_image: bool) -> Result<()> {
    if ctx.yes {
        return Ok(());
    }
    let images = if with_image {
        ", then the app's images, which every env shares"
    } else {
        ""
    };
    let lifted = if existing.termination_protection {
        ", after turning off its termination protection"
    } else {
        ""
    };
    let question = format!(
        "This deletes stack {} and every resource in it ({}){lifted}{images}.",
        existing.name, existing.status
    );
    ctx.ui.confirm_typed(
        &format!("decommission of {}", ctx.env.name),
        &question,
        &ctx.env.name,
    )
}

async fn delete_and_wait(
    ctx: &Ctx,
    clients: &Clients,
    existing: &cfn::Stack,
    retain: &[String],
) -> Result<()> {
    ctx.ui.step(format!("deleting stack {}", existing.name));
    let progress = ctx.ui.stack_progress(&existing.name, |_| None);
    crate::stack::settle::delete(
        &clients.cfn,
        ctx,
        existing,
        retain,
        ctx.env.stack.role_arn.as_deref(),
        ctx.stack_pacing(),
        &progress,
    )
    .await?;
    progress.finish();
    Ok(())
}

/// Resources whose DeletionPolicy keeps them (or a snapshot of them) after the delete.
async fn retained(clients: &Clients, name: &str) -> Result<Vec<Retained>> {
    let template = cfn::deployed_template(&clients.cfn, name).await?;
    let Some(resources) = template.get("Resources").and_then(|r| r.as_object()) else {
        return Ok(vec![]);
    };
    let kept: Vec<_> = resources
        .iter()
        .filter_map(|(id, r)| {
            let policy = r.get("DeletionPolicy")?.as_str()?;
            matches!(policy, "Retain" | "RetainExceptOnCreate" | "Snapshot")
                .then(|| (id.clone(), policy.to_owned()))
        })
        .collect();
    if kept.is_empty() {
        return Ok(vec![]);
    }
    let live = cfn::resources(&clients.cfn, name).await?;
    Ok(kept
        .into_iter()
        .map(|(id, policy)| {
            let found = live.iter().find(|r| r.logical_id == id);
            Retained {
                resource_type: found
                    .map(|r| r.resource_type.clone())
                    .or_else(|| {
                        resources[&id]
                            .get("Type")
                            .and_then(|t| t.as_str())
                            .map(str::to_owned)
                    })
                    .unwrap_or_default(),
                physical_id: found.and_then(|r| r.physical_id.clone()),
                logical_id: id,
                policy,
            }
        })
        .collect())
}

/// The env's DNS records go before the stack: a hosted zone that still holds records cannot be
/// deleted, so a stack that owns the zone would end in DELETE_FAILED. A zone that cannot be
/// found holds none of the env's records.
async fn remove_records(ctx: &Ctx, clients: &Clients, existing: &cfn::Stack) -> Result<()> {
    match super::records::sync(ctx, clients, Some(&existing.outputs), None).await {
        Ok(Some(s)) if ctx.dry_run && !s.changes.is_empty() => {
            ctx.ui.info(format!(
                "would delete the env's DNS names in zone {}:",
                s.zone
            ));
            ctx.ui.info(super::records::changes_text(&s.changes));
            Ok(())
        }
        Ok(_) => Ok(()),
        Err(Error::Input(why)) => {
            ctx.ui.warn(format!("{why}: no DNS records to delete"));
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// The hosted zones the stack made: (logical id, zone id).
async fn created_zones(clients: &Clients, name: &str) -> Result<Vec<(String, String)>> {
    Ok(cfn::resources(&clients.cfn, name)
        .await?
        .into_iter()
        .filter(|r| r.resource_type == "AWS::Route53::HostedZone")
        .filter_map(|r| Some((r.logical_id, r.physical_id?)))
        .collect())
}

/// Of the zones the stack made, those still there after its delete (CloudFormation keeps a
/// zone it could not empty, and so does the emulator). A failed look is a warning: the stack
/// is already gone.
async fn zones_left(ctx: &Ctx, clients: &Clients, ids: &[String]) -> Vec<Zone> {
    let mut left = Vec::new();
    for id in ids {
        match route53::zone(&clients.route53, id).await {
            Ok(Some(z)) => left.push(z),
            Ok(None) => {}
            Err(e) => ctx.ui.warn(format!(
                "could not check whether hosted zone {id} is gone: {e}"
            )),
        }
    }
    left
}
