//! The image `update` gives an env. It never moves an env to another image by itself: the
//! stack keeps the image it runs unless a newer baked image of the app exists, `--image ID`
//! names one, or `--no-bake` asks for config.json's base_ami. An image that is gone stops it.

use super::{bake, Ctx};
use crate::aws::cloudformation as cfn;
use crate::aws::ec2;
use crate::aws::Clients;
use crate::error::{Error, Result};
use crate::image::{self, Choice};

pub async fn for_update(
    ctx: &Ctx,
    clients: &Clients,
    stack_id: &str,
    no_bake: bool,
    explicit: Option<&str>,
) -> Result<Choice> {
    let param = &ctx.env.config.image_parameter;
    let current = cfn::stack_parameters(&clients.cfn, stack_id).await?;
    let stack_image = current
        .iter()
        .find(|(k, _)| k == param)
        .map(|(_, v)| v.clone());
    let given = |id: &str, why: &str| Choice {
        image_id: id.to_owned(),
        previous: stack_image.clone(),
        why: why.to_owned(),
    };
    let choice = if let Some(id) = explicit {
        match ec2::image_by_id(&clients.ec2, id).await? {
            Some(i) if i.state == "available" => given(id, "--image"),
            _ => {
                return Err(Error::input(format!(
                    "argument --image {id}: no such available image in this region"
                )))
            }
        }
    } else if no_bake {
        given(
            &super::base_image::id(ctx, clients).await?,
            "--no-bake: base_ami",
        )
    } else if let Some(stack_image) = &stack_image {
        let image_tags = [("tag:App", ctx.env.app()), ("tag:Group", "image")];
        let (running, images) = tokio::try_join!(
            ec2::image_by_id(&clients.ec2, stack_image),
            ec2::own_images(&clients.ec2, &image_tags),
        )?;
        image::choose(stack_image, running.as_ref(), &images).map_err(|e| {
            let newest = image::newest(&images)
                .map(|i| format!(" (the newest baked image is {})", i.id))
                .unwrap_or_default();
            Error::input(format!(
                "{e}: pass --image AMI_ID{newest}, or bake one (manage {} bake --rebake)",
                ctx.env.name
            ))
        })?
    } else {
        // The stack names no image (its template has no image parameter): nothing to keep.
        match bake::newest_image(ctx, clients).await? {
            Some(i) => given(&i.id, &format!("the newest baked image {}", i.name)),
            None => given(
                &super::base_image::id(ctx, clients).await?,
                "no baked image: base_ami",
            ),
        }
    };
    ctx.ui
        .info(format!("using image {} ({})", choice.image_id, choice.why));
    Ok(choice)
}
