//! The AMI a bake (or `--no-bake`) starts from: `base_ami` as given, or the AMI id that the
//! SSM parameter it names holds in this region (AWS's public parameters name the newest
//! Amazon Linux or Ubuntu image), read when first needed and kept for the run.

use super::Ctx;
use crate::aws::{self, Clients};
use crate::config::Config;
use crate::error::{Error, Result};

/// The base AMI id for this run.
pub async fn id(ctx: &Ctx, clients: &Clients) -> Result<String> {
    if let Some(id) = ctx.base_image.get() {
        return Ok(id.clone());
    }
    let id = resolve(&ctx.env.config, clients).await?;
    if let Some(name) = ctx.env.config.base_ami_parameter() {
        ctx.ui.info(format!(
            "base image {id} (SSM parameter {name} in {})",
            clients.region
        ));
    }
    Ok(ctx.base_image.get_or_init(|| id).clone())
}

/// `base_ami` as an AMI id: itself, or the value of its SSM parameter. A parameter that does
/// not exist in the region, or holds no AMI id, is the config's problem (exit 2).
pub async fn resolve(config: &Config, clients: &Clients) -> Result<String> {
    let Some(name) = config.base_ami_parameter() else {
        return Ok(config.base_ami.clone());
    };
    let region = &clients.region;
    let path = config.path.display();
    match aws::ssm::parameter(&clients.ssm, name).await? {
        Some(value) if value.starts_with("ami-") => Ok(value),
        Some(value) => Err(Error::input(format!(
            "key \"base_ami\" in {path}: SSM parameter {name} holds {value:?}, not an AMI id: name a parameter that holds one"
        ))),
        None => Err(Error::input(format!(
            "key \"base_ami\" in {path}: SSM parameter {name} does not exist in {region} (or this account may not read it): check the name with `aws ssm get-parameter --name {name}`"
        ))),
    }
}
