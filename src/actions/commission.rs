//! `commission`: validate, push the template, create the stack from its S3 URL, wait while
//! showing progress, and print the outputs. Rerunning it is safe: a complete stack is
//! reported, a busy one is waited on, and one left by a failed create is replaced after a prompt.

use super::settle::{settle, StackFlags};
use super::{bake, deploy, kv_lines, push, write_outputs, Ctx};
use crate::aws::cloudformation::{Stack, StackOutput};
use crate::aws::Clients;
use crate::error::Result;
use crate::names;
use crate::stack::create::{create_and_wait, NewStack};
use crate::stack::{Intent, Settled};
use serde::Serialize;
use std::fmt;

#[derive(Serialize)]
pub struct Commissioned {
    pub stack: String,
    pub status: String,
    /// True for the plan of a dry run: `created` then says the real run would create it.
    pub dry_run: bool,
    /// False when the stack was already there and nothing was created.
    pub created: bool,
    pub seconds: f64,
    /// None in a dry run that would bake first: the template names the new image's id.
    pub template_url: Option<String>,
    /// The env's image; None in a dry run that would bake one first.
    pub image_id: Option<String>,
    /// The parameters sent, as shown (secrets as ****).
    pub parameters: Vec<(String, String)>,
    pub tags: Vec<(String, String)>,
    pub outputs: Vec<StackOutput>,
}

impl Commissioned {
    fn existing(stack: &Stack, dry_run: bool) -> Self {
        Self {
            stack: stack.name.clone(),
            status: stack.status.clone(),
            dry_run,
            created: false,
            seconds: 0.0,
            template_url: None,
            image_id: None,
            parameters: vec![],
            tags: vec![],
            outputs: stack.outputs.clone(),
        }
    }
}

impl fmt::Display for Commissioned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.dry_run && self.created {
            match (&self.template_url, &self.image_id) {
                (Some(url), Some(image)) => writeln!(
                    f,
                    "dry run: would create stack {} from {url}\nimage: {image}",
                    self.stack
                )?,
                _ => writeln!(
                    f,
                    "dry run: would bake a new image first, then create stack {} with it",
                    self.stack
                )?,
            }
            writeln!(f, "parameters:\n{}", kv_lines(&self.parameters))?;
            return write!(f, "tags:\n{}\nnothing was changed", kv_lines(&self.tags));
        }
        if self.created {
            writeln!(f, "{} {} in {:.1}s", self.stack, self.status, self.seconds)?;
        } else {
            writeln!(
                f,
                "{} is already commissioned ({}); nothing to do",
                self.stack, self.status
            )?;
        }
        write_outputs(f, &self.outputs)
    }
}

pub async fn run(ctx: &Ctx, no_deploy: bool, no_bake: bool, stack_args: &StackFlags) -> Result<()> {
    let started = std::time::Instant::now();
    // Checked with the base AMI standing in for the image: the image id changes no check.
    let formation = super::checked::checked(ctx, &ctx.env.config.base_ami)?;
    if !no_bake {
        bake::preflight(ctx).await?;
    } else if !no_deploy {
        super::reach::playbooks_preflight(ctx).await?;
    }
    let clients = ctx.clients().await?;
    super::records::preflight(ctx, &clients).await?;
    let name = ctx.env.stack_name();
    match settle(ctx, &clients, Intent::Commission, stack_args, &[]).await? {
        Settled::Present(ready) => {
            ctx.ui.result(&Commissioned::existing(&ready, ctx.dry_run));
            return finish(ctx, &clients, no_deploy, ready).await;
        }
        Settled::Previewed(_) => {
            ctx.ui.info("dry run: nothing was changed");
            return Ok(());
        }
        Settled::Absent => {}
    }
    // The base AMI is checked here with --no-bake; a bake checks it before it starts.
    let base = match no_bake {
        true => Some(super::base_image::id(ctx, &clients).await?),
        false => None,
    };
    let base = base.as_deref().map(|id| (id, "key \"base_ami\""));
    super::aws_preflight::check(
        ctx,
        &clients,
        &super::aws_preflight::Needs::of(&formation, base),
    )
    .await?;
    let would_bake = ctx.dry_run && !no_bake && bake::newest_image(ctx, &clients).await?.is_none();
    let image_id = bake::image_for(ctx, &clients, no_bake).await?;
    let formation = formation.with_image(&ctx.env, &image_id);
    crate::history::note_image(&image_id);
    let tags = names::stack_tags(ctx.env.app(), &ctx.env.name);
    if !ctx.dry_run {
        ctx.ui.step("pushing the template");
    }
    // A dry run only says where the templates would go.
    let pushed = push::package(
        ctx,
        &clients,
        "template",
        &ctx.env.name,
        &formation.merged,
        &formation.nested,
    )
    .await?;
    if ctx.dry_run {
        ctx.ui.result(&Commissioned {
            template_url: (!would_bake).then_some(pushed.url),
            image_id: (!would_bake).then_some(image_id),
            parameters: formation.shown_parameters(),
            tags,
            created: true,
            ..Commissioned::existing(&planned(&name), true)
        });
        if !no_deploy {
            ctx.ui.info("then deploy the playbooks to the new hosts");
        }
        return Ok(());
    }
    ctx.ui.info(&pushed);
    let new = NewStack {
        name: &name,
        formation: &formation,
        url: &pushed.url,
        tags: &tags,
        settings: &ctx.env.stack,
        protect: ctx.env.protected,
    };
    let stack = create_and_wait(&clients.cfn, &new, ctx.stack_pacing(), ctx).await?;
    ctx.ui.result(&Commissioned {
        created: true,
        seconds: started.elapsed().as_secs_f64(),
        template_url: Some(pushed.url),
        image_id: Some(image_id),
        parameters: formation.shown_parameters(),
        tags,
        ..Commissioned::existing(&stack, false)
    });
    finish(ctx, &clients, no_deploy, stack).await
}

/// The last step: deploy to the stack's hosts (which brings their DNS names in step), or with
/// --no-deploy only the DNS names.
async fn finish(ctx: &Ctx, clients: &Clients, no_deploy: bool, stack: Stack) -> Result<()> {
    if no_deploy {
        return super::records::after(ctx, clients, Some(&stack.outputs)).await;
    }
    ctx.ui.step("deploying");
    deploy::deploy(
        ctx,
        clients,
        &Default::default(),
        crate::ansible::DEFAULT_PARALLEL,
        Some(stack),
        &deploy::Passthrough::default(),
    )
    .await
}

/// The stack a dry run would create, for its plan.
fn planned(name: &str) -> Stack {
    Stack {
        name: name.to_owned(),
        status: "(not created: dry run)".to_owned(),
        ..Stack::default()
    }
}
