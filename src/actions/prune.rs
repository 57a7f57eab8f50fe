//! The step under `clean` and `decommission --with-image`: delete what bakes leave, every
//! piece found by its tags (`App=<app>`, `Group=image`,
//! owner self), never by name: the image stack, a bake instance no stack owns, the app's images
//! and their snapshots (through each image's block device mappings, and by the tags bake
//! gives them; retried while still in use). An image that any
//! instance still runs, or that one of the app's stacks names, is kept and listed with its
//! users. `--keep-latest` keeps the newest image too. A dry run's result is the plan.

use super::Ctx;
use crate::aws::cloudformation::{self as cfn, ListedStack};
use crate::aws::ec2::{self, Image, Instance};
use crate::aws::Clients;
use crate::error::Result;
use crate::image;
use crate::stack::Pacing;
use serde::Serialize;
use std::fmt;

#[derive(Serialize, Default)]
pub struct Cleaned {
    /// True when this is the plan of a dry run: nothing was deleted.
    pub dry_run: bool,
    /// The image stacks deleted (or to delete).
    pub image_stacks: Vec<String>,
    pub instances: Vec<String>,
    /// "ami-… (name)".
    pub images: Vec<String>,
    pub snapshots: Vec<String>,
    /// The newest image, kept by `--keep-latest`.
    pub kept: Option<String>,
    /// Images kept because something uses them.
    pub in_use: Vec<InUse>,
}

#[derive(Serialize, Clone)]
pub struct InUse {
    pub image_id: String,
    pub name: String,
    /// "argos-production: 3 hosts and its stack", one per user.
    pub users: Vec<String>,
}

/// What the caller deletes before the clean runs (`decommission --with-image`): in a dry run
/// its stack and hosts still exist, but the real run will not find them using any image.
pub struct Departing<'a> {
    pub stack: &'a str,
    /// Logical ids that outlive the stack (DeletionPolicy Retain, `--retain`).
    pub retained: &'a [String],
}

impl Cleaned {
    fn is_empty(&self) -> bool {
        self.image_stacks.is_empty()
            && self.instances.is_empty()
            && self.images.is_empty()
            && self.snapshots.is_empty()
    }

