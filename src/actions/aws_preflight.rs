//! The read-only checks against the account before `commission`, `update` or `bake` creates or
//! changes anything: the image exists and is available in the region, the key pair exists, and
//! every instance type the stack asks for is offered in the region. Every problem is listed,
//! one line each, and the run stops (exit 2) with nothing made. `--skip-preflight` leaves it out
//! (for endpoints that lack one of these calls).

use super::Ctx;
use crate::aws::ec2;
use crate::aws::Clients;
use crate::config::ParamSource;
use crate::error::{Error, Result};
use crate::formation::Formation;

/// What the run is about to use.
pub struct Needs<'a> {
    /// The image the hosts (or the bake instance) start from, and where it came from.
    pub image: Option<(&'a str, &'a str)>,
    /// Instance types, each with the parameter (or config key) that names it.
    pub instance_types: Vec<(String, String)>,
}

impl<'a> Needs<'a> {
    /// The instance types among a formation's parameters (those whose name ends in
    /// `InstanceType`), and the image given.
    pub fn of(formation: &Formation, image: Option<(&'a str, &'a str)>) -> Self {
        let instance_types = formation
            .parameters
            .iter()
            .filter(|(name, _)| name.ends_with("InstanceType"))
            .filter_map(|(name, source)| match source {
                ParamSource::Plain(v) if !v.is_empty() => {
                    Some((v.clone(), format!("parameter {name}")))
                }
                _ => None,
            })
            .collect();
        Self {
            image,
            instance_types,
        }
    }
}

pub async fn check(ctx: &Ctx, clients: &Clients, needs: &Needs<'_>) -> Result<()> {
    if ctx.skip_preflight {
        ctx.ui.info(
            "preflight skipped (--skip-preflight): image, key pair and instance types unchecked",
        );
        return Ok(());
    }
    let region = &clients.region;
    let config = ctx.env.config.path.display();
    let mut problems = Vec::new();
    if let Some((id, from)) = needs.image {
        match ec2::image_by_id(&clients.ec2, id).await? {
            None => problems.push(format!(
                "image {id} ({from}) does not exist in {region}, or this account cannot use it"
            )),
            Some(i) if i.state != "available" => {
                problems.push(format!("image {id} ({from}) is {}, not available", i.state))
            }
            Some(_) => {}
        }
    }
    if let Some(key) = &ctx.env.config.key_pair {
        if !ec2::key_pair_exists(&clients.ec2, key).await? {
            problems.push(format!(
                "key pair {key} does not exist in {region} (key \"key_pair\" in {config}): import your public key there, or fix the name"
            ));
        }
    }
    let mut types: Vec<&str> = needs
        .instance_types
        .iter()
        .map(|(t, _)| t.as_str())
        .collect();
    types.sort();
    types.dedup();
    let offered = ec2::offered_instance_types(&clients.ec2, &types).await?;
    for (t, from) in &needs.instance_types {
        if !offered.iter().any(|o| o == t) {
            problems.push(format!(
                "instance type {t} ({from}) is not offered in {region}"
            ));
        }
    }
    match problems.len() {
        0 => Ok(()),
        1 => Err(Error::input(format!("preflight: {}", problems[0]))),
        n => {
            for p in &problems {
                eprintln!("  {p}");
            }
            Err(Error::input(format!(
                "preflight: {n} problems (above); nothing was created or changed"
            )))
        }
    }
}
