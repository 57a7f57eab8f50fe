//! The image stack `<app>-image`: the bake instance's home. Created from `formations/image.*`,
//! found again when an earlier bake kept it, and deleted once the image exists.

use super::{push, Ctx};
use crate::aws::cloudformation as cfn;
use crate::aws::ec2::Instance;
use crate::aws::Clients;
use crate::error::{Error, Result};
use crate::formation::Formation;
use crate::names;
use crate::stack::create::{create_and_wait, NewStack};
use crate::stack::{self, Mark, Pacing, State};

/// The running bake instance: the one an earlier failed bake kept, or a new image stack's
/// (started from the `base` AMI).
pub async fn image_instance(ctx: &Ctx, clients: &Clients, base: &str) -> Result<Instance> {
    let name = names::image_name(ctx.env.app());
    loop {
        let existing = cfn::describe(&clients.cfn, &name).await?;
        match stack::classify(existing.as_ref().map(|s| s.status.as_str())) {
            State::Ready => {
                let id = existing.as_ref().map_or(name.as_str(), |s| s.id.as_str());
                if let Some(i) = running_bake_instance(ctx, clients, id).await? {
                    ctx.ui.info(format!(
                        "continuing from the image instance {} an earlier bake kept",
                        i.id
                    ));
                    return Ok(i);
                }
                delete_image_stack(ctx, clients).await?;
            }
            State::Absent | State::Deleted => {
                let made = create_image_stack(ctx, clients, base).await?;
                return running_bake_instance(ctx, clients, &made.id).await?.ok_or_else(|| {
                    Error::Local(format!("stack {name} is complete but has no running instance tagged App={}, Group=image", ctx.env.app()))
                });
            }
            // Busy, or left failed by an earlier run: wait for it, or remove it, then look again.
            State::Busy => {
                let s = existing.expect("a busy stack exists");
                let progress = ctx.ui.stack_progress(&name, |_| None);
                stack::wait(
                    &clients.cfn,
                    &s.id,
                    Mark::existing(&clients.cfn, &s.id).await?,
                    ctx.stack_pacing(),
                    &progress,
                )
                .await?;
            }
            _ => {
                delete_image_stack(ctx, clients).await?;
            }
        }
    }
}

/// The newest running instance tagged App and Group=image, once the instances the image
/// stack reports are visible by those tags.
async fn running_bake_instance(
    ctx: &Ctx,
    clients: &Clients,
    stack_id: &str,
) -> Result<Option<Instance>> {
    let mut found = stack::instances::visible(
        &clients.cfn,
        &clients.ec2,
        stack_id,
        &[("App", ctx.env.app()), ("Group", "image")],
        &["running"],
        Pacing::with_deadline(ctx.env.config.timeouts.ssh),
    )
    .await?;
    found.sort_by(|a, b| (a.launch_time, &a.id).cmp(&(b.launch_time, &b.id)));
    Ok(found.pop())
}

async fn create_image_stack(ctx: &Ctx, clients: &Clients, base: &str) -> Result<cfn::Stack> {
    let formation = Formation::build_image(&ctx.env, base)?;
    formation.ensure_valid()?;
    let app = ctx.env.app();
    let name = names::image_name(app);
    let pushed = push::package(
        ctx,
        clients,
        "image",
        "image",
        &formation.merged,
        &formation.nested,
    )
    .await?;
    let tags = vec![
        ("Name".to_owned(), name.clone()),
        ("App".to_owned(), app.to_owned()),
        ("Group".to_owned(), "image".to_owned()),
    ];
    let new = NewStack {
        name: &name,
        formation: &formation,
        url: &pushed.url,
        tags: &tags,
        settings: &crate::config::StackSettings::default(),
        protect: false,
    };
    create_and_wait(&clients.cfn, &new, ctx.stack_pacing(), ctx).await
}

/// Delete the image stack (if there is one) and wait until it is gone.
pub async fn delete_image_stack(ctx: &Ctx, clients: &Clients) -> Result<bool> {
    delete_named(ctx, clients, &names::image_name(ctx.env.app())).await
}

/// Delete this stack (if it exists) and wait until it is gone.
pub async fn delete_named(ctx: &Ctx, clients: &Clients, name: &str) -> Result<bool> {
    let Some(s) = cfn::describe(&clients.cfn, name).await? else {
        return Ok(false);
    };
    ctx.ui.step(format!("deleting stack {name}"));
    let progress = ctx.ui.stack_progress(name, |_| None);
    stack::settle::delete(
        &clients.cfn,
        ctx,
        &s,
        &[],
        None,
        ctx.stack_pacing(),
        &progress,
    )
    .await?;
    progress.finish();
    Ok(true)
}