    /// What is (or would be) deleted, in a line: "stack argos-image; images ami-1 (argos-image)".
    fn summary(&self) -> String {
        let mut parts = Vec::new();
        for (label, list) in [
            ("stack", &self.image_stacks),
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
        match (self.is_empty(), self.dry_run) {
            (true, _) => write!(f, "nothing to clean")?,
            (false, true) => write!(
                f,
                "dry run: would delete {}; nothing was changed",
                self.summary()
            )?,
            (false, false) => write!(f, "cleaned: {}", self.summary())?,
        }
        if let Some(kept) = &self.kept {
            write!(f, "\nkept the newest image: {kept}")?;
        }
        for i in &self.in_use {
            write!(
                f,
                "\nkept {} ({}): in use by {}",
                i.image_id,
                i.name,
                i.users.join("; ")
            )?;
        }
        Ok(())
    }
}

/// Find the leftovers, confirm (unless `confirmed`), and delete them; a dry run returns the
/// plan. Safe to run again.
pub async fn clean(
    ctx: &Ctx,
    clients: &Clients,
    keep_latest: bool,
    confirmed: bool,
    departing: Option<&Departing<'_>>,
) -> Result<Cleaned> {
    let app = ctx.env.app();
    let (mut plan, images) = plan(clients, app, keep_latest, departing).await?;
    if plan.is_empty() {
        return Ok(plan);
    }
    if ctx.dry_run {
        plan.dry_run = true;
        return Ok(plan);
    }
    if !confirmed {
        let question = format!("This deletes {}.", plan.summary());
        ctx.ui
            .confirm_typed(&format!("clean of {app}'s images"), &question, app)?;
    }
    delete(ctx, clients, &plan, &images).await?;
    Ok(plan)
}

/// Everything found by tags; the images to delete come back with the plan.
async fn plan(
    clients: &Clients,
    app: &str,
    keep_latest: bool,
    departing: Option<&Departing<'_>>,
) -> Result<(Cleaned, Vec<Image>)> {
    let app_tag = [("App", app)];
    let bake_tags = [("App", app), ("Group", "image")];
    let live = ["pending", "running", "stopping", "stopped"];
    let image_tags = [("tag:App", app), ("tag:Group", "image")];
    let (stacks, bake_instances, mut images) = tokio::try_join!(
        cfn::tagged_stacks(&clients.cfn, &app_tag),
        ec2::tagged_instances(&clients.ec2, &bake_tags, &live),
        ec2::own_images(&clients.ec2, &image_tags),
    )?;
    let (image_stacks, env_stacks): (Vec<ListedStack>, Vec<ListedStack>) = stacks
        .into_iter()
        .partition(|s| s.tags.get("Group").map(String::as_str) == Some("image"));
    let image_stacks: Vec<String> = image_stacks.into_iter().map(|s| s.name).collect();
    // A bake instance of a live image stack goes with its stack.
    let strays: Vec<String> = bake_instances
        .into_iter()
        .filter(|i| {
            i.tags
                .get("aws:cloudformation:stack-name")
                .is_none_or(|s| !image_stacks.contains(s))
        })
        .map(|i| i.id)
        .collect();
    let all_snapshots: Vec<(String, Vec<String>)> = images
        .iter()
        .map(|i| (i.id.clone(), i.snapshot_ids.clone()))
        .collect();
    let tagged_snapshots = ec2::tagged_snapshots(&clients.ec2, &bake_tags).await?;
    let kept = keep_latest
        .then(|| image::newest(&images).map(|i| i.id.clone()))
        .flatten();
    images.retain(|i| Some(&i.id) != kept.as_ref());
    let ids: Vec<String> = images.iter().map(|i| i.id.clone()).collect();
    let running = ec2::instances_of_images(&clients.ec2, &ids).await?;
    let running: Vec<Instance> = running
        .into_iter()
        .filter(|i| !strays.contains(&i.id) && !departs(departing, i))
        .collect();
    let env_stacks: Vec<ListedStack> = env_stacks
        .into_iter()
        .filter(|s| departing.is_none_or(|d| d.stack != s.name))
        .collect();
    let mut in_use = Vec::new();
    images.retain(|i| {
        let users = image::users(&i.id, &running, &env_stacks);
        if users.is_empty() {
            return true;
        }
        in_use.push(InUse {
            image_id: i.id.clone(),
            name: i.name.clone(),
            users,
        });
        false
    });
    // Snapshots of deleted images that an earlier clean could not delete are found by their
    // tags; those of the images kept stay.
    let kept_snapshots: Vec<String> = all_snapshots
        .into_iter()
        .filter(|(id, _)| !images.iter().any(|i| &i.id == id))
        .flat_map(|(_, s)| s)
        .collect();
    let mut snapshots: Vec<String> = images.iter().flat_map(|i| i.snapshot_ids.clone()).collect();
    for s in tagged_snapshots {
        if !snapshots.contains(&s) && !kept_snapshots.contains(&s) {
            snapshots.push(s);
        }
    }
    let plan = Cleaned {
        dry_run: false,
        image_stacks,
        instances: strays,
        images: images
            .iter()
            .map(|i| format!("{} ({})", i.id, i.name))
            .collect(),
        snapshots,
        kept,
        in_use,
    };
    Ok((plan, images))
}

/// An instance of the departing stack that its delete terminates.
fn departs(departing: Option<&Departing<'_>>, i: &Instance) -> bool {
    departing.is_some_and(|d| {
        i.tags
            .get("aws:cloudformation:stack-name")
            .map(String::as_str)
            == Some(d.stack)
            && i.tags
                .get("aws:cloudformation:logical-id")
                .is_none_or(|id| !d.retained.contains(id))
    })
}

async fn delete(ctx: &Ctx, clients: &Clients, plan: &Cleaned, images: &[Image]) -> Result<()> {
    for name in &plan.image_stacks {
        super::image_stack::delete_named(ctx, clients, name).await?;
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
