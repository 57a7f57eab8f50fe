//! `bake`: make the app's image when there is none (or with `--rebake`): create the image
//! stack from `formations/image.*`, wait until its instance answers on SSH, run
//! `playbooks/image.yml` on it, create the image (tagged from the start) and wait until it is
//! available, then delete the image stack. A failed playbook keeps the instance, so the next
//! `bake` continues from it.

use super::{image_stack, Ctx};
use crate::ansible::{private_json, run_playbooks, Inventory, PlaybookRun, Setup};
use crate::aws::ec2::{self, Image, Instance};
use crate::aws::Clients;
use crate::error::{Error, Result};
use crate::formation::Formation;
use crate::hosts::{self, Host};
use crate::image;
use crate::interrupt;
use crate::known_hosts::KnownHosts;
use crate::lock::Scope;
use crate::names;
use crate::ssh::{self, SshSettings};
use crate::stack::Pacing;
use serde::Serialize;
use std::fmt;
use std::time::Instant;

#[derive(Serialize)]
pub struct Baked {
    pub image_id: String,
    pub name: String,
    /// False when an image existed and nothing was baked.
    pub baked: bool,
    /// Each step and the seconds it took.
    pub steps: Vec<(String, f64)>,
}

impl fmt::Display for Baked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.baked {
            return write!(
                f,
                "image {} ({}) exists; nothing to bake (use --rebake for a new one)",
                self.name, self.image_id
            );
        }
        write!(f, "baked image {} ({})", self.name, self.image_id)?;
        for (step, secs) in &self.steps {
            write!(f, "\n  {step:<28} {secs:>6.1}s")?;
        }
        write!(
            f,
            "\nrunning envs keep their old image until they are updated (manage <env> update)"
        )
    }
}

/// Checks made before any AWS call: the image fragment and playbook, Ansible, the key file.
pub async fn preflight(ctx: &Ctx) -> Result<()> {
    // The base_ami as written stands in for its id: the id changes no check.
    Formation::build_image(&ctx.env, &ctx.env.config.base_ami)?.ensure_valid()?;
    let playbook = ctx.env.config.playbooks.join("image.yml");
    if !playbook.is_file() {
        return Err(Error::input(format!(
            "{}: not found: bake runs it on the image instance",
            playbook.display()
        )));
    }
    super::reach::playbooks_preflight(ctx).await
}

pub async fn run(ctx: &Ctx, rebake: bool) -> Result<()> {
    preflight(ctx).await?;
    let clients = ctx.clients().await?;
    let baked = ensure(ctx, &clients, rebake).await?;
    ctx.ui.result(&baked);
    Ok(())
}

/// The newest image of the app (tags App and Group=image), if any.
pub async fn newest_image(ctx: &Ctx, clients: &Clients) -> Result<Option<Image>> {
    let images = ec2::own_images(
        &clients.ec2,
        &[("tag:App", ctx.env.app()), ("tag:Group", "image")],
    )
    .await?;
    Ok(image::newest(&images).cloned())
}

/// The image the env's hosts start from: the newest baked one (baking it first when there is
/// none), or config.json's base_ami with `--no-bake`.
pub async fn image_for(ctx: &Ctx, clients: &Clients, no_bake: bool) -> Result<String> {
    if no_bake {
        let base = super::base_image::id(ctx, clients).await?;
        ctx.ui.info(format!("using base_ami {base} (--no-bake)"));
        return Ok(base);
    }
    let image = ensure(ctx, clients, false).await?;
    if image.baked {
        ctx.ui.info(&image);
    } else if !ctx.dry_run {
        ctx.ui
            .info(format!("using image {} ({})", image.name, image.image_id));
    }
    Ok(image.image_id)
}

/// The image tag naming the instance an image was made from.
const SOURCE_INSTANCE: &str = "SourceInstance";

/// The current image, baking one first when there is none or `rebake` is asked for.
pub async fn ensure(ctx: &Ctx, clients: &Clients, rebake: bool) -> Result<Baked> {
    let app = ctx.env.app();
    if let (false, Some(current)) = (rebake, newest_image(ctx, clients).await?) {
        remove_leftover(ctx, clients, &current).await?;
        return Ok(Baked {
            image_id: current.id.clone(),
            name: current.name.clone(),
            baked: false,
            steps: vec![],
        });
    }
    let base = super::base_image::id(ctx, clients).await?;
    let image_formation = Formation::build_image(&ctx.env, &base)?;
    let mut needs =
        super::aws_preflight::Needs::of(&image_formation, Some((&base, "key \"base_ami\"")));
    needs.instance_types.push((
        ctx.env.config.instance_type.clone(),
        "key \"instance_type\"".into(),
    ));
    super::aws_preflight::check(ctx, clients, &needs).await?;
    if ctx.dry_run {
        ctx.ui.info(format!(
            "would bake a new image from {base} with {}",
            ctx.env.config.playbooks.join("image.yml").display()
        ));
        return Ok(Baked {
            image_id: base,
            name: "(not baked: dry run)".into(),
            baked: false,
            steps: vec![],
        });
    }
    // A commission that has to bake takes the app's image lock on top of its env lock.
    ctx.hold(Scope::App, clients).await?;
    let env = &ctx.env.name;
    let _in_flight = interrupt::in_flight(
        "the bake stops where it is; its image stack and instance are kept",
        Some(format!(
            "`manage {env} bake` continues from the instance; `manage {env} clean` removes it"
        )),
    );
    let mut steps = Vec::new();
    let mut timed = |name: &str, started: Instant| {
        steps.push((name.to_owned(), started.elapsed().as_secs_f64()))
    };

    let t = Instant::now();
    ctx.ui
        .step(format!("bake: image stack {}", names::image_name(app)));
    let instance = image_stack::image_instance(ctx, clients, &base).await?;
    timed("image stack and instance", t);

    let t = Instant::now();
    run_image_playbook(ctx, clients, &instance, &base).await?;
    timed("image.yml", t);

    let t = Instant::now();
    let name = image::new_name(
        app,
        &ec2::own_images(
            &clients.ec2,
            &[("name", &format!("{}*", names::image_name(app)))],
        )
        .await?,
        chrono::Utc::now(),
    );
    let made = create_image(ctx, clients, &instance, &name, &base).await?;
    timed("image available", t);

    let t = Instant::now();
    image_stack::delete_image_stack(ctx, clients).await?;
    timed("image stack deleted", t);
    Ok(Baked {
        image_id: made.id,
        name: made.name,
        baked: true,
        steps,
    })
}

