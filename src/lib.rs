//! manage: commission, deploy, update and decommission whole application environments on AWS.
//! Raw arguments → a checked config for one env → the action.

pub mod action_traits;
pub mod actions;
pub mod ansible;
pub mod aws;
pub mod cli;
pub mod config;
pub mod dns;
pub mod error;
pub mod formation;
pub mod git;
pub mod history;
pub mod hosts;
pub mod image;
pub mod interrupt;
pub mod known_hosts;
pub mod lock;
pub mod names;
pub mod preflight;
pub mod process;
pub mod since;
pub mod ssh;
pub mod stack;
pub mod template;
pub mod ui;

use actions::Ctx;
use clap::{CommandFactory, Parser};
use cli::{Action, Cli, ConfigCommand};
use config::{Config, EnvConfig};
use error::{Error, Result};
use ui::Ui;

/// `manage --version`: the crate version and the git commit it was built from.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("MANAGE_GIT_COMMIT"),
    ")"
);

/// Parse, run, report; returns the process exit code.
pub fn run() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    let g = &cli.global;
    let ui = Ui::new(g.output, g.verbose, g.quiet);
    if let Err(e) = check_env_argument(&cli) {
        return usage_error(e);
    }
    if cli.action.env_use() == cli::EnvUse::None {
        return match top_level(cli.action, &ui) {
            Ok(()) => 0,
            Err(e) => {
                ui.error(&e);
                e.exit_code()
            }
        };
    }
    init_tracing(g.verbose);
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            ui.error(&Error::Local(format!(
                "cannot start the async runtime: {e}"
            )));
            return 1;
        }
    };
    interrupt::set_rerun(interrupt::command_line());
    interrupt::install();
    let result = runtime.block_on(async {
        let result = dispatch(cli, ui.clone()).await;
        // Every exit path of the action releases its locks, errors included.
        for line in interrupt::release_all().await {
            if line.starts_with("could not") {
                ui.warn(line);
            }
        }
        result
    });
    if interrupt::triggered() {
        // Ctrl-C: the handler thread says what goes on and ends the process with 130.
        loop {
            std::thread::park();
        }
    }
    match result {
        Ok(()) => 0,
        Err(e) => {
            ui.error(&e);
            e.exit_code()
        }
    }
}

/// An env action needs <ENV>; a top-level command (init, completions, man) takes none; doctor
/// takes one or none.
fn check_env_argument(cli: &Cli) -> std::result::Result<(), clap::Error> {
    use clap::error::ErrorKind;
    match (&cli.env, cli.action.env_use()) {
        (None, cli::EnvUse::Required) => Err(Cli::command().error(
            ErrorKind::MissingRequiredArgument,
            "the following required arguments were not provided:\n  <ENV>",
        )),
        (Some(env), cli::EnvUse::None) => Err(Cli::command().error(
            ErrorKind::UnknownArgument,
            format!("unexpected argument '{env}': this command takes no <ENV>"),
        )),
        _ => Ok(()),
    }
}

/// The commands that need no env and no AWS: init, completions, man.
fn top_level(action: Action, ui: &Ui) -> Result<()> {
    match action {
        Action::Init(a) => {
            let created = actions::init::create(&a.dir, a.app.as_deref())?;
            ui.result(&created);
            Ok(())
        }
        Action::Completions { shell } => actions::reference::completions(shell, Cli::command()),
        Action::Man => actions::reference::man(Cli::command()),
        _ => Ok(()),
    }
}

