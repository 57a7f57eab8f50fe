//! manage: commission, deploy, update and decommission whole application environments on AWS.
//! Raw arguments → a checked config for one env → the action.

pub mod actions;
pub mod ansible;
pub mod aws;
pub mod cli;
pub mod config;
pub mod error;
pub mod formation;
pub mod hosts;
pub mod image;
pub mod known_hosts;
pub mod names;
pub mod process;
pub mod since;
pub mod ssh;
pub mod stack;
pub mod template;
pub mod ui;

use actions::Ctx;
use clap::Parser;
use cli::{Action, Cli, ConfigCommand};
use config::{Config, EnvConfig};
use error::{Error, Result};
use ui::Ui;

/// Parse, run, report; returns the process exit code.
pub fn run() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    let g = &cli.global;
    let ui = Ui::new(g.output, g.verbose, g.quiet);
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
    match runtime.block_on(dispatch(cli, ui.clone())) {
        Ok(()) => 0,
        Err(e) => {
            ui.error(&e);
            e.exit_code()
        }
    }
}

async fn dispatch(cli: Cli, ui: Ui) -> Result<()> {
    let g = cli.global;
    let config = Config::load(&g.config)?;
    let env = EnvConfig::new(config, &cli.env, &g.params)?;
    let target = aws::Target {
        region: g.region.or_else(|| env.config.region.clone()),
        profile: g.profile.or_else(|| env.config.profile.clone()),
        endpoint_url: g.endpoint_url,
    };
    let ctx = Ctx {
        env,
        ui,
        dry_run: g.dry_run,
        yes: g.yes,
        target,
    };
    match cli.action {
        Action::Validate => actions::validate::run(&ctx).await,
        Action::Template => actions::template::run(&ctx).await,
        Action::Config {
            command: ConfigCommand::Push { name },
        } => actions::push::run(&ctx, name.as_deref()).await,
        Action::Commission(a) => {
            actions::commission::run(&ctx, a.no_deploy, a.no_bake, &a.stack.into()).await
        }
        Action::Bake(a) => actions::bake::run(&ctx, a.rebake).await,
        Action::Clean(a) => actions::clean::run(&ctx, a.keep_latest).await,
        Action::Deploy(a) => actions::deploy::run(&ctx, &a.groups, a.parallel.into()).await,
        Action::Inventory(a) => actions::inventory::run(&ctx, a.host.as_deref(), a.script).await,
        Action::Exec(a) => actions::exec::run(&ctx, &a.groups, a.index, &a.command).await,
        Action::Ssh(a) => actions::ssh::run(&ctx, a.group.as_deref(), a.index, a.print).await,
        Action::Status => actions::status::run(&ctx).await,
        Action::Events(a) => actions::events::run(&ctx, a.limit, a.since).await,
        Action::Decommission(a) => actions::decommission::run(&ctx, &a.into()).await,
        Action::Update(a) => actions::update::run(&ctx, &a.into()).await,
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

/// clap's own message, cut to its first line, with a pointer to --help: exit 2.
fn usage_error(e: clap::Error) -> i32 {
    use clap::error::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = e.print();
        return if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
            2
        } else {
            0
        };
    }
    let text = e.render().to_string();
    let first = text
        .lines()
        .next()
        .unwrap_or("invalid arguments")
        .trim_start_matches("error: ");
    eprintln!("error: {first} (see manage --help)");
    2
}

fn init_tracing(verbose: u8) {
    let level = match verbose {
        0 | 1 => "warn",
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
