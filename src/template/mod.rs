//! The template model: load fragments, merge them into one template with the
//! App/Env/Group/Name tags, and check it statically. Plain values only: this
//! module knows nothing of AWS, the screen or the config.

pub mod check;
pub mod error;
pub mod load;
pub mod merge;
mod merged;
pub mod nested;
mod parse;
mod refs;
pub mod sections;
pub mod strict;
pub mod tags;

pub use check::{check, Limits, Problem, Severity};
pub use error::TemplateError;
pub use load::{find_image_fragment, load_dir, load_file, Fragment};
pub use merge::{merge, Merged, Naming};
pub use nested::Nested;