async fn dispatch(cli: Cli, ui: Ui) -> Result<()> {
    let g = cli.global;
    if let Action::Doctor = cli.action {
        // Doctor checks the config and the AWS settings itself, one line each.
        let inputs = actions::doctor::Inputs {
            config: g.config,
            env: cli.env,
            params: g.params,
            target: aws::Target {
                region: g.region,
                config_region: None,
                profile: g.profile,
                endpoint_url: g.endpoint_url,
            },
        };
        return actions::doctor::run(inputs, &ui).await;
    }
    check_endpoint_variable()?;
    let config = Config::load(&g.config)?;
    let env_name = cli.env.unwrap_or_default();
    let env = EnvConfig::new(config, &env_name, &g.params)?;
    let target = aws::Target {
        region: g.region,
        config_region: env.config.region.clone(),
        profile: g.profile.or_else(|| env.config.profile.clone()),
        endpoint_url: g.endpoint_url,
    };
    let traits = action_traits::of(&cli.action);
    let ctx = Ctx {
        env,
        ui,
        dry_run: g.dry_run,
        yes: g.yes,
        allow_public_bucket: g.allow_public_bucket,
        skip_preflight: g.skip_preflight,
        target,
        announce: traits.changes_aws,
        announced: Default::default(),
        base_image: Default::default(),
        mitogen: Default::default(),
        action: traits.name,
        // A dry run changes nothing, so it takes no lock.
        locks: if g.dry_run { &[] } else { traits.locks },
    };
    let recorded = !g.dry_run && traits.recorded;
    if recorded {
        history::begin(history::Start {
            action: ctx.action,
            app: ctx.env.app(),
            env: &ctx.env.name,
            bucket: &ctx.env.config.bucket,
            playbooks: &ctx.env.config.playbooks,
            options: history_options(&cli.action),
        })
        .await;
    }
    let result = run_action(cli.action, &ctx).await;
    if recorded {
        if let Some(warning) = history::finish(&result).await {
            ctx.ui.warn(warning);
        }
    }
    result
}

async fn run_action(action: Action, ctx: &Ctx) -> Result<()> {
    match action {
        Action::Validate => actions::validate::run(ctx).await,
        Action::Template => actions::template::run(ctx).await,
        Action::Config {
            command: ConfigCommand::Push { name },
        } => actions::push::run(ctx, name.as_deref()).await,
        Action::Commission(a) => {
            actions::commission::run(ctx, a.no_deploy, a.no_bake, &a.stack.into()).await
        }
        Action::Bake(a) => actions::bake::run(ctx, a.rebake).await,
        Action::Clean(a) => actions::clean::run(ctx, a.keep_latest).await,
        Action::Deploy(a) => {
            let pass = actions::deploy::Passthrough {
                extra_vars: a.extra_vars,
                check: a.check,
                diff: a.diff,
                tags: a.tags,
            };
            let selector = a.select.selector(a.host.as_deref());
            actions::deploy::run(ctx, &selector, a.parallel.into(), &pass).await
        }
        Action::Inventory(a) => actions::inventory::run(ctx, a.host.as_deref(), a.script).await,
        Action::Exec(a) => {
            let selector = a.select.selector(a.host.as_deref());
            actions::exec::run(ctx, &selector, &a.command).await
        }
        Action::Ssh(a) => {
            let flags = a.select.selector(None);
            actions::ssh::run(ctx, a.target.as_deref(), a.number, &flags, a.print).await
        }
        Action::Status(a) => actions::status::run(ctx, &a.select.selector(a.host.as_deref())).await,
        Action::Events(a) => actions::events::run(ctx, a.limit, a.since).await,
        Action::Drift => actions::drift::run(ctx).await,
        Action::History(a) => actions::history::run(ctx, a.limit.into()).await,
        Action::Decommission(a) => actions::decommission::run(ctx, &a.into()).await,
        Action::Update(a) => actions::update::run(ctx, &a.into()).await,
        Action::Dns => actions::dns::run(ctx).await,
        Action::Start(a) => actions::hostops::start::run(ctx, &a.choice()).await,
        Action::Stop(a) => actions::hostops::stop::run(ctx, &a.choice()).await,
        Action::Reboot(a) => actions::hostops::reboot::run(ctx, &a.choice()).await,
        Action::Terminate(a) => {
            actions::hostops::terminate::run(ctx, &a.hosts.choice(), a.force).await
        }
        Action::Revert(a) => {
            actions::hostops::revert::run(ctx, &a.hosts.choice(), a.force, a.no_deploy).await
        }
        top @ (Action::Init(_) | Action::Completions { .. } | Action::Man | Action::Doctor) => {
            top_level(top, &ctx.ui)
        }
        Action::Unlock(a) => actions::unlock::run(ctx, a.app).await,
    }
}

