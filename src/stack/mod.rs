//! Stack lifecycle decisions, independent of the screen: classify a state, decide what each
//! action does from it and carry that out, wait with our own poll loop, prepare change sets,
//! and find the root cause of a failure.

pub mod changeset;
pub mod create;
pub mod drift;
pub mod failure;
pub mod instances;
pub mod machine;
pub mod operator;
pub mod protection;
pub mod settle;
pub mod state;
pub mod wait;

pub use machine::{decide, Intent, Next};
pub use operator::{Operator, Origin};
pub use settle::{settle, Recovery, Settled};
pub use state::{classify, State};
pub use wait::{wait, Mark, Pacing, Waited, Watch};
