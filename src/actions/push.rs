//! `config push [NAME]`: upload the env's merged template, or one fragment, to the private
//! template bucket, content-addressed so an unchanged body is not uploaded again.

use super::Ctx;
use crate::aws::{s3, Clients};
use crate::error::{Error, Result};
use crate::names;
use crate::template::{self, Merged};
use serde::Serialize;
use std::fmt;

#[derive(Debug, Serialize)]
pub struct Pushed {
    pub name: String,
    pub url: String,
    pub s3_uri: String,
    pub uploaded: bool,
    /// The object at the template's key did not match its SHA-256 and was uploaded again.
    pub replaced: bool,
}

impl fmt::Display for Pushed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let note = match (self.uploaded, self.replaced) {
            (true, true) => "replaced: the object there did not match its SHA-256",
            (true, false) => "uploaded",
            _ => "unchanged (SHA-256 verified), not uploaded again",
        };
        write!(f, "{}: {} ({note})", self.name, self.url)
    }
}

pub async fn run(ctx: &Ctx, name: Option<&str>) -> Result<()> {
    let merged = match name {
        None => super::checked::checked(ctx, &ctx.env.config.base_ami)?.merged,
        Some(name) => one_fragment(ctx, name)?,
    };
    let clients = ctx.clients().await?;
    let folder = if name == Some("image") {
        "image"
    } else {
        ctx.env.name.as_str()
    };
    let pushed = upload_as(ctx, &clients, name.unwrap_or("template"), folder, &merged).await?;
    ctx.ui.result(&pushed);
    Ok(())
}

/// One fragment on its own, tagged as the merge would tag it (`image` as the image stack).
fn one_fragment(ctx: &Ctx, name: &str) -> Result<Merged> {
    let dir = &ctx.env.config.formations;
    let path = if name == "image" {
        template::find_image_fragment(dir)?
    } else {
        ["json", "yaml", "yml", "template"]
            .iter()
            .map(|ext| dir.join(format!("{name}.{ext}")))
            .find(|p| p.is_file())
    };
    let path = path.ok_or_else(|| {
        Error::input(format!(
            "argument [NAME]: no fragment \"{name}\" in {} (expected {name}.json, .yaml or .yml)",
            dir.display()
        ))
    })?;
    let fragment = template::load_file(&path)?;
    Ok(if name == "image" {
        template::merge::merge_image(&fragment, ctx.env.app())?
    } else {
        template::merge(std::slice::from_ref(&fragment), &ctx.env.naming())?
    })
}

/// Create the template bucket (private, encrypted) unless it is there.
pub async fn ensure_bucket(ctx: &Ctx, clients: &Clients) -> Result<()> {
    let bucket = &ctx.env.config.bucket;
    if !s3::bucket_exists(&clients.s3, bucket, &clients.region).await? {
        ctx.ui
            .step(format!("creating private, encrypted bucket {bucket}"));
        s3::create_private_bucket(&clients.s3, bucket, &clients.region).await?;
    }
    Ok(())
}

/// Make sure the bucket exists (private, encrypted), then put the body under its hash unless
/// it is already there. With --dry-run, only say where it would go.
pub async fn upload(ctx: &Ctx, clients: &Clients, name: &str, merged: &Merged) -> Result<Pushed> {
    upload_as(ctx, clients, name, &ctx.env.name, merged).await
}

/// As `upload`, under `<app>/<folder>/`: the image stack's template goes under `image/`, since
/// the image belongs to no env.
pub async fn upload_as(
    ctx: &Ctx,
    clients: &Clients,
    name: &str,
    folder: &str,
    merged: &Merged,
) -> Result<Pushed> {
    store(ctx, clients, name, folder, merged, ctx.dry_run).await
}

/// As `upload_as`, but `dry_run` is the caller's: `update --dry-run` still needs the template
/// in S3 to make its change set (content-addressed, so this changes nothing an env runs).
pub async fn store(
    ctx: &Ctx,
    clients: &Clients,
    name: &str,
    folder: &str,
    merged: &Merged,
    dry_run: bool,
) -> Result<Pushed> {
    let bucket = &ctx.env.config.bucket;
    let key = names::template_key(ctx.env.app(), folder, &merged.sha256());
    let mut pushed = Pushed {
        name: name.to_owned(),
        url: names::template_url(bucket, &clients.region, &key),
        s3_uri: format!("s3://{bucket}/{key}"),
        uploaded: false,
        replaced: false,
    };
    let exists = s3::bucket_exists(&clients.s3, bucket, &clients.region).await?;
    if exists && !ctx.allow_public_bucket && !s3::public_access_blocked(&clients.s3, bucket).await?
    {
        return Err(Error::Refused(format!(
            "bucket {bucket} does not block public access: block it (S3 console, or aws s3api put-public-access-block), or pass --allow-public-bucket"
        )));
    }
    if dry_run {
        if !exists {
            ctx.ui.info(format!("would create private bucket {bucket}"));
        }
        ctx.ui.info(format!("would upload {}", pushed.s3_uri));
        return Ok(pushed);
    }
    if !exists {
        ensure_bucket(ctx, clients).await?;
    }
    // Content-addressed, but the object may have been overwritten: verify before reusing it.
    let found = s3::object_sha256(&clients.s3, bucket, &key).await?;
    if found.as_deref() != Some(merged.sha256().as_str()) {
        if found.is_some() {
            ctx.ui.warn(format!(
                "{} did not match its SHA-256 (it was changed after manage uploaded it): uploading it again",
                pushed.s3_uri
            ));
            pushed.replaced = true;
        }
        s3::put_json(&clients.s3, bucket, &key, merged.to_json()).await?;
        pushed.uploaded = true;
    }
    Ok(pushed)
}
