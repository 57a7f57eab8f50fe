//! `config push [NAME]`: upload the env's merged template, or one fragment, to the private
//! template bucket, content-addressed so an unchanged body is not uploaded again.

use super::Ctx;
use crate::aws::{s3, Clients};
use crate::error::{Error, Result};
use crate::names;
use crate::template::{self, Merged, Nested};
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
    /// The child templates of its local nested stacks, uploaded first (deepest first): their
    /// URLs are in this template's TemplateURLs. Left out when there are none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<Pushed>,
}

impl fmt::Display for Pushed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let note = match (self.uploaded, self.replaced) {
            (true, true) => "replaced: the object there did not match its SHA-256",
            (true, false) => "uploaded",
            _ => "unchanged (SHA-256 verified), not uploaded again",
        };
        write!(f, "{}: {} ({note})", self.name, self.url)?;
        for child in &self.children {
            write!(f, "\n  nested stack template {child}")?;
        }
        Ok(())
    }
}

pub async fn run(ctx: &Ctx, name: Option<&str>) -> Result<()> {
    let pushed = match name {
        None => {
            let f = super::checked::checked(ctx, &ctx.env.config.base_ami)?;
            let clients = ctx.clients().await?;
            let folder = &ctx.env.name;
            package(ctx, &clients, "template", folder, &f.merged, &f.nested).await?
        }
        Some(name) => {
            let (merged, nested) = one_fragment(ctx, name)?;
            let clients = ctx.clients().await?;
            let folder = if name == "image" {
                "image"
            } else {
                ctx.env.name.as_str()
            };
            package(ctx, &clients, name, folder, &merged, &nested).await?
        }
    };
    ctx.ui.result(&pushed);
    Ok(())
}

/// Upload a formation as `aws cloudformation package` would: each child template of a local
/// nested stack first (deepest first, content-addressed under `<app>/<folder>/` like the
/// template), then the template with every local TemplateURL rewritten to its child's URL.
/// With --dry-run, only say where each would go.
pub async fn package(
    ctx: &Ctx,
    clients: &Clients,
    name: &str,
    folder: &str,
    merged: &Merged,
    nested: &Nested,
) -> Result<Pushed> {
    package_as(ctx, clients, name, folder, merged, nested, ctx.dry_run).await
}

/// As `package`, but `dry_run` is the caller's: `update --dry-run` still needs the templates
/// in S3 to make its change set (content-addressed, so this changes nothing an env runs).
pub async fn package_as(
    ctx: &Ctx,
    clients: &Clients,
    name: &str,
    folder: &str,
    merged: &Merged,
    nested: &Nested,
    dry_run: bool,
) -> Result<Pushed> {
    let packaged = nested.package(merged, &url_of(ctx, &clients.region, folder));
    let mut children = Vec::new();
    for (path, body, _) in &packaged.children {
        let shown = path.display().to_string();
        children.push(store(ctx, clients, &shown, folder, body, dry_run).await?);
    }
    let mut pushed = store(ctx, clients, name, folder, &packaged.template, dry_run).await?;
    pushed.children = children;
    Ok(pushed)
}

/// Where a template body goes: its URL, content-addressed under `<app>/<folder>/`.
pub fn url_of<'a>(
    ctx: &'a Ctx,
    region: &'a str,
    folder: &'a str,
) -> impl Fn(&Merged) -> String + 'a {
    move |m: &Merged| {
        let key = names::template_key(ctx.env.app(), folder, &m.sha256());
        names::template_url(&ctx.env.config.bucket, region, &key)
    }
}

/// One fragment on its own, tagged as the merge would tag it (`image` as the image stack),
/// with the children of its local nested stacks.
fn one_fragment(ctx: &Ctx, name: &str) -> Result<(Merged, Nested)> {
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
    let naming = ctx.env.naming();
    let tag = |f: &template::Fragment| {
        if name == "image" {
            template::merge::merge_image(f, ctx.env.app())
        } else {
            template::merge(std::slice::from_ref(f), &naming)
        }
    };
    let merged = tag(&fragment)?;
    let nested = Nested::load(&merged, std::slice::from_ref(&fragment), &tag)?;
    Ok((merged, nested))
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

/// Put one template under its hash in `<app>/<folder>/` unless it is already there (verified by
/// its SHA-256), making sure the bucket exists (private, encrypted).
async fn store(
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
        children: Vec::new(),
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
