//! Tier 2: scripted AWS behaviour the emulator cannot produce (rollbacks with per-resource
//! events, stuck states, throttling, paging, change sets with replacements), through
//! aws-smithy-mocks. Waits run on tokio's paused clock, so each test takes milliseconds.

mod consistency;
mod dns;
mod drift;
mod hosts;
mod machine;
mod mocks;
mod nested;
mod protection;
mod update;
mod wait;