// Raw arguments become the plain values the actions take.
impl From<cli::StackArgs> for actions::settle::StackFlags {
    fn from(a: cli::StackArgs) -> Self {
        Self {
            no_wait: a.no_wait,
            skip: a.skip,
        }
    }
}

impl From<cli::UpdateArgs> for actions::update::UpdateFlags {
    fn from(a: cli::UpdateArgs) -> Self {
        Self {
            no_deploy: a.no_deploy,
            allow_replace: a.allow_replace,
            no_bake: a.no_bake,
            image: a.image,
            stack: a.stack.into(),
        }
    }
}

impl From<cli::DecommissionArgs> for actions::decommission::DecommissionFlags {
    fn from(a: cli::DecommissionArgs) -> Self {
        Self {
            force: a.force,
            with_image: a.with_image,
            retain: a.retain,
            no_wait: a.no_wait,
        }
    }
}

/// The SDK reads AWS_ENDPOINT_URL itself; a malformed one is bad input, not "cannot reach AWS".
fn check_endpoint_variable() -> Result<()> {
    match std::env::var("AWS_ENDPOINT_URL") {
        Ok(url) if !url.is_empty() => cli::parse_endpoint(&url)
            .map(|_| ())
            .map_err(|e| Error::input(format!("AWS_ENDPOINT_URL \"{url}\": {e}"))),
        _ => Ok(()),
    }
}

/// The flags that change what a recorded action does, for its history record. Never a value
/// that may be secret: `-e NAME=VALUE` is recorded as `-e NAME`.
fn history_options(action: &Action) -> Vec<String> {
    let flag = |on: bool, name: &str| on.then(|| name.to_owned());
    match action {
        Action::Deploy(a) => [flag(a.check, "--check"), flag(a.diff, "--diff")]
            .into_iter()
            .flatten()
            .chain(a.tags.iter().map(|t| format!("--tags {t}")))
            .chain(
                a.extra_vars
                    .iter()
                    .map(|kv| format!("-e {}", kv.split_once('=').map_or(kv.as_str(), |(k, _)| k))),
            )
            .collect(),
        Action::Commission(a) => [
            flag(a.no_deploy, "--no-deploy"),
            flag(a.no_bake, "--no-bake"),
        ]
        .into_iter()
        .flatten()
        .collect(),
        Action::Update(a) => [
            flag(a.no_deploy, "--no-deploy"),
            flag(a.no_bake, "--no-bake"),
            flag(a.allow_replace, "--allow-replace"),
            a.image.as_ref().map(|i| format!("--image {i}")),
        ]
        .into_iter()
        .flatten()
        .collect(),
        Action::Decommission(a) => [flag(a.with_image, "--with-image"), flag(a.force, "--force")]
            .into_iter()
            .flatten()
            .collect(),
        Action::Terminate(a) => flag(a.force, "--force").into_iter().collect(),
        Action::Revert(a) => [flag(a.force, "--force"), flag(a.no_deploy, "--no-deploy")]
            .into_iter()
            .flatten()
            .collect(),
        _ => vec![],
    }
}

/// clap's own message in full (the argument's name, a similar command, the possible values,
/// the usage): exit 2, or 0 for --help and --version.
fn usage_error(e: clap::Error) -> i32 {
    let _ = e.print();
    e.exit_code()
}

fn init_tracing(verbose: u8) {
    // The SDK's own warnings (retries, IMDS probes) stay off the screen unless -v.
    let level = match verbose {
        0 => "off",
        1 => "warn",
        2 => "info,manage=debug",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("MANAGE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
