//! `clean`: delete what bakes leave: the image stack (or a stray image instance), every
//! `<app>-image*` image, and their snapshots (through each image's block device mappings, and
//! by the tags bake gives them, so a snapshot whose image is gone is still found). Snapshots
//! still in use right after their image is deregistered are retried until the image deadline.
//! `--keep-latest` keeps the image in use.

use super::Ctx;
use crate::aws::ec2::{self, Image};
use crate::aws::Clients;
use crate::error::Result;
use crate::stack::Pacing;
use crate::{image, names};
use serde::Serialize;
use std::fmt;

#[derive(Serialize, Default)]
pub struct Cleaned {
    pub image_stack: bool,
    pub instances: Vec<String>,
    pub images: Vec<String>,
    pub snapshots: Vec<String>,
    pub kept: Option<String>,
}

impl Cleaned {
    fn is_empty(&self) -> bool {
        !self.image_stack
            && self.instances.is_empty()
            && self.images.is_empty()
            && self.snapshots.is_empty()
    }
}

impl Cleaned {
    /// What is (or would be) deleted, in a line: "the image stack, images ami-1 (argos-image), ..."
    fn summary(&self) -> String {
        let mut parts = Vec::new();
        if self.image_stack {
            parts.push("the image stack".to_owned());
        }
        for (label, list) in [
            ("instances", &self.instances),
            ("images", &self.images),
            ("snapshots", &self.snapshots),
        ] {
            if !list.is_empty() {
                parts.push(format!("{label} {}", list.join(", ")));
            }
        }
        parts.join("; ")
    }
}

impl fmt::Display for Cleaned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            write!(f, "nothing to clean")?;
        } else {
            write!(f, "cleaned: {}", self.summary())?;
        }
        if let Some(kept) = &self.kept {
            write!(f, "\nkept the newest image: {kept}")?;
        }
        Ok(())
    }
}

pub async fn run(ctx: &Ctx, keep_latest: bool) -> Result<()> {
    let clients = ctx.clients().await?;
    let cleaned = clean(ctx, &clients, keep_latest, ctx.yes).await?;
    ctx.ui.result(&cleaned);
    Ok(())
}

/// Find the leftovers, confirm (unless `confirmed`), and delete them. Safe to run again.
pub async fn clean(
    ctx: &Ctx,
    clients: &Clients,
    keep_latest: bool,
    confirmed: bool,
) -> Result<Cleaned> {
    let app = ctx.env.app();
    let base = names::image_name(app);
    let stack = crate::aws::cloudformation::describe(&clients.cfn, &base).await?;
    let strays: Vec<String> = ec2::tagged_instances(
        &clients.ec2,
        &[("Name", &base)],
        &["pending", "running", "stopping", "stopped"],
    )
    .await?
    .into_iter()
    .filter(|i| i.tags.get("aws:cloudformation:stack-name") != Some(&base) || stack.is_none())
    .map(|i| i.id)
    .collect();
    let mut images = ec2::own_images(&clients.ec2, &[("name", &format!("{base}*"))]).await?;
    let kept = if keep_latest {
        image::newest(&images).map(|i| i.id.clone())
    } else {
        None
    };
    let kept_snapshots: Vec<String> = images
        .iter()
        .filter(|i| Some(&i.id) == kept.as_ref())
        .flat_map(|i| i.snapshot_ids.clone())
        .collect();
    images.retain(|i| Some(&i.id) != kept.as_ref());
    // Snapshots of deleted images that an earlier clean could not delete are found by their tags.
    let mut snapshots: Vec<String> = images.iter().flat_map(|i| i.snapshot_ids.clone()).collect();
    for s in ec2::tagged_snapshots(&clients.ec2, &[("App", app), ("Group", "image")]).await? {
        if !snapshots.contains(&s) && !kept_snapshots.contains(&s) {
            snapshots.push(s);
        }
    }
    let plan = Cleaned {
        image_stack: stack.is_some(),
        instances: strays,
        images: images
            .iter()
            .map(|i| format!("{} ({})", i.id, i.name))
            .collect(),
        snapshots,
        kept,
    };
    if plan.is_empty() {
        return Ok(plan);
    }
    if ctx.dry_run {
        ctx.ui
            .step(format!("dry run: would delete {}", plan.summary()));
        ctx.ui.info("nothing was changed");
        return Ok(Cleaned {
            kept: plan.kept,
            ..Cleaned::default()
        });
    }
    if !confirmed {
        let question = format!("This deletes {}.", plan.summary());
        ctx.ui
            .confirm_typed(&format!("clean of {app}'s images"), &question, app)?;
    }
    delete(ctx, clients, &plan, &images).await?;
    Ok(plan)
}

async fn delete(ctx: &Ctx, clients: &Clients, plan: &Cleaned, images: &[Image]) -> Result<()> {
    if plan.image_stack {
        super::image_stack::delete_image_stack(ctx, clients).await?;
    }
    if !plan.instances.is_empty() {
        ctx.ui
            .step(format!("terminating {}", plan.instances.join(", ")));
        ec2::terminate(&clients.ec2, &plan.instances).await?;
    }
    for i in images {
        ctx.ui
            .step(format!("deregistering image {} ({})", i.id, i.name));
        ec2::deregister_image(&clients.ec2, &i.id).await?;
    }
    if !plan.snapshots.is_empty() {
        ctx.ui
            .step(format!("deleting snapshots {}", plan.snapshots.join(", ")));
        let pacing = Pacing::with_deadline(ctx.env.config.timeouts.image);
        image::wait::delete_snapshots(&clients.ec2, &plan.snapshots, pacing).await?;
    }
    Ok(())
}