/// The image stack of a bake that made its image and was stopped before deleting the stack.
async fn remove_leftover(ctx: &Ctx, clients: &Clients, image: &Image) -> Result<()> {
    let Some(source) = image.tags.get(SOURCE_INSTANCE) else {
        return Ok(());
    };
    let instance = ec2::tagged_instances(
        &clients.ec2,
        &[("App", ctx.env.app()), ("Group", "image")],
        &["pending", "running", "stopping", "stopped"],
    )
    .await?
    .into_iter()
    .find(|i| &i.id == source);
    if instance.is_none() || ctx.dry_run {
        return Ok(());
    }
    ctx.hold(Scope::App, clients).await?;
    ctx.ui.info(format!(
        "removing the image stack an interrupted bake left after making {}",
        image.name
    ));
    image_stack::delete_image_stack(ctx, clients).await?;
    Ok(())
}

/// Wait for SSH, then run image.yml. On failure the instance stays, and the error says how to
/// go on from it or remove it.
async fn run_image_playbook(
    ctx: &Ctx,
    clients: &Clients,
    instance: &Instance,
    base: &str,
) -> Result<()> {
    let app = ctx.env.app();
    let address = hosts::address_of(instance, ctx.env.config.address).ok_or_else(|| {
        Error::Local(format!(
            "image instance {} has no {:?} address",
            instance.id, ctx.env.config.address
        ))
    })?;
    let host = Host {
        name: names::image_name(app),
        group: "image".into(),
        number: 0,
        address,
        instance_id: instance.id.clone(),
        instance: instance.clone(),
    };
    let known = KnownHosts::for_env(app, "image")?;
    known.forget_reused(std::slice::from_ref(&host)).await?;
    let route = ssh::AwsRoute {
        region: &clients.region,
        profile: ctx.target.profile.as_deref(),
    };
    let ssh = SshSettings::from_config(&ctx.env.config, known.file.clone(), &route)?;
    ctx.ui.step(format!(
        "bake: waiting for SSH on {} ({})",
        host.instance_id, host.address
    ));
    ssh::wait_until_answering(
        &ssh,
        std::slice::from_ref(&host),
        ctx.env.config.timeouts.ssh,
    )
    .await?;
    let mut inventory = Inventory::new(vec![host.clone()], app, "", &[]);
    inventory.vars.remove("env");
    inventory.vars.insert("base_ami".into(), base.into());
    let inventory_file = private_json("manage-inventory-", &inventory.static_file())?;
    let vars_file = private_json(
        "manage-vars-",
        &serde_json::Value::Object(inventory.vars.clone()),
    )?;
    let run = PlaybookRun {
        label: "image".into(),
        playbook: ctx.env.config.playbooks.join("image.yml"),
        limit: vec!["image".into()],
        hosts: 1,
    };
    ctx.ui.step("bake: running image.yml");
    let setup = Setup {
        ssh: &ssh,
        inventory: inventory_file.path(),
        vars: vars_file.path(),
        extra: &[],
        mitogen: super::reach::mitogen(ctx).await?,
    };
    let result = run_playbooks(&ctx.ui, setup, vec![run], 1).await?;
    let code = result.first().map_or(1, |r| r.exit_code);
    if code == 0 {
        return Ok(());
    }
    let env = &ctx.env.name;
    Err(Error::Child {
        what: format!("playbook image.yml on the image instance {} ({})", host.instance_id, host.address),
        code,
        hint: Some(format!("the instance is kept: fix the playbook and run `manage {env} bake` to continue from it, or `manage {env} clean` to remove it")),
    })
}

/// Create the image, tagged in the same call, wait until it is available (a failed or late
/// image is deregistered with its snapshots), then tag its snapshots too, so `clean` finds
/// them even after the image is gone.
async fn create_image(
    ctx: &Ctx,
    clients: &Clients,
    instance: &Instance,
    name: &str,
    base: &str,
) -> Result<Image> {
    let app = ctx.env.app();
    // The playbooks' git commit, when they are in a git work tree (a tag on the image).
    let commit = crate::git::commit(&ctx.env.config.playbooks, 12).await;
    let mut tags = image::tags(app, name, base, commit.as_deref(), chrono::Utc::now());
    // Lets a later bake tell a bake instance whose image was made (an interrupted bake's
    // leftover) from one whose playbook has still to succeed.
    tags.push((SOURCE_INSTANCE.to_owned(), instance.id.clone()));
    ctx.ui
        .step(format!("bake: creating image {name} from {}", instance.id));
    let id = ec2::create_image(&clients.ec2, &instance.id, name, &tags).await?;
    let pacing = Pacing::with_deadline(ctx.env.config.timeouts.image);
    let made = image::wait::available(&clients.ec2, &id, pacing).await?;
    ec2::tag(&clients.ec2, &made.snapshot_ids, &tags).await?;
    Ok(made)
}
